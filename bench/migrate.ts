/**
 * Live migration between two daemons on this machine, as users run it: `xenemu migrate
 * -s '' DOM 'env XENEMU_HOME=OTHER xenemu migrate-receive'` (the compiled CLI and
 * daemons), back and forth. For an idle guest and for one rewriting memory the whole
 * time (`memwrite --loop SIZE` at its console, started again on each host since the
 * program does not travel): total time, downtime (suspend to "running on the target",
 * as the sender measures it, and its parts), rounds, pages and bytes sent. No
 * --debug: its verify pass would add a full copy to the downtime.
 *
 *   npm run build && node --import tsx bench/migrate.ts [--runs 6] [--memory 512] [--write 64M] [--idle-only]
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConsoleRpcClient } from '../src/client/console.js';
import { RpcClient } from '../src/client/rpc-client.js';
import { machine, median, table } from './lib/stats.js';
import { startXenemu, stopXenemu } from './lib/xenemu-host.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '6' }, memory: { type: 'string', default: '512' }, write: { type: 'string', default: '64M' }, 'idle-only': { type: 'boolean', default: false } } });
const runs = Number(values.runs);
const RUN_JS = new URL('../bin/run.js', import.meta.url).pathname;

const prepare = (home: string) => writeFileSync(`${home}/host.yaml`, 'pcpus: 4\nmemory: 16384\ndom0_memory: 1024\nbridges: [xenbr0]\n');
const hosts = [await startXenemu(prepare), await startXenemu(prepare)];

interface Report {
  rounds: number;
  pages: number;
  mib: number;
  totalMs: number;
  downtimeMs: number;
  wallMs: number;
  /** The downtime's parts: suspend, last round + final records, target restore, go to started. */
  phases: number[];
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUN_JS, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code: code ?? 1, stderr }));
  });
}

async function migrate(name: string, from: number): Promise<Report> {
  const [src, dst] = [hosts[from]!, hosts[1 - from]!];
  const t0 = performance.now();
  const r = await run(['migrate', '-s', '', name, `env XENEMU_HOME=${dst.paths.home} ${process.execPath} ${RUN_JS} migrate-receive`], { ...process.env, XENEMU_HOME: src.paths.home });
  const wallMs = performance.now() - t0;
  const m = /migration sender: (\d+) rounds, (\d+) pages sent, ([\d.]+) MiB in (\d+) ms, downtime ([\d.]+) ms \(suspend ([\d.]+), last round ([\d.]+), target ([\d.]+), start ([\d.]+)\)/.exec(r.stderr);
  if (r.code !== 0 || m === null) throw new Error(`migrate ${name} failed (${r.code}):\n${r.stderr}`);
  return { rounds: Number(m[1]), pages: Number(m[2]), mib: Number(m[3]), totalMs: Number(m[4]), downtimeMs: Number(m[5]), wallMs, phases: m.slice(6).map(Number) };
}

async function create(name: string): Promise<void> {
  const dir = hosts[0]!.paths.home;
  const disk = join(dir, `${name}.img`);
  writeFileSync(disk, Buffer.alloc(16 << 20));
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\ntype: pvh\nmemory: ${values.memory}\nvcpus: 2\ndisk:\n  - "vdev=xvda, access=rw, target=${disk}"\nvif:\n  - "bridge=xenbr0"\n`);
  const r = await run(['create', file], { ...process.env, XENEMU_HOME: dir });
  if (r.code !== 0) throw new Error(r.stderr);
  await new Promise((res) => setTimeout(res, 500));
}

/** Type a command at the guest's console (the program runs on in the guest after we hang up). */
async function consoleCommand(host: number, name: string, line: string): Promise<void> {
  const rpc = await RpcClient.connect(hosts[host]!.paths.control);
  try {
    const domid = await rpc.call<number>('domain.domid', { name });
    const con = new ConsoleRpcClient(rpc);
    await con.attach(domid);
    await con.input(domid, Buffer.from(`${line}\r`));
  } finally {
    rpc.close();
  }
}

async function series(name: string, busy: boolean): Promise<Report[]> {
  await create(name);
  const out: Report[] = [];
  for (let i = 0; i < runs; i++) {
    const from = i % 2;
    if (busy) {
      await consoleCommand(from, name, `memwrite --loop ${values.write}`);
      await new Promise((res) => setTimeout(res, 300));
    }
    out.push(await migrate(name, from));
    await new Promise((res) => setTimeout(res, 300));
  }
  return out;
}

const f = (x: number) => x.toFixed(1);
function row(what: string, rs: Report[]): (string | number)[] {
  const pick = (k: Exclude<keyof Report, 'phases'>) => rs.map((r) => r[k]);
  return [
    what,
    `${f(median(pick('downtimeMs')))} (${f(Math.min(...pick('downtimeMs')))}-${f(Math.max(...pick('downtimeMs')))})`,
    `${f(median(pick('totalMs')))} (${f(Math.min(...pick('totalMs')))}-${f(Math.max(...pick('totalMs')))})`,
    [0, 1, 2, 3].map((i) => f(median(rs.map((r) => r.phases[i]!)))).join(' / '),
    f(median(pick('wallMs'))),
    median(pick('rounds')),
    median(pick('pages')),
    f(median(pick('mib'))),
  ];
}

try {
  const idle = await series('idle', false);
  const busy = values['idle-only'] ? [] : await series('busy', true);
  console.log(machine());
  console.log(`${runs} migrations each, alternating between the two hosts; guests of ${values.memory} MiB with a disk and a NIC; medians (min-max)\n`);
  console.log(
    table(
      ['guest', 'downtime ms', 'total ms (sender)', 'suspend / last round / target restore / start', 'wall ms (CLI)', 'rounds', 'pages', 'MiB sent'],
      [row('idle', idle), ...(busy.length > 0 ? [row(`memwrite --loop ${values.write}`, busy)] : [])],
    ),
  );
} finally {
  for (const h of hosts) await stopXenemu(h);
}
