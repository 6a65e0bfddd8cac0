/**
 * Save and load of every hypervisor object that holds guest-visible state: serialise,
 * load into a fresh hypervisor, compare deeply (a second save equals the first), and
 * check that behaviour continues where it stopped.
 */
import test from 'ava';
import { GNTMAP, GNTST, GTF, HVM_PARAM, VcpuInfoView, VIRQ } from '../../src/abi/index.js';
import { VirtualClock } from '../../src/hypervisor/clock.js';
import { Domctl } from '../../src/hypervisor/domctl.js';
import type { DomainType, SavedDomain } from '../../src/hypervisor/domain.js';
import { defaultHostModel } from '../../src/hypervisor/host-model.js';
import { Hypercalls } from '../../src/hypervisor/hypercalls.js';
import { Hypervisor, HypervisorError } from '../../src/hypervisor/hypervisor.js';

function host() {
  const clock = new VirtualClock();
  const hv = new Hypervisor(defaultHostModel({ pcpus: 4, totalMemoryMiB: 8192 }), clock);
  // Exact expiries: the tests count ticks.
  hv.timerSlopNs = 1e6;
  return { clock, hv };
}

function guest(hv: Hypervisor, domid: number, opts: { vcpus?: number; online?: number; type?: DomainType } = {}) {
  const vcpus = opts.vcpus ?? 1;
  const d = hv.createDomain({
    domid,
    name: `d${domid}`,
    uuid: `00000000-0000-0000-0000-${String(domid).padStart(12, '0')}`,
    type: opts.type ?? 'pv',
    memoryKiB: 16384,
    maxMemKiB: 32768,
    maxVcpus: vcpus,
    onlineVcpus: opts.online ?? vcpus,
  });
  hv.unpause(domid);
  return { d, hc: new Hypercalls(hv, domid) };
}

/** A save survives JSON-like cloning (plain data and byte arrays only). */
function cloned(s: SavedDomain): SavedDomain {
  return structuredClone(s);
}

test('domain: identity, memory accounting, vCPUs (affinity, online, registered vcpu_info) and shutdown state round-trip', (t) => {
  const a = host();
  const { d, hc } = guest(a.hv, 3, { vcpus: 40, online: 2, type: 'hvm' });
  const ctl = new Domctl(a.hv);
  ctl.setVcpuAffinity(3, 1, [2, 3], null);
  ctl.setVcpuAffinity(3, 0, undefined, [1]);
  ctl.setMaxMem(3, 20000);
  ctl.setDomainName(3, 'renamed');
  ctl.setHvmParam(3, HVM_PARAM.VIRIDIAN, 1n);
  ctl.setHvmParam(3, HVM_PARAM.STORE_PFN, 0xfffffffffn);
  hc.platform.chargeCpuTime(1, 1234.4);
  hc.registerVcpuInfo(35, 7, 128);
  hc.vcpuUp(35);
  hc.decreaseReservation([1, 2, 3]);
  hc.platform.page(9).fill(0x42);
  a.clock.advance(5e9);
  ctl.pauseDomain(3);
  hc.shutdown('suspend');
  const saved = a.hv.saveDomain(3);

  const b = host();
  const [l] = b.hv.loadDomains([cloned(saved)]);
  t.deepEqual(b.hv.saveDomain(3), saved, 'a save of the loaded domain is the first save');
  t.is(l!.name, 'renamed');
  t.is(l!.currentKiB, d.currentKiB);
  t.is(l!.maxKiB, 20000);
  t.true(l!.viridian);
  t.deepEqual(l!.vcpus[1]!.hardAffinity, [2, 3]);
  t.deepEqual(l!.vcpus[0]!.softAffinity, [1]);
  t.is(l!.vcpus[1]!.cpuTimeNs, 1234);
  t.deepEqual(l!.vcpus.filter((v) => v.online).map((v) => v.id), [0, 1, 35]);
  t.is(l!.shutdownReason, 'suspend');
  t.true(l!.paused);
  t.is(b.clock.now() - l!.createdAtNs, 5e9, 'its age goes on from where it was');
  t.true(l!.memory.page(9).every((x) => x === 0x42));
  t.is(b.hv.freeKiB, b.hv.totalKiB - b.hv.host.xenReservedMiB * 1024 - l!.currentKiB, 'the loaded memory is accounted to the host');
  // vCPU 35 still receives its events in the frame it registered.
  const lhc = new Hypercalls(b.hv, 3);
  const port = lhc.evtchn.bindIpi(35);
  lhc.evtchn.unmask(port);
  lhc.evtchn.send(port);
  t.true(new VcpuInfoView(l!.memory.page(7), 128).testSel(port >> 6));
  t.throws(() => lhc.registerVcpuInfo(35, 8, 0), { message: /already registered/ });
});

test('domain: load refuses an id in use, and changes nothing when a save is malformed', (t) => {
  const a = host();
  guest(a.hv, 1);
  const saved = a.hv.saveDomain(1);
  t.is(t.throws(() => a.hv.loadDomains([saved]), { instanceOf: HypervisorError })!.code, 'EEXIST');
  const b = host();
  const bad = { ...cloned(saved), sharedInfo: new Uint8Array(10) };
  t.throws(() => b.hv.loadDomains([bad]), { message: /shared_info/ });
  t.is(b.hv.domains.size, 0);
});

