/**
 * Wall time of one `xenemu xenstore read KEY` (the compiled CLI, daemon running), the
 * way a shell script pays it per key, beside the C xenstore-read on the same socket and
 * a bare `node -e 0` for scale. Median of N runs each, interleaved.
 *
 *   npm run build && node --import tsx bench/cli-latency.ts [--runs 20]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connectXsClient } from '../src/client/xs-socket.js';
import { machine, median, table } from './lib/stats.js';
import { startXenemu, stopXenemu } from './lib/xenemu-host.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' } } });
const runs = Number(values.runs);
const runJs = fileURLToPath(new URL('../bin/run.js', import.meta.url));
const shim = fileURLToPath(new URL('../bin/xenstore.js', import.meta.url));

const host = await startXenemu();
try {
  const xs = await connectXsClient(host.paths.socket);
  await xs.write('/bench/cli', 'value');
  xs.close();
  const env = { ...process.env, XENEMU_HOME: host.paths.home };
  const cases: Array<[string, string, string[], NodeJS.ProcessEnv]> = [
    ['xenemu xenstore read KEY', process.execPath, [runJs, 'xenstore', 'read', '/bench/cli'], env],
    ['xenemu xenstore read KEY (through oclif)', process.execPath, [runJs, 'xenstore', 'read', '/bench/cli'], { ...env, XENEMU_FAST_PATH: '0' }],
    ['xenstore-read shim (bin/xenstore.js)', process.execPath, [shim, 'read', '/bench/cli'], { ...env, XENSTORED_PATH: host.paths.socket }],
    ['C xenstore-read (xenstore-utils)', 'xenstore-read', ['/bench/cli'], { ...env, XENSTORED_PATH: host.paths.socket }],
    ['node -e 0 (Node start-up alone)', process.execPath, ['-e', '0'], env],
  ];
  const times = cases.map((): number[] => []);
  for (let r = 0; r < runs; r++) {
    cases.forEach(([, cmd, args, e], i) => {
      const t0 = process.hrtime.bigint();
      const out = spawnSync(cmd, args, { env: e, encoding: 'utf8' });
      times[i]!.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (out.status !== 0 || (args.includes('/bench/cli') && out.stdout !== 'value\n')) throw new Error(`${cmd} ${args.join(' ')}: ${out.stderr}`);
    });
  }
  console.log(`CLI wall time, median of ${runs} interleaved runs, daemon already running`);
  console.log(`machine: ${machine()}`);
  console.log(table(['command', 'median ms', 'min ms'], cases.map(([name], i) => [name, median(times[i]!).toFixed(1), Math.min(...times[i]!).toFixed(1)])));
} finally {
  await stopXenemu(host);
}
