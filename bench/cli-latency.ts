/**
 * Wall and CPU time of `xenemu <verb>` per xl verb and xenstore command (the compiled
 * CLI, bin/run.js, daemon running), each run right after a bare `node -e 0`, so that
 * the machine's noise hits both alike: a ratio is the median over the runs of
 * (verb / node -e 0 just before it). Target (issue 12): every plain xl verb and
 * xenstore command within 1.6x `node -e 0`. A few reference rows follow: the same
 * command through oclif (XENEMU_FAST_PATH=0), the shims, the C xenstore-read.
 *
 *   npm run build && node --import tsx bench/cli-latency.ts [--runs 20] [--only list,info]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DomainClient } from '../src/client/domains.js';
import { connectXsClient } from '../src/client/xs-socket.js';
import { writeHostConfig } from '../src/state/host-config.js';
import { statePaths } from '../src/state/state-dir.js';
import { loadDomainConfig } from '../src/toolstack/config/index.js';
import { machine, median, table } from './lib/stats.js';
import { startXenemu, stopXenemu } from './lib/xenemu-host.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' }, only: { type: 'string' } } });
const runs = Number(values.runs);
const only = values.only?.split(',');
const path = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const RUN_JS = path('../bin/run.js');
const WEB = path('../configs/web.yaml');
/** A config with one error (memory is not a size): create's failure path. */
const scratch = mkdtempSync(join(tmpdir(), 'xenemu-bench-'));
const BAD = join(scratch, 'bad.yaml');
writeFileSync(BAD, 'name: bad\nmemory: lots\nvcpus: 1\nkernel: /boot/vmlinuz\n');

/** One timed command: `args(r)` for run r (some alternate: pause/unpause, rename there and back). */
interface Case {
  name: string;
  command?: string;
  args: (r: number) => string[];
  env?: NodeJS.ProcessEnv;
  /** Untimed, before each run (a domain for shutdown to take down...). */
  before?: (r: number) => Promise<void>;
  /** Reference rows are shown, not held to the target. */
  reference?: boolean;
  /** The exit status the command gives (a config error's 1); 0 unless said. */
  status?: number;
}

const xenemu = (name: string, args: (r: number) => string[] = () => name.split(' ')): Case => ({ name: `xenemu ${name}`, args: (r) => [RUN_JS, ...args(r)] });

