/**
 * Domains at scale: create 1,000 small guests on one emulated host (each built, given
 * its XenStore layout, introduced to xenstored, its kernel booted), measure the time
 * per create, the daemon's memory per idle guest, `list` with 1,000 guests, and the
 * time per destroy. Persistence is on, the compiled daemon runs as users run it.
 *
 *   npm run build && node --import tsx bench/domains.ts [--count 1000] [--memory 512]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RpcClient } from '../src/client/rpc-client.js';
import { parseDomainConfigText } from '../src/toolstack/config/index.js';
import { machine, median, percentile, table } from './lib/stats.js';
import { startXenemu, stopXenemu } from './lib/xenemu-host.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '1000' }, memory: { type: 'string', default: '512' } } });
const count = Number(values.count);
const memoryMiB = Number(values.memory);

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

const host = await startXenemu((home) => {
  // A machine big enough for all of them: memory is only accounted, never allocated.
  writeFileSync(`${home}/host.yaml`, `pcpus: 16\nmemory: ${(count + 8) * memoryMiB}\ndom0_memory: 2048\n`);
});
try {
  const rpc = await RpcClient.connect(host.paths.control);
  const pid = host.pid();
  await new Promise((r) => setTimeout(r, 200));
  const rssBefore = rssMiB(pid);
  const creates: number[] = [];
  for (let i = 0; i < count; i++) {
    const { config } = parseDomainConfigText(`name: guest${i}\ntype: pv\nmemory: ${memoryMiB}\nvcpus: 1\n`, 'yaml', 'bench');
    const t0 = process.hrtime.bigint();
    await rpc.call('domain.create', { config, paused: false });
    creates.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  // Let the journal and the SQLite writer settle before reading memory.
  await new Promise((r) => setTimeout(r, 2000));
  const rssAfter = rssMiB(pid);

  const lists: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t0 = process.hrtime.bigint();
    await rpc.call('domain.list', {});
    lists.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const cliRuns: number[] = [];
  const runJs = fileURLToPath(new URL('../bin/run.js', import.meta.url));
  for (let i = 0; i < 10; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [runJs, 'list'], { env: { ...process.env, XENEMU_HOME: host.paths.home }, encoding: 'utf8' });
    cliRuns.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0) throw new Error(`xenemu list failed: ${r.stderr}`);
  }

  const destroys: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    await rpc.call('domain.destroy', { ref: `guest${i}` });
    destroys.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  rpc.close();

  console.log(`domains: ${count} PV guests of ${memoryMiB} MiB and 1 vCPU each, created one after another over the control socket`);
  console.log(`machine: ${machine()}`);
  console.log(
    table(
      ['measure', 'median', 'p99', 'max'],
      [
        ['create (ms, build + layout + introduce + boot)', median(creates).toFixed(2), percentile(creates, 99).toFixed(2), Math.max(...creates).toFixed(2)],
        ['destroy (ms)', median(destroys).toFixed(2), percentile(destroys, 99).toFixed(2), Math.max(...destroys).toFixed(2)],
        [`domain.list RPC with ${count + 1} domains (ms)`, median(lists).toFixed(2), percentile(lists, 99).toFixed(2), Math.max(...lists).toFixed(2)],
        [`xenemu list, whole CLI (ms)`, median(cliRuns).toFixed(1), percentile(cliRuns, 99).toFixed(1), Math.max(...cliRuns).toFixed(1)],
      ],
    ),
  );
  console.log(`daemon RSS: ${rssBefore.toFixed(0)} MiB idle host, ${rssAfter.toFixed(0)} MiB with ${count} guests: ${(((rssAfter - rssBefore) * 1024) / count).toFixed(0)} KiB per idle ${memoryMiB} MiB guest`);
} finally {
  await stopXenemu(host);
}
