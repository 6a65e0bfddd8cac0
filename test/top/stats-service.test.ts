import test from 'ava';
import type { RpcContext } from '../../src/host/control-server.js';
import { machineSources, StatsSampler, statsMethods, type KernelIntrStats, type StatsSources } from '../../src/host/stats-service.js';
import type { IntrRowKind } from '../../src/kernel/intr/stats.js';
import { StatsParams, type StatsFrame } from '../../src/protocol/stats.js';
import { bootMachine, until, yamlConfig, type TestMachine } from '../helpers/machine.js';

// The daemon's side of `xenemu top`: rates from counter deltas between frames, detail
// for the selected domain only, and the stream's life over a connection. The machine
// boots in-process; the sampler's clock is the test's, so every rate is exact.

const web = yamlConfig('name: web\ntype: pvh\nmemory: 256\nvcpus: 2\n');
const db = yamlConfig('name: db\ntype: pv\nmemory: 512\nvcpus: 4\n');

interface Rig {
  tm: TestMachine;
  sources: StatsSources;
  /** Move the sampler's clock. */
  advance(ns: number): void;
  /** What the "kernel" reports per domain (the interrupt layer's snapshot). */
  intr: Map<number, KernelIntrStats>;
}

async function rig(): Promise<Rig> {
  const tm = await bootMachine();
  await tm.m.toolstack.create(web);
  await tm.m.toolstack.create(db);
  await until(() => tm.m.toolstack.kernel(2)?.state === 'running', 'guests running');
  let now = 1e12;
  const intr = new Map<number, KernelIntrStats>();
  const sources: StatsSources = {
    ...machineSources(tm.m),
    interrupts: (domid) => intr.get(domid) ?? null,
    interruptTotals: (domid) => {
      const rows = intr.get(domid)?.rows;
      if (rows === undefined) return null;
      const sum = (r: (typeof rows)[number]) => r.perCpu.reduce((a, b) => a + b, 0);
      const others = rows.filter((r) => r.kind !== 'upcall');
      return { upcalls: rows.filter((r) => r.kind === 'upcall').reduce((a, r) => a + sum(r), 0), others: others.reduce((a, r) => a + sum(r), 0), otherRows: others.length };
    },
    nowNs: () => now,
    wallMs: () => now / 1e6,
  };
  return { tm, sources, advance: (ns) => (now += ns), intr };
}

const row = (name: string, kind: IntrRowKind, handler: 'filter' | 'ithread' | 'both' | 'none', perCpu: number[], filterNs = 0, ithreadNs = 0) => ({ name, kind, handler, perCpu, filterNs, ithreadNs });

test('the first frame: every domain in domid order, the host, no rates yet', async (t) => {
  const r = await rig();
  t.teardown(() => r.tm.dispose());
  const f = new StatsSampler(r.sources, { intervalMs: 1000, selected: null, vcpuTimes: false }).frame();
  t.is(f.seq, 1);
  t.is(f.elapsedNs, 0);
  t.deepEqual(
    f.domains.map((d) => [d.domid, d.name, d.vcpus, d.memKiB, d.cpuPct, d.eventsPerSec]),
    [
      [0, 'Domain-0', 4, 1024 * 1024, 0, 0],
      [1, 'web', 2, 256 * 1024, 0, 0],
      [2, 'db', 4, 512 * 1024, 0, 0],
    ],
  );
  t.deepEqual(f.host, { hostname: 'testhost', xenVersion: '4.17.7-xenemu', pcpus: 4, cpuMhz: f.host.cpuMhz, totalKiB: 16384 * 1024, freeKiB: r.tm.m.hv.freeKiB, uptimeSec: f.host.uptimeSec, faults: [] });
  t.is(f.selected, null);
  t.is(f.domains[0]!.vcpuNs, undefined, 'per-vCPU times only when asked for');
  t.deepEqual(f.domains[0]!.state, { dying: false, shutdown: false, blocked: false, crashed: false, paused: false, running: true });
});

