import test from 'ava';
import { KernelLog } from '../../src/kernel/kernel-log.js';
import { EvtchnUser } from '../../src/kernel/intr/evtchn-dev.js';
import { IntrError } from '../../src/kernel/intr/errors.js';
import type { CallbackMode } from '../../src/kernel/intr/stats.js';
import { SyntheticSources } from '../../src/kernel/intr/synthetic.js';
import { XenIntr, type IntrHandlers } from '../../src/kernel/intr/xen-intr.js';
import { XenIpis } from '../../src/kernel/intr/xen-ipi.js';
import { XenTimer } from '../../src/kernel/intr/xen-timer.js';
import { bareHypervisor, domain, guestIntr } from './helpers.js';

// Save and load of the guest's interrupt layer: a save goes through JSON, loads into
// fresh objects over the same domain, and the loaded guest then behaves exactly as
// the one that was never saved (everything runs on the virtual clock, so the two runs
// are the same run).

const SEC = 1e9;
const VCPUS = 4;

/** The device's handlers: a filter that hands the work to a thread that counts it. */
function deviceHandlers(counted: { n: number }): IntrHandlers {
  return { filter: () => 'schedule-thread', ithread: () => void counted.n++ };
}

/** A guest (domain 1) with every interrupt owner of a kernel, and a peer (domain 2) that sends. */
function guest(mode: CallbackMode) {
  const { clock, hv } = bareHypervisor();
  const g = domain(hv, 1, { vcpus: VCPUS, type: mode === 'pv' ? 'pv' : 'hvm' });
  const peer = domain(hv, 2);
  const log = new KernelLog(clock);
  const intr = guestIntr(hv, clock, g.hc, VCPUS, mode);
  const timer = new XenTimer(intr, g.hc, clock, 100);
  const ipis = new XenIpis(intr);
  for (let v = 0; v < VCPUS; v++) {
    timer.start(v);
    ipis.initCpu(v);
  }
  const user = new EvtchnUser(intr, false, 1);
  const userPeerPort = peer.hc.evtchn.allocUnbound(1);
  user.bindInterdomain(2, userPeerPort);
  const synthetic = new SyntheticSources(intr, g.hc, log);
  synthetic.attach({ name: 'syn0', rate: 1000, handler: 'both', vcpu: 1 });
  const counted = { n: 0, ring: 0 };
  // A ring driver on the legacy port API (hvc0, the xenstore ring), announced as xc0.
  const ringPeerPort = peer.hc.evtchn.allocUnbound(1);
  const ringPort = g.hc.evtchnBindInterdomain(2, ringPeerPort);
  intr.expectPort(ringPort, 'xc0');
  intr.bind(ringPort, 0, () => void counted.ring++);
  g.hc.evtchn.unmask(ringPort);
  const devPeerPort = peer.hc.evtchn.allocUnbound(1);
  const dev = intr.bindRemotePort('xn0', 2, devPeerPort, deviceHandlers(counted));
  // A released source, so the free list has something to hand out again.
  intr.unbindSource(intr.bindRemotePort('gone0', 2, peer.hc.evtchn.allocUnbound(1), { filter: () => 'handled' }));
  clock.drain();
  const k = { intr, timer, ipis, user, synthetic, counted, devIrq: dev.irq, ringPort };
  /** The same stimuli for every run: device and user-port events, IPIs, time. */
  const run = (until: number) => {
    for (let i = 0; i < 5; i++) peer.hc.evtchn.send(devPeerPort);
    peer.hc.evtchn.send(userPeerPort);
    peer.hc.evtchn.send(ringPeerPort);
    k.ipis.send('r', 'others', 0);
    clock.advance(until - clock.now());
    clock.drain();
  };
  return { clock, hv, g, log, k, run };
}

type Guest = ReturnType<typeof guest>;

/** Everything the interrupt owners save, through JSON as a save file would carry it. */
function saveAll(k: Guest['k']) {
  const saved = { intr: k.intr.save(), timer: k.timer.save(), ipis: k.ipis.save(), user: k.user.save(), synthetic: k.synthetic.save(), counted: { ...k.counted } };
  return JSON.parse(JSON.stringify(saved)) as typeof saved;
}