test('domain: a dying domain (destroyed, its pages still mapped) cannot be saved', (t) => {
  const a = host();
  const granter = guest(a.hv, 1);
  const mapper = guest(a.hv, 2);
  granter.d.grantTable!.entries.grantForeignAccess(8, 2, 5, false);
  mapper.hc.gnttabMapGrantRef([{ dom: 1, ref: 8, flags: GNTMAP.host_map }]);
  a.hv.destroy(1);
  t.throws(() => a.hv.dying.get(1)!.save(a.clock.now()), { message: /domain 1 is dying/ });
});

test('event channels: ports, bindings and masks round-trip; an event pending at the save is delivered after the load', (t) => {
  const a = host();
  const { hc } = guest(a.hv, 1, { vcpus: 2 });
  const ipi = hc.evtchn.bindIpi(1);
  const virq = hc.evtchn.bindVirq(VIRQ.DEBUG, 1);
  const masked = hc.evtchn.bindIpi(0);
  hc.evtchn.shared.testAndSetMask(masked);
  hc.evtchn.send(masked);
  hc.evtchn.send(ipi); // no upcall handler yet: the upcall stays pending in vcpu_info
  const saved = a.hv.saveDomain(1);
  t.deepEqual(
    saved.evtchn.ports.map((p) => [p.port, p.state, p.vcpu]),
    [
      [ipi, 'ipi', 1],
      [virq, 'virq', 1],
      [masked, 'ipi', 0],
    ],
  );

  const b = host();
  b.hv.loadDomains([cloned(saved)]);
  t.deepEqual(b.hv.saveDomain(1), saved);
  const lhc = new Hypercalls(b.hv, 1);
  const upcalls: number[] = [];
  lhc.setUpcallHandler((v) => {
    upcalls.push(v);
    lhc.evtchn.vcpuInfo(v)!.evtchnUpcallPending = 0;
  });
  b.clock.drain();
  t.deepEqual(upcalls, [1], 'the upcall pending at the save is taken once the guest is back');
  t.true(lhc.evtchn.shared.testPending(masked));
  lhc.evtchn.unmask(masked);
  b.clock.drain();
  t.deepEqual(upcalls, [1, 0], 'the masked event waited, and fires on unmask');
  t.is(lhc.evtchn.virqPort(VIRQ.DEBUG, 1), virq);
  t.is(t.throws(() => lhc.evtchn.bindVirq(VIRQ.DEBUG, 1), { instanceOf: HypervisorError })!.code, 'EEXIST');
  t.is(lhc.evtchn.tableSize, 64);
});

test('event channels: an interdomain channel stays connected when both ends load together, and is unbound when its peer is gone', (t) => {
  const a = host();
  const one = guest(a.hv, 1);
  const two = guest(a.hv, 2);
  const offered = one.hc.evtchn.allocUnbound(2);
  const bound = two.hc.evtchn.bindInterdomain(1, offered);
  const both = [a.hv.saveDomain(1), a.hv.saveDomain(2)];

  const b = host();
  b.hv.loadDomains(both.map(cloned));
  new Hypercalls(b.hv, 2).evtchn.send(bound);
  t.true(b.hv.get(1).evtchn!.shared.testPending(offered), 'a send reaches the peer');

  const c = host();
  guest(c.hv, 2);
  c.hv.loadDomains([cloned(both[0]!)]);
  t.deepEqual(c.hv.get(1).evtchn!.status(offered), { status: 'unbound', vcpu: 0, remoteDomid: 2 }, 'as if domain 2 had closed its end');
  const rebound = new Hypercalls(c.hv, 2).evtchn.bindInterdomain(1, offered);
  t.true(rebound > 0, 'the peer can bind it again');
});

test('grant tables: a grant mapped before the save is still tracked and GTF_reading|writing after; unmapping it after the load clears them', (t) => {
  const a = host();
  const granter = guest(a.hv, 1);
  const mapper = guest(a.hv, 2);
  const gt = granter.d.grantTable!;
  gt.grow(2);
  gt.entries.grantForeignAccess(300, 2, 5, false);
  granter.hc.platform.page(5).fill(0x77);
  const [m] = mapper.hc.gnttabMapGrantRef([{ dom: 1, ref: 300, flags: GNTMAP.host_map }]);
  t.is(m!.status, GNTST.okay);
  const saved = [a.hv.saveDomain(1), a.hv.saveDomain(2)];
  t.is(saved[0]!.grantTable.frames.length, 2);

  const b = host();
  const [lg, lm] = b.hv.loadDomains(saved.map(cloned));
  t.deepEqual([b.hv.saveDomain(1), b.hv.saveDomain(2)], saved);
  t.is(lg!.grantTable!.entries.flags(300) & (GTF.reading | GTF.writing), GTF.reading | GTF.writing);
  t.deepEqual(lm!.grantTable!.mapping(m!.handle), { flags: GNTMAP.host_map, dom: 1, ref: 300 });
  t.is(lg!.memory.refs(5), 1, 'the mapped page holds its reference again');
  t.true(lg!.grantTable!.active.get(300)!.page.every((x) => x === 0x77));
  lg!.memory.release([5]);
  t.true(lg!.grantTable!.active.get(300)!.page.every((x) => x === 0x77), 'a mapped page is not zeroed under its mapper');
  // The setup_table frames are new host frames with the saved entries in them.
  const lhc = new Hypercalls(b.hv, 1);
  const { frameList } = lhc.gnttabSetupTable(2);
  t.is(frameList.length, 2);
  t.deepEqual(lhc.grantTableFrame(frameList[0]!), saved[0]!.grantTable.frames[0]);
  t.deepEqual(new Hypercalls(b.hv, 2).gnttabUnmapGrantRef([m!.handle]), [GNTST.okay]);
  t.is(lg!.grantTable!.entries.flags(300) & (GTF.reading | GTF.writing), 0);
  t.is(lg!.memory.heldOrphans, 0);
});