test('CPU(%) and EVTS/s are deltas over the time between two frames, as xentop computes CPU(%)', async (t) => {
  const r = await rig();
  t.teardown(() => r.tm.dispose());
  const s = new StatsSampler(r.sources, { intervalMs: 1000, selected: null, vcpuTimes: true });
  r.intr.set(2, { rows: [row('cpu0:xen', 'upcall', 'none', [0, 0, 0, 0]), row('disk0', 'port', 'filter', [0, 0, 0, 0])] });
  s.frame();
  const d = r.tm.m.hv.get(2);
  d.vcpus[0]!.cpuTimeNs += 250e6;
  d.vcpus[3]!.cpuTimeNs += 250e6;
  // EVTS/s counts what the kernel handled, as the grid does (raises that coalesce do not count).
  d.evtchn!.counters.raises += 9999;
  r.intr.set(2, { rows: [row('cpu0:xen', 'upcall', 'none', [500, 0, 0, 0]), row('disk0', 'port', 'filter', [1000, 2000, 0, 0])] });
  r.advance(2e9);
  const f = s.frame();
  const row2 = f.domains.find((x) => x.domid === 2)!;
  t.is(f.elapsedNs, 2e9);
  t.is(row2.cpuPct, 25); // 500 ms of CPU in 2 s
  t.is(row2.eventsPerSec, 1500);
  t.deepEqual(row2.vcpuNs, d.vcpus.map((v) => (v.online ? v.cpuTimeNs : null)));
  t.is(f.domains.find((x) => x.domid === 1)!.cpuPct < 1, true);
});

test('a domain that was not in the previous frame starts at 0, like a domain xentop has no old sample of', async (t) => {
  const r = await rig();
  t.teardown(() => r.tm.dispose());
  const s = new StatsSampler(r.sources, { intervalMs: 1000, selected: null, vcpuTimes: false });
  s.frame();
  await r.tm.m.toolstack.create(yamlConfig('name: late\nmemory: 64\n'));
  r.tm.m.hv.get(3).vcpus[0]!.cpuTimeNs += 1e9;
  r.advance(1e9);
  t.is(s.frame().domains.find((x) => x.name === 'late')!.cpuPct, 0);
});

test('state flags follow the domain: paused, crashed, shut down', async (t) => {
  const r = await rig();
  t.teardown(() => r.tm.dispose());
  const s = new StatsSampler(r.sources, { intervalMs: 1000, selected: null, vcpuTimes: false });
  r.tm.m.toolstack.pause(1);
  r.tm.m.hv.shutdown(2, 'crash');
  const f = s.frame();
  t.like(f.domains[1]!.state, { paused: true, blocked: false, running: false });
  t.like(f.domains[2]!.state, { crashed: true, shutdown: false });
});

test('detail comes for the selected domain only; per-vCPU rows of a source merge into one grid row', async (t) => {
  const r = await rig();
  t.teardown(() => r.tm.dispose());
  r.intr.set(2, {
    hz: 250,
    rows: [
      row('cpu0:xen', 'upcall', 'none', [10, 0, 0, 0], 500),
      row('cpu0:timer', 'virq', 'filter', [100, 0, 0, 0], 1000),
      row('cpu1:timer', 'virq', 'filter', [0, 200, 0, 0], 1000),
      row('net0', 'port', 'ithread', [0, 50, 0, 0], 0, 3000),
    ],
  });
  const s = new StatsSampler(r.sources, { intervalMs: 1000, selected: 2, vcpuTimes: false });
  const first = s.frame();
  t.is(first.selected!.domid, 2);
  t.deepEqual(
    first.selected!.sources.map((x) => x.key),
    ['upcall:xen', 'virq:timer', 'port:net0'],
  );
  t.deepEqual(first.selected!.rates, [
    [0, 0, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 0],
  ]);
  t.deepEqual(first.selected!.totals, [10, 300, 50]);
  t.is(first.selected!.counters, 'kernel');
  t.is(first.selected!.hz, 250);

  r.intr.set(2, {
    hz: 250,
    rows: [
      row('cpu0:xen', 'upcall', 'none', [30, 0, 0, 0], 900),
      row('cpu0:timer', 'virq', 'filter', [350, 0, 0, 0], 3000),
      row('cpu1:timer', 'virq', 'filter', [0, 450, 0, 0], 3000),
      row('net0', 'port', 'ithread', [0, 1050, 0, 0], 0, 15000),
    ],
  });
  r.advance(500e6);
  const f = s.frame().selected!;
  t.deepEqual(f.rates, [
    [40, 0, 0, 0],
    [500, 500, 0, 0],
    [0, 2000, 0, 0],
  ]);
  // Totals per vCPU count sources, not the upcall counter.
  t.deepEqual(
    f.vcpus.map((v) => v.intrPerSec),
    [500, 2500, 0, 0],
  );
  // Handler time in the interval: filters 4000 ns, ithreads 12000 ns (the upcall's own scan not counted).
  t.deepEqual(f.handlerShare, { filter: 25, ithread: 75 });
  t.is(f.evtchn.inUse, r.tm.m.hv.get(2).evtchn!.inUse);
  t.is(f.callback.mode, 'pv');
});