/** Fresh objects over the same domain, loaded from `saved`, the old ones stopped; installed as the upcall. */
function loadAll(x: Guest, saved: ReturnType<typeof saveAll>, mode: CallbackMode): Guest['k'] {
  x.k.intr.stop();
  const intr = new XenIntr({ hc: x.g.hc, clock: x.clock, nrVcpus: VCPUS, mode });
  intr.load(saved.intr);
  x.g.hc.setUpcallHandler((v) => intr.handleUpcall(v));
  const timer = new XenTimer(intr, x.g.hc, x.clock, 100);
  timer.load(saved.timer);
  const ipis = new XenIpis(intr);
  ipis.load(saved.ipis);
  const user = new EvtchnUser(intr, false, 1);
  user.load(saved.user);
  const synthetic = new SyntheticSources(intr, x.g.hc, x.log);
  synthetic.load(saved.synthetic);
  const counted = { ...saved.counted };
  intr.restoreHandlers(saved.intr.sources.find((s) => s.name === 'xn0')!.irq, deviceHandlers(counted));
  // The ring driver binds its port again, as it does when it attaches: it gets its own source back.
  intr.bind(x.k.ringPort, 0, () => void counted.ring++);
  return { intr, timer, ipis, user, synthetic, counted, devIrq: x.k.devIrq, ringPort: x.k.ringPort };
}

for (const mode of ['pv', 'vector', 'pci-intx'] as const) {
  test(`${mode}: the interrupt layer round-trips through a save, and the loaded guest counts on as the unsaved one`, (t) => {
    const a = guest(mode);
    const b = guest(mode);
    a.run(3 * SEC);
    b.run(3 * SEC);
    const saved = saveAll(b.k);
    b.k = loadAll(b, saved, mode);
    t.deepEqual(b.k.intr.awaitingHandlers(), [], 'every owner took its sources back');
    t.deepEqual(saveAll(b.k), saved, 'a loaded layer saves what it loaded');
    t.deepEqual(b.k.intr.snapshot(), a.k.intr.snapshot(), 'vmstat -i reads the same');
    t.deepEqual(b.k.user.read(), a.k.user.read(), 'the device ring kept the port that fired');
    a.k.user.write(a.k.user.bound().map((p) => p.port));
    b.k.user.write(b.k.user.bound().map((p) => p.port));

    a.run(7 * SEC);
    b.run(7 * SEC);
    const rows = b.k.intr.snapshot().rows;
    t.deepEqual(b.k.intr.snapshot(), a.k.intr.snapshot(), 'and counts on the same');
    t.deepEqual(saveAll(b.k), saveAll(a.k));
    const timer = rows.find((r) => r.name === 'cpu0:timer')!;
    t.is(timer.total, 700, '100 Hz for 7 s: no tick lost or counted twice across the load');
    t.deepEqual(b.k.counted, a.k.counted);
    t.like(b.k.counted, { ring: 1 + 2 }, 'the ring driver was served before and after the load (+1: the bind-time raise)');
    t.true(b.k.counted.n > 0);
    t.true(b.k.synthetic.sources[0]!.processed >= 6000, 'the synthetic device kept being served');
    if (mode !== 'pci-intx') t.true((b.k.ipis.handled.get('r') ?? 0) >= 6, 'the IPIs kept their filters');
  });
}

test('a save loads only into a fresh layer of the same shape, and only consistent saves load', (t) => {
  const x = guest('pv');
  x.run(SEC);
  const saved = saveAll(x.k);
  t.throws(() => x.k.intr.load(saved.intr), { instanceOf: IntrError, message: /fresh/ });
  const other = new XenIntr({ hc: x.g.hc, clock: x.clock, nrVcpus: 2, mode: 'pv' });
  t.throws(() => other.load(saved.intr), { message: /4 vCPUs, pv, 0 Hz; this kernel has 2/ });
  const fresh = () => new XenIntr({ hc: x.g.hc, clock: x.clock, nrVcpus: VCPUS, mode: 'pv' });
  const twice = structuredClone(saved.intr);
  const port = twice.dispatch.enabledPorts[0]![0]!;
  twice.dispatch.enabledPorts[1]!.push(port);
  twice.dispatch.enabledPorts[1]!.sort((p, q) => p - q);
  t.throws(() => fresh().load(twice), { message: new RegExp(`port ${port} is enabled on vCPUs 0 and 1`) });
  const lost = structuredClone(saved.intr);
  lost.free.pop();
  t.throws(() => fresh().load(lost), { message: /do not account for/ });
  const timer = structuredClone(saved.timer);
  timer.cpus[0]!.nextDeadlineNs += 5e6;
  const intr = fresh();
  intr.load(saved.intr);
  t.throws(() => new XenTimer(intr, x.g.hc, x.clock, 100).load(timer), { message: /next deadline/ });
  t.throws(() => intr.restoreHandlers(x.k.devIrq, { filter: () => 'handled' }), { message: /had both handlers, not filter/ });
});