const host = await startXenemu((home) => writeHostConfig(statePaths(home).hostConfig, { pcpus: 4, memory: 16384, dom0_memory: 1024, xen_init_dom0: true }));
try {
  const client = await DomainClient.connect(host.paths, { start: false });
  const xs = await connectXsClient(host.paths.socket);
  await xs.write('/bench/cli', 'value');
  const boot = async (name: string): Promise<void> => {
    await client.create(loadDomainConfig(WEB, [`name="${name}"`, 'memory=256', 'maxmem=1024']).config, { paused: false });
  };
  await boot('bench');
  await boot('r-0');
  const env: NodeJS.ProcessEnv = { ...process.env, XENEMU_HOME: host.paths.home };
  delete env.XENSTORED_PATH;

  const cases: Case[] = [
    xenemu('list'),
    xenemu('list -v bench'),
    xenemu('info'),
    xenemu('domid bench'),
    xenemu('domname 1'),
    xenemu('uptime'),
    xenemu('vcpu-list bench'),
    xenemu('vcpu-set bench 1'),
    xenemu('vcpu-pin bench all 0-1'),
    xenemu('mem-set bench 200m'),
    xenemu('mem-max bench 1g'),
    xenemu('pause bench'),
    xenemu('unpause bench'),
    xenemu('rename r-X r-Y', (r) => ['rename', `r-${r}`, `r-${r + 1}`]),
    xenemu('dmesg'),
    xenemu('dmesg r-Y', (r) => ['dmesg', `r-${r + 1}`]),
    // -n prints libxl's JSON of the config, which the CLI reads itself (YAML, zod, libxl's IDL).
    { ...xenemu('create -n configs/web.yaml', () => ['create', '-n', WEB]), reference: true },
    xenemu('create -p configs/web.yaml name=c-X', (r) => ['create', '-q', '-p', WEB, `name="c-${r}"`, 'memory=64']),
    {
      ...xenemu('create configs/web.yaml name=b-X', (r) => ['create', WEB, `name="b-${r}"`, 'memory=64']),
      // Untimed: the previous run's guest goes, so that runs do not pile up booted guests.
      before: async (r: number) => {
        if (r > 0) await client.destroy(`b-${r - 1}`);
      },
    },
    { ...xenemu('create bad.yaml (config error, exit 1)', () => ['create', BAD]), status: 1 },
    xenemu('destroy c-X', (r) => ['destroy', `c-${r}`]),
    { ...xenemu('shutdown s-X', (r) => ['shutdown', `s-${r}`]), before: (r: number) => boot(`s-${r}`) },
    xenemu('reboot r-Y', (r) => ['reboot', `r-${r + 1}`]),
    xenemu('xenstore read /bench/cli'),
    xenemu('xenstore write /bench/w v'),
    xenemu('xenstore ls /bench'),
    xenemu('xenstore list /bench'),
    xenemu('xenstore exists /bench/cli'),
    xenemu('xenstore chmod /bench/w n0'),
    xenemu('xenstore mkdir /bench/d'),
    xenemu('xenstore rm /bench/d'),
    xenemu('xenstore watch -n 1 /bench/cli'),
    xenemu('xenstore control quota'),
    { ...xenemu('list (through oclif)', () => ['list']), env: { ...env, XENEMU_FAST_PATH: '0' }, reference: true },
    { ...xenemu('xenstore read (through oclif)', () => ['xenstore', 'read', '/bench/cli']), env: { ...env, XENEMU_FAST_PATH: '0' }, reference: true },
    { name: 'xl shim: xl list (bin/xl.js)', args: () => [path('../bin/xl.js'), 'list'], reference: true },
    { name: 'xenstore-read shim (bin/xenstore.js)', args: () => [path('../bin/xenstore.js'), 'read', '/bench/cli'], env: { ...env, XENSTORED_PATH: host.paths.socket }, reference: true },
    { name: 'C xenstore-read (xenstore-utils)', command: 'xenstore-read', args: () => ['/bench/cli'], env: { ...env, XENSTORED_PATH: host.paths.socket }, reference: true },
  ].filter((c) => only === undefined || only.some((o) => c.name.includes(o)));

  // bash's `time` gives the command's wall time and its CPU time (user + sys, its own
  // process only): CPU time is what the CLI itself costs, and moves less with the load
  // of a shared machine than wall time does.
  const TIMED = 'TIMEFORMAT="%3R %3U %3S"; { time "$@" >/dev/null 2>&4; } 4>&2 2>&1';
  const spawnTimed = (command: string, args: string[], e: NodeJS.ProcessEnv): { wall: number; cpu: number; status: number | null; stderr: string } => {
    const out = spawnSync('bash', ['-c', TIMED, 'timed', command, ...args], { env: e, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const [wall, user, sys] = out.stdout.trim().split(' ').map((v) => Number(v) * 1000);
    return { wall: wall!, cpu: user! + sys!, status: out.status, stderr: out.stderr };
  };
  const wall = cases.map((): number[] => []);
  const cpu = cases.map((): number[] => []);
  const baseWall = cases.map((): number[] => []);
  const baseCpu = cases.map((): number[] => []);
  for (let r = 0; r < runs; r++) {
    for (const [i, c] of cases.entries()) {
      await c.before?.(r);
      const base = spawnTimed(process.execPath, ['-e', '0'], env);
      baseWall[i]!.push(base.wall);
      baseCpu[i]!.push(base.cpu);
      const out = spawnTimed(c.command ?? process.execPath, c.args(r), c.env ?? env);
      if (out.status !== (c.status ?? 0)) throw new Error(`${c.name} (run ${r}): exit ${out.status}: ${out.stderr}`);
      wall[i]!.push(out.wall);
      cpu[i]!.push(out.cpu);
    }
  }
  xs.close();
  client.close();

  /** The median over the runs of (command / node -e 0 just before it). */
  const ratio = (t: number[][], b: number[][], i: number): number => median(t[i]!.map((v, r) => v / b[i]![r]!));
  console.log(`CLI time against node -e 0 run just before, ${runs} runs each, daemon running; medians`);
  console.log(`machine: ${machine()}`);
  const rows = cases.map((c, i) => [
    c.name,
    median(wall[i]!).toFixed(0),
    median(baseWall[i]!).toFixed(0),
    ratio(wall, baseWall, i).toFixed(2),
    median(cpu[i]!).toFixed(0),
    median(baseCpu[i]!).toFixed(0),
    ratio(cpu, baseCpu, i).toFixed(2),
  ]);
  console.log(table(['command', 'wall ms', 'node ms', 'wall ratio', 'CPU ms', 'node CPU ms', 'CPU ratio'], rows));
  const held = cases.map((c, i) => ({ c, wall: ratio(wall, baseWall, i), cpu: ratio(cpu, baseCpu, i) })).filter(({ c }) => !c.reference);
  const worst = (key: 'wall' | 'cpu') => held.reduce((a, b) => (b[key] > a[key] ? b : a));
  console.log(`worst wall ratio: ${worst('wall').wall.toFixed(2)} (${worst('wall').c.name}); worst CPU ratio: ${worst('cpu').cpu.toFixed(2)} (${worst('cpu').c.name}); target <= 1.60`);
} finally {
  await stopXenemu(host);
  rmSync(scratch, { recursive: true, force: true });
}
