/**
 * `xenemu top` at scale: what the stats stream costs the daemon, and what a frame
 * costs the dashboard. A host of 100 domains, one of them with 64 vCPUs and busy
 * event sources, selected (so every frame carries its 64-vCPU grid).
 *
 *  - daemon CPU, from /proc/<pid>/stat (utime + stime), over windows without a
 *    subscriber and with one at a 1 s delay, alternated to cancel drift; the
 *    difference is what the dashboard adds;
 *  - frame size on the wire, and the time the daemon takes to sample one;
 *  - render time per frame: frames recorded from the live stream pushed through the
 *    dashboard (Ink and React, ink-testing-library's terminal), from the push to
 *    the frame written out, at 80x24 and 200x60, heat map and sparklines.
 *
 *   node --import tsx bench/top.ts [--domains 100] [--vcpus 64] [--window 20] [--rounds 3] [--frames 300] [--compiled]
 *
 * The daemon runs from the sources under tsx, or with --compiled from dist/ (npm run
 * build first); the output says which.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { RpcClient } from '../src/client/rpc-client.js';
import { StatsSampler, machineSources } from '../src/host/stats-service.js';
import type { StatsFrame } from '../src/protocol/stats.js';
import { parseDomainConfigText } from '../src/toolstack/config/index.js';
import { RpcStatsFeed } from '../src/ui/top/feed.js';
import { startHost, tempHome, type TestHost } from '../test/helpers/daemon.js';
import { bootMachine, until, yamlConfig } from '../test/helpers/machine.js';
import { FakeFeed } from '../test/top/frames.js';
import { machine, median, percentile, table } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    domains: { type: 'string', default: '100' },
    vcpus: { type: 'string', default: '64' },
    window: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '3' },
    frames: { type: 'string', default: '300' },
    compiled: { type: 'boolean', default: false },
  },
});
const DOMAINS = Number(values.domains);
const VCPUS = Number(values.vcpus);
const WINDOW_S = Number(values.window);
const ROUNDS = Number(values.rounds);
const FRAMES = Number(values.frames);
const TICK = 100; // getconf CLK_TCK on Linux
// As `xenemu top` runs React (src/ui/top/index.tsx): the production build.
process.env.NODE_ENV ??= 'production';

const busyYaml = `name: busy\ntype: pvh\nmemory: 256\nvcpus: ${VCPUS}\nmaxvcpus: ${VCPUS}\nxenemu:\n  hz: 250\n  events:\n    - {name: net0, rate: 4000, handler: ithread, vcpu: 1}\n    - {name: net1, rate: 4000, handler: filter, vcpu: 2}\n    - {name: disk0, rate: 1000, handler: both, vcpu: 3}\n`;

function cpuTicks(pid: number): number {
  // Fields after the command name (which may hold spaces): utime is field 14, stime 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

/** The daemon's CPU use over `seconds`, in % of one CPU. */
async function cpuPercent(pid: number, seconds: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  const c0 = cpuTicks(pid);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const c1 = cpuTicks(pid);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  return ((c1 - c0) / TICK / wall) * 100;
}

async function startDaemon(): Promise<{ host: TestHost; compiled: boolean }> {
  const home = tempHome();
  writeFileSync(`${home}/host.yaml`, `pcpus: 16\nmemory: ${(DOMAINS + 8) * 256}\ndom0_memory: 2048\n`);
  if (values.compiled === true) {
    if (!existsSync(new URL('../dist/src/host/stats-service.js', import.meta.url))) throw new Error('dist/ has no stats stream: npm run build first');
    const compiled = (await import(new URL('../dist/src/client/daemon.js', import.meta.url).href)) as typeof import('../src/client/daemon.js');
    return { host: await startHost(home, compiled.ensureDaemon), compiled: true };
  }
  return { host: await startHost(home), compiled: false };
}