test('grant tables: a domain loaded without the other end of its mappings lets them go', (t) => {
  const a = host();
  const granter = guest(a.hv, 1);
  const mapper = guest(a.hv, 2);
  granter.d.grantTable!.entries.grantForeignAccess(8, 2, 5, true);
  const [m] = mapper.hc.gnttabMapGrantRef([{ dom: 1, ref: 8, flags: GNTMAP.host_map | GNTMAP.readonly }]);
  const savedGranter = a.hv.saveDomain(1);
  const savedMapper = a.hv.saveDomain(2);
  t.is(savedGranter.grantTable.active.length, 1);

  const b = host();
  const [lg] = b.hv.loadDomains([cloned(savedGranter)]);
  t.is(lg!.grantTable!.active.size, 0, 'no mapper here: the active entry goes');
  t.is(lg!.grantTable!.entries.flags(8) & (GTF.reading | GTF.writing), 0);
  t.is(lg!.memory.refs(5), 0);

  const c = host();
  const [lm] = c.hv.loadDomains([cloned(savedMapper)]);
  t.is(lm!.grantTable!.mapping(m!.handle), undefined, 'no granter here: the handle is free again');
  t.is(lm!.grantTable!.takeHandle(), savedMapper.grantTable.freeHandles[0]!, 'free handles keep their order');
});

test('timers: vCPU timers, LAPIC timers and event sources continue in phase on another clock', (t) => {
  const a = host();
  const pv = guest(a.hv, 1);
  const timerPort = pv.hc.evtchn.bindVirq(VIRQ.TIMER, 0);
  pv.hc.setPeriodicTimer(0, 10e6);
  const devPort = pv.hc.evtchn.bindIpi(0);
  pv.hc.platform.attachEventSource(devPort, 1000);
  const hvm = guest(a.hv, 2, { type: 'hvm' });
  let lapicTicks = 0;
  hvm.hc.platform.startLapicTimer(0, 4e6, () => lapicTicks++);
  a.clock.advance(1.505e9);
  t.is(pv.hc.platform.eventSourceTake(devPort), 1505);
  a.clock.advance(0.002e9);
  const saved = [a.hv.saveDomain(1), a.hv.saveDomain(2)];
  t.deepEqual(saved[0]!.timers.vcpu, [{ vcpu: 0, periodNs: 10e6, phase: { elapsedNs: 1.507e9, fired: 150 } }]);
  t.like(saved[0]!.timers.sources[0], { port: devPort, perSecond: 1000, posted: 2, total: 1507 });
  const lapicBefore = lapicTicks;
  t.is(lapicBefore, 376);

  const b = host();
  b.clock.advance(42e9); // another clock, at another time
  let lapicAfter = 0;
  b.hv.loadDomains(saved.map(cloned), { lapicIsr: (domid) => (domid === 2 ? () => lapicAfter++ : () => t.fail('domain 1 is PV')) });
  const [s1, s2] = [b.hv.saveDomain(1), b.hv.saveDomain(2)];
  t.deepEqual([s1, s2], saved, 'nothing moved in the load');
  const l1 = b.hv.get(1);
  const raisesBefore = l1.evtchn!.counters.raises;
  b.clock.advance(0.493e9);
  // 2 s in all at 100 Hz: ticks 151..200; the device reaches 2000 events.
  t.is(l1.timers!.save().vcpu[0]!.phase.fired, 200);
  t.true(l1.evtchn!.shared.testPending(timerPort));
  t.is(new Hypercalls(b.hv, 1).platform.eventSourceTake(devPort), 2 + 493);
  t.true(l1.evtchn!.counters.raises > raisesBefore);
  t.is(lapicBefore + lapicAfter, 500, 'LAPIC: 2 s at 250 Hz, none lost or repeated');
  // Without the guest's ISR, LAPIC timers stay disarmed.
  const c = host();
  c.hv.loadDomains([cloned(saved[1]!)]);
  t.deepEqual(c.hv.get(2).timers!.save().lapic, []);
});