test('without kernel counters the grid is the hypervisor\'s upcalls per vCPU', async (t) => {
  const r = await rig();
  t.teardown(() => r.tm.dispose());
  const s = new StatsSampler(r.sources, { intervalMs: 1000, selected: 1, vcpuTimes: false });
  const f = s.frame().selected!;
  t.is(f.counters, 'hypervisor');
  t.deepEqual(f.sources, [{ key: 'upcall:upcall', name: 'upcall', kind: 'upcall', handler: 'none' }]);
  t.deepEqual(f.totals, [r.tm.m.hv.deliveryCounters(1).injected.reduce((a, b) => a + b, 0)]);
  t.is(f.callback.label, 'vector 0x93');
  t.is(f.handlerShare, null);
});

test('select() answers the detail at once with rates 0; the next frame has rates since the select, and EVTS/s counts from it too', async (t) => {
  const r = await rig();
  t.teardown(() => r.tm.dispose());
  r.intr.set(1, { rows: [row('disk0', 'port', 'filter', [0, 0])] });
  const s = new StatsSampler(r.sources, { intervalMs: 1000, selected: null, vcpuTimes: false });
  t.is(s.frame().selected, null);
  r.advance(10e9);
  r.intr.set(1, { rows: [row('disk0', 'port', 'filter', [1000, 0])] });
  const now = s.select(1)!;
  t.deepEqual(now.rates, [[0, 0]]);
  t.deepEqual(now.totals, [1000]);
  r.intr.set(1, { rows: [row('disk0', 'port', 'filter', [1100, 40])] });
  r.advance(200e6);
  const f = s.frame();
  t.deepEqual(f.selected!.rates, [[500, 200]]);
  t.is(f.selected!.intrPerSec, 700);
  t.is(f.domains.find((d) => d.domid === 1)!.eventsPerSec, 700);
  t.is(s.select(99), null, 'a domain that does not exist has no detail');
  t.is(s.frame().selected, null);
});

test('EVTS/s of the selected domain is its grid\'s total, frame after frame, whatever the selection did meanwhile', async (t) => {
  const r = await rig();
  t.teardown(() => r.tm.dispose());
  const s = new StatsSampler(r.sources, { intervalMs: 1000, selected: 2, vcpuTimes: false });
  const counts = [0, 0, 0, 0];
  const report = () =>
    r.intr.set(2, {
      rows: [row('cpu0:xen', 'upcall', 'none', [counts[0]! * 3, 0, 0, 0]), row('cpu0:timer', 'virq', 'filter', [counts[0]!, 0, 0, 0]), row('net0', 'port', 'ithread', [0, counts[1]!, counts[2]!, 0])],
    });
  report();
  s.frame();
  for (const [i, step] of [[0, 137], [1, 2503], [2, 9], [0, 77777]].entries()) {
    // Moving the selection away and back between frames restarts both counts.
    if (i === 2) s.select(1);
    r.advance(50e6);
    if (i === 2) s.select(2);
    counts[step[0]!]! += step[1]!;
    counts[(i + 1) % 3]! += 11 * i;
    report();
    r.advance(300e6 + i * 17e6);
    const f = s.frame();
    const evts = f.domains.find((d) => d.domid === 2)!.eventsPerSec;
    t.true(evts > 0);
    t.is(f.selected!.intrPerSec, evts, `frame ${i}: the grid's total is EVTS/s`);
    // The per-vCPU cells add up to it, each rounded to 0.01.
    const cells = f.selected!.vcpus.reduce((a, v) => a + v.intrPerSec, 0);
    t.true(Math.abs(cells - evts) <= 0.01 * f.selected!.vcpus.length, `frame ${i}: ${cells} vs ${evts}`);
  }
});

test('a selected domain that goes away leaves no detail; a new domain reusing nothing is not confused with it', async (t) => {
  const r = await rig();
  t.teardown(() => r.tm.dispose());
  const s = new StatsSampler(r.sources, { intervalMs: 1000, selected: 1, vcpuTimes: false });
  t.is(s.frame().selected!.name, 'web');
  await r.tm.m.toolstack.destroy(1);
  t.is(s.frame().selected, null);
  t.false(s.frame().domains.some((d) => d.domid === 1));
});

// ------------------------------------------------------------------ the RPC methods

function fakeCtx(): RpcContext & { frames: StatsFrame[]; close(): void } {
  const listeners: Array<() => void> = [];
  const frames: StatsFrame[] = [];
  return {
    frames,
    push: (event, data) => {
      if (event === 'stats') frames.push(data as StatsFrame);
    },
    send: () => true,
    onDrain: () => {},
    onClose: (l) => listeners.push(l),
    close: () => listeners.splice(0).forEach((l) => l()),
  };
}