async function daemonCost(): Promise<{ rows: Array<Array<string | number>>; frames: StatsFrame[]; compiled: boolean }> {
  const { host, compiled } = await startDaemon();
  try {
    const rpc = await RpcClient.connect(host.paths.control);
    const { config } = parseDomainConfigText(busyYaml, 'yaml', 'busy.yaml');
    const { domid: busy } = await rpc.call<{ domid: number }>('domain.create', { config, paused: false });
    for (let i = 0; i < DOMAINS - 2; i++) {
      const { config: c } = parseDomainConfigText(`name: guest${i}\ntype: pv\nmemory: 128\nvcpus: 1\n`, 'yaml', 'bench');
      await rpc.call('domain.create', { config: c, paused: false });
    }
    rpc.close();
    const pid = host.pid();
    await new Promise((r) => setTimeout(r, 3000)); // let the boots settle

    const idle: number[] = [];
    const watched: number[] = [];
    const frames: StatsFrame[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      idle.push(await cpuPercent(pid, WINDOW_S));
      const feed = await RpcStatsFeed.connect(host.paths.control, { intervalMs: 1000, selected: busy });
      feed.onFrame((f) => frames.push(f));
      watched.push(await cpuPercent(pid, WINDOW_S));
      feed.close();
    }
    const bytes = frames.slice(1).map((f) => Buffer.byteLength(JSON.stringify(f)) + 18);
    const added = watched.map((w, i) => w - idle[i]!);
    return {
      compiled,
      frames,
      rows: [
        ['daemon CPU, no subscriber (% of a CPU)', median(idle).toFixed(2), Math.min(...idle).toFixed(2), Math.max(...idle).toFixed(2)],
        ['daemon CPU, top subscribed at 1 s (%)', median(watched).toFixed(2), Math.min(...watched).toFixed(2), Math.max(...watched).toFixed(2)],
        ['added by the subscriber (percentage points)', median(added).toFixed(2), Math.min(...added).toFixed(2), Math.max(...added).toFixed(2)],
        ['frame on the wire (KiB)', (median(bytes) / 1024).toFixed(1), (Math.min(...bytes) / 1024).toFixed(1), (Math.max(...bytes) / 1024).toFixed(1)],
      ],
    };
  } finally {
    await host.dispose();
  }
}

/** The sampler alone, in-process: what one frame costs the daemon's event loop. */
async function samplerCost(): Promise<Array<Array<string | number>>> {
  const tm = await bootMachine();
  try {
    await tm.m.toolstack.create(yamlConfig(busyYaml));
    for (let i = 0; i < DOMAINS - 2; i++) await tm.m.toolstack.create(yamlConfig(`name: guest${i}\ntype: pv\nmemory: 64\nvcpus: 1\n`));
    await until(() => tm.m.toolstack.kernel(DOMAINS - 1)?.state === 'running', 'guests running', 1_000_000);
    const sampler = new StatsSampler(machineSources(tm.m), { intervalMs: 1000, selected: 1, vcpuTimes: false });
    sampler.frame();
    const sample: number[] = [];
    const encode: number[] = [];
    for (let i = 0; i < 500; i++) {
      const t0 = process.hrtime.bigint();
      const f = sampler.frame();
      const t1 = process.hrtime.bigint();
      JSON.stringify(f);
      const t2 = process.hrtime.bigint();
      sample.push(Number(t1 - t0) / 1e6);
      encode.push(Number(t2 - t1) / 1e6);
    }
    return [
      [`sample ${DOMAINS} domains + ${VCPUS}-vCPU detail (ms)`, median(sample).toFixed(3), percentile(sample, 99).toFixed(3), Math.max(...sample).toFixed(3)],
      ['JSON-encode the frame (ms)', median(encode).toFixed(3), percentile(encode, 99).toFixed(3), Math.max(...encode).toFixed(3)],
    ];
  } finally {
    await tm.dispose();
  }
}

