/**
 * A domU's XenStore request through `xenemu exec` (its kernel's xenbus device, then its
 * ring to xenstored) against the same request on dom0's socket, side by side; then
 * what a domU flooding its ring does to the others' latency.
 *
 *   rtt     one request in flight (bench/tools/xs-rtt.c, a C client as libxenstore
 *           waits for each reply), READ of the domain's `name`, WRITE of `data/x`,
 *           DIRECTORY of `device`: on dom0's socket with absolute paths, on domain
 *           a's device socket with relative ones. Rounds alternate; medians of the
 *           rounds' medians, in µs.
 *   flood   READ latency on dom0's socket and on domain b's device while domain a
 *           runs `--flood-clients` clients reading as fast as they can, one request
 *           in flight each (xs-rtt again), against the same with a idle, and with
 *           the same flood coming from dom0 socket clients instead.
 *
 *   npm run build && node --import tsx bench/exec-xs.ts [--rounds 7] [--count 5000] [--flood-clients 2]
 */
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { statePaths } from '../src/state/state-dir.js';
import { cTool } from './lib/c-tools.js';
import { machine, median, table } from './lib/stats.js';
import { startXenemu, stopXenemu } from './lib/xenemu-host.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    count: { type: 'string', default: '5000' },
    'flood-clients': { type: 'string', default: '2' },
  },
});
const [rounds, count, floodClients] = [values.rounds!, values.count!, values['flood-clients']!].map(Number) as [number, number, number];
const RUN_JS = new URL('../bin/run.js', import.meta.url).pathname;

const rtt = cTool('xs-rtt');
const host = await startXenemu();
const env: NodeJS.ProcessEnv = { ...process.env, XENEMU_HOME: host.paths.home };
delete env.XENSTORED_PATH;
const xenemu = (...args: string[]): string => execFileSync(process.execPath, [RUN_JS, ...args], { env, encoding: 'utf8' });

/** Median round trip of `count` requests, in µs. */
function measure(socket: string, type: number, payload: string, n = count): number {
  const out = execFileSync(rtt, [socket, String(type), payload, String(n)], { encoding: 'utf8' });
  return Number(/median (\d+)/.exec(out)![1]) / 1000;
}

try {
  const domids: Record<string, number> = {};
  for (const name of ['a', 'b']) {
    const file = join(host.paths.home, `${name}.yaml`);
    writeFileSync(file, `name: ${name}\ntype: pvh\nmemory: 64\nvcpus: 1\n`);
    xenemu('create', file);
    domids[name] = Number(xenemu('domid', name).trim());
  }
  // The device sockets, opened through the command that users run.
  const deviceSocket = (name: string): string => xenemu('exec', name, '--', 'sh', '-c', 'printf %s "$XENSTORED_PATH"');
  const [sockA, sockB] = [deviceSocket('a'), deviceSocket('b')];
  const dom0 = statePaths(host.paths.home).socket;
  xenemu('xenstore', 'write', `/local/domain/${domids.a}/data/x`, '0');

  const cases: Array<[string, number, string, string]> = [
    ['READ name', 2, `/local/domain/${domids.a}/name\\0`, 'name\\0'],
    ['WRITE data/x', 11, `/local/domain/${domids.a}/data/x\\0v`, 'data/x\\0v'],
    ['DIRECTORY device', 1, `/local/domain/${domids.a}/device\\0`, 'device\\0'],
  ];
  const results = cases.map(() => ({ dom0: [] as number[], domU: [] as number[] }));
  for (let r = 0; r < rounds; r++) {
    for (const [i, [, type, abs, rel]] of cases.entries()) {
      results[i]!.dom0.push(measure(dom0, type, abs));
      results[i]!.domU.push(measure(sockA, type, rel));
    }
  }
  console.log(machine());
  console.log(`one request in flight, ${rounds} alternating rounds x ${count} requests, medians in µs`);
  console.log(
    table(
      ['request', 'dom0 socket', 'domU via exec', 'ratio'],
      cases.map(([label], i) => {
        const [d0, du] = [median(results[i]!.dom0), median(results[i]!.domU)];
        return [label, d0.toFixed(1), du.toFixed(1), (du / d0).toFixed(2)];
      }),
    ),
  );

  // The others' latency: a idle, a flooding its ring, and (for reference) as many
  // dom0 socket clients flooding instead: on a small machine the flooding clients
  // take CPU from everyone, which the last column shows apart from the ring path.
  const others = (): [number, number] => [measure(dom0, 2, `/local/domain/${domids.b}/name\\0`, 2000), measure(sockB, 2, 'name\\0', 2000)];
  const during = async (socket: string | null, payload: string): Promise<[number, number]> => {
    if (socket === null) return others();
    const flood = Array.from({ length: floodClients }, () => spawn(rtt, [socket, '2', payload, '10000000'], { stdio: 'ignore' }));
    // Let the flood clients connect and get going before measuring.
    await new Promise((res) => setTimeout(res, 300));
    const got = others();
    const closed = flood.map((c) => new Promise((res) => c.on('close', res)));
    for (const c of flood) c.kill('SIGKILL');
    await Promise.all(closed);
    return got;
  };
  const idle: Array<[number, number]> = [];
  const viaRing: Array<[number, number]> = [];
  const viaSocket: Array<[number, number]> = [];
  for (let r = 0; r < rounds; r++) {
    idle.push(await during(null, ''));
    viaRing.push(await during(sockA, 'name\\0'));
    viaSocket.push(await during(dom0, `/local/domain/${domids.a}/name\\0`));
  }
  const col = (xs: Array<[number, number]>, k: 0 | 1): number => median(xs.map((x) => x[k]));
  console.log(`\nREAD latency of the others, ${rounds} rounds x 2000 requests, medians in µs: a idle, a flooding through exec, the same flood from dom0 socket clients (${floodClients} clients each)`);
  console.log(
    table(
      ['who', 'idle', 'a floods', 'ratio', 'dom0 floods', 'ratio'],
      (['dom0 (socket)', 'domain b (via exec)'] as const).map((who, k) => {
        const [i, r, s2] = [col(idle, k as 0 | 1), col(viaRing, k as 0 | 1), col(viaSocket, k as 0 | 1)];
        return [who, i.toFixed(1), r.toFixed(1), (r / i).toFixed(2), s2.toFixed(1), (s2 / i).toFixed(2)];
      }),
    ),
  );
} finally {
  await stopXenemu(host);
}