test('stats.subscribe answers the first frame, then pushes one per interval until the connection closes', async (t) => {
  const r = await rig();
  t.teardown(() => r.tm.dispose());
  const methods = statsMethods(r.tm.m);
  const ctx = fakeCtx();
  const first = (await methods['stats.subscribe']!({ intervalMs: 100, selected: 1 }, ctx)) as StatsFrame;
  t.is(first.seq, 1);
  t.is(first.selected!.name, 'web');
  await until(() => ctx.frames.length >= 2, 'two pushed frames', 1_000_000);
  t.deepEqual(
    ctx.frames.slice(0, 2).map((f) => f.seq),
    [2, 3],
  );
  t.true(ctx.frames[0]!.elapsedNs > 0);

  t.is(await methods['stats.interval']!({ intervalMs: 200 }, ctx), null);
  const detail = (await methods['stats.select']!({ domid: 2 }, ctx)) as { name: string };
  t.is(detail.name, 'db');
  const n = ctx.frames.length;
  await until(() => ctx.frames.length > n, 'a frame after select', 1_000_000);
  t.is(ctx.frames.at(-1)!.intervalMs, 200);
  t.is(ctx.frames.at(-1)!.selected!.name, 'db');

  ctx.close();
  const after = ctx.frames.length;
  await new Promise((res) => setTimeout(res, 500));
  t.is(ctx.frames.length, after, 'no frame after the connection closed');
});

test('the stats schemas refuse bad parameters (the control server answers EINVAL); select without a subscription is ENOENT', async (t) => {
  const r = await rig();
  t.teardown(() => r.tm.dispose());
  for (const p of [{}, { intervalMs: 10 }, { intervalMs: 'fast' }, { intervalMs: Infinity }, { intervalMs: 1000, selected: -1 }, { intervalMs: 1000, selected: 1.5 }, { intervalMs: 1000, extra: 1 }, null]) {
    t.false(StatsParams['stats.subscribe'].safeParse(p).success, JSON.stringify(p));
  }
  t.false(StatsParams['stats.interval'].safeParse({ intervalMs: 99 }).success);
  t.false(StatsParams['stats.select'].safeParse({}).success, 'select names a domain or null');
  const methods = statsMethods(r.tm.m);
  const ctx = fakeCtx();
  t.is((t.throws(() => methods['stats.select']!({ domid: 1 }, ctx)) as { code?: string }).code, 'ENOENT');
  await methods['stats.subscribe']!({ intervalMs: 1000 }, ctx);
  t.is(await methods['stats.unsubscribe']!({}, ctx), null);
  ctx.close();
});

test('sources of different kinds with one driver name get a row each, told apart by kind', async (t) => {
  const r = await rig();
  t.teardown(() => r.tm.dispose());
  r.intr.set(0, { hz: 100, rows: [row('evtchn0', 'virq', 'filter', [1, 0, 0, 0]), row('evtchn0', 'port', 'both', [2, 3, 0, 0]), row('cpu0:timer', 'virq', 'filter', [5, 0, 0, 0])] });
  const s = new StatsSampler(r.sources, { intervalMs: 1000, selected: 0, vcpuTimes: false });
  const d = s.frame().selected!;
  t.deepEqual(
    d.sources.map((x) => [x.name, x.kind, x.handler]),
    [
      ['evtchn0:virq', 'virq', 'filter'],
      ['evtchn0:port', 'port', 'both'],
      ['timer', 'virq', 'filter'],
    ],
  );
  t.deepEqual(d.totals, [1, 5, 5]);
  // And on the machine as booted, dom0's own sources never share a row name.
  const live = new StatsSampler(machineSources(r.tm.m), { intervalMs: 1000, selected: 0, vcpuTimes: false }).frame().selected!;
  const names = live.sources.map((x) => x.name);
  t.is(new Set(names).size, names.length, names.join(' '));
});

test('a kernel\'s totals are what its snapshot rows add up to (the EVTS/s of domains not selected reads them)', async (t) => {
  const r = await rig();
  t.teardown(() => r.tm.dispose());
  const real = machineSources(r.tm.m);
  for (const domid of [0, 1, 2]) {
    const snap = real.interrupts(domid)!;
    const sum = (rows: typeof snap.rows) => rows.reduce((a, row) => a + row.perCpu.reduce((x, y) => x + y, 0), 0);
    const others = snap.rows.filter((row) => row.kind !== 'upcall');
    t.deepEqual(real.interruptTotals(domid), { upcalls: sum(snap.rows.filter((row) => row.kind === 'upcall')), others: sum(others), otherRows: others.length }, `domain ${domid}`);
    t.true(others.length > 0);
  }
});