/** Push recorded frames through the dashboard and time each from push to frame written. */
async function renderCost(recorded: StatsFrame[]): Promise<{ rows: Array<Array<string | number>>; heap: Array<Array<string | number>> }> {
  // As `xenemu top` prepares them: React's production build, Ink's line cache.
  const { prepareInk } = await import('../src/ui/top/index.js');
  await prepareInk({ terminal: true, env: process.env });
  const [{ render }, { createElement }, { TopApp }] = await Promise.all([import('ink-testing-library'), import('react'), import('../src/ui/top/components/TopApp.js')]);
  const rows: Array<Array<string | number>> = [];
  const heap: Array<Array<string | number>> = [];
  const usable = recorded.filter((f) => f.selected !== null);
  if (usable.length === 0) throw new Error('no recorded frame carries the selected domain');
  for (const [columns, lines, grid] of [
    [80, 24, 'heat'],
    [200, 60, 'heat'],
    [80, 24, 'spark'],
    [200, 60, 'spark'],
  ] as const) {
    const feed = new FakeFeed();
    const base = usable[0]!;
    feed.details.set(base.selected!.domid, base.selected!);
    feed.push(base);
    const app = render(createElement(TopApp, { feed, delayMs: 1000, color: true, size: { columns, rows: lines }, onQuit: () => {} }));
    // Select the busy domain: sorted by name it is the first row, so it is already.
    if (grid === 'spark') app.stdin.write('g');
    await new Promise((r) => setTimeout(r, 50));
    // The time from the push to the moment the frame is written out (React renders the
    // update in a microtask, Ink lays it out and writes it).
    // The frame is not kept (ink-testing-library would keep every one): what the heap
    // keeps over the run is the dashboard's and Ink's.
    let written: (() => void) | null = null;
    app.stdout.write = () => written?.();
    const times: number[] = [];
    // From the middle of the run on, caches have filled: what grows after is kept for good.
    let heapMid = 0;
    for (let i = 0; i < FRAMES; i++) {
      if (i === FRAMES >> 1) heapMid = retainedHeap();
      const f = usable[i % usable.length]!;
      const t0 = process.hrtime.bigint();
      const done = new Promise<bigint>((r) => (written = () => r(process.hrtime.bigint())));
      // The clock and every CPU(sec) move on, as on a live host: no line repeats forever.
      feed.push({ ...f, seq: 1000 + i, timeMs: base.timeMs + i * 1000, domains: f.domains.map((d) => ({ ...d, cpuNs: d.cpuNs + i * 1e9 })) });
      times.push(Number((await done) - t0) / 1e6);
      written = null;
    }
    const grown = (retainedHeap() - heapMid) / 1024;
    app.unmount();
    const what = `at ${columns}x${lines}, ${grid === 'heat' ? 'heat map' : 'sparklines'}`;
    rows.push([`render a frame ${what} (ms)`, median(times).toFixed(2), percentile(times, 99).toFixed(2), Math.max(...times).toFixed(2)]);
    heap.push([`heap grown over frames ${FRAMES >> 1}-${FRAMES} ${what} (KiB)`, grown.toFixed(0)]);
  }
  return { rows, heap };
}

let gc: (() => void) | undefined;

/** Heap in use after a full collection, bytes. */
function retainedHeap(): number {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  return process.memoryUsage().heapUsed;
}

const daemon = await daemonCost();
const sampler = await samplerCost();
const renders = await renderCost(daemon.frames);
const sel = daemon.frames.at(-1)!.selected!;
console.log(
  `host: ${DOMAINS} domains (dom0, "busy" with ${VCPUS} vCPUs and 9,000 synthetic events/s, ${DOMAINS - 2} idle 1-vCPU PV guests); busy selected, ${sel.sources.length} grid rows (${sel.counters} counters)`,
);
console.log(`daemon: ${daemon.compiled ? 'compiled (dist/)' : 'sources under tsx'}; CPU windows of ${WINDOW_S} s, ${ROUNDS} rounds alternating without and with a subscriber`);
console.log(`machine: ${machine()}`);
console.log(table(['measure', 'median', 'min', 'max'], daemon.rows));
console.log();
console.log(table(['measure', 'median', 'p99', 'max'], [...sampler, ...renders.rows]));
console.log();
console.log(table(['measure', 'value'], renders.heap));
