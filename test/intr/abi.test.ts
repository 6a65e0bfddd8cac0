import test from 'ava';
import { DOMID, HVM_PARAM, VIRQ } from '../../src/abi/index.js';
import { HypervisorError } from '../../src/hypervisor/hypervisor.js';
import { bareHypervisor, callbackParam, domain } from './helpers.js';

// Xen's event channel rules, checked on the bits of shared_info and vcpu_info
// themselves (xen/common/event_channel.c and event_2l.c, Xen 4.17).

/** A recording upcall handler for a domain. */
function recorder(hv: ReturnType<typeof bareHypervisor>['hv'], domid: number) {
  const upcalls: number[] = [];
  hv.setUpcallHandler(domid, (v) => upcalls.push(v));
  return upcalls;
}

function clearFlags(hc: ReturnType<typeof domain>['hc'], vcpu = 0) {
  const info = hc.evtchn.vcpuInfo(vcpu)!;
  info.evtchnUpcallPending = 0;
  info.exchangeSel();
}

const code = (e: unknown) => (e as HypervisorError).code;

test('a second send to a pending port is absorbed: no selector change, no second kick', (t) => {
  const { clock, hv } = bareHypervisor();
  const a = domain(hv, 1);
  const b = domain(hv, 2);
  const ups = recorder(hv, 1);
  const port = a.hc.evtchn.allocUnbound(2);
  const peer = b.hc.evtchnBindInterdomain(1, port);
  a.hc.evtchn.unmask(port);
  clock.drain();
  clearFlags(a.hc);
  a.hc.evtchn.shared.clearPending(port);
  ups.length = 0;
  const before = { ...a.d.evtchn!.counters };
  b.hc.evtchn.send(peer);
  b.hc.evtchn.send(peer);
  t.is(a.d.evtchn!.counters.raises - before.raises, 2);
  t.is(a.d.evtchn!.counters.coalesced - before.coalesced, 1);
  t.is(a.d.evtchn!.counters.kicks - before.kicks, 1);
  t.deepEqual(ups, [], 'the upcall is deferred: it never runs inside the sending hypercall');
  clock.drain();
  t.deepEqual(ups, [0]);
});

test('a masked port stays pending with no selector bit; unmask of a port that is not pending raises nothing', (t) => {
  const { clock, hv } = bareHypervisor();
  const a = domain(hv, 1);
  const ups = recorder(hv, 1);
  const ipi = a.hc.evtchn.bindIpi(0);
  const shared = a.hc.evtchn.shared;
  const info = a.hc.evtchn.vcpuInfo(0)!;
  shared.testAndSetMask(ipi);
  a.hc.evtchn.send(ipi);
  t.true(shared.testPending(ipi));
  t.false(info.testSel(ipi >> 6));
  t.is(info.evtchnUpcallPending, 0);
  clock.drain();
  t.deepEqual(ups, []);
  // Unmask re-raises it: selector, flag, kick.
  a.hc.evtchn.unmask(ipi);
  t.true(info.testSel(ipi >> 6));
  t.is(info.evtchnUpcallPending, 1);
  clock.drain();
  t.deepEqual(ups, [0]);
  // Consumed by the guest; masking and unmasking again delivers nothing more.
  shared.clearPending(ipi);
  clearFlags(a.hc);
  shared.testAndSetMask(ipi);
  a.hc.evtchn.unmask(ipi);
  t.is(info.evtchnUpcallPending, 0);
  clock.drain();
  t.deepEqual(ups, [0]);
});

test('sends: to a closed or never-bound port EINVAL, on a VIRQ port EINVAL, on an unbound port silently dropped', (t) => {
  const { clock, hv } = bareHypervisor();
  const a = domain(hv, 1);
  domain(hv, 2);
  const ups = recorder(hv, 1);
  const unbound = a.hc.evtchn.allocUnbound(2);
  a.hc.evtchn.unmask(unbound);
  a.hc.evtchn.send(unbound);
  t.false(a.hc.evtchn.shared.testPending(unbound), 'nobody is listening: dropped');
  clock.drain();
  t.deepEqual(ups, []);
  const virq = a.hc.evtchn.bindVirq(VIRQ.TIMER, 0);
  t.is(code(t.throws(() => a.hc.evtchn.send(virq))), 'EINVAL');
  a.hc.evtchn.close(unbound);
  t.is(code(t.throws(() => a.hc.evtchn.send(unbound), { message: /not bound/ })), 'EINVAL');
  t.is(code(t.throws(() => a.hc.evtchn.send(0))), 'EINVAL');
  t.is(code(t.throws(() => a.hc.evtchn.send(4000))), 'EINVAL');
  t.is(code(t.throws(() => a.hc.evtchn.close(unbound))), 'EINVAL', 'closing twice');
});

test('closing one end leaves the other unbound, open to the closer, and the closer can connect again', (t) => {
  const { clock, hv } = bareHypervisor();
  const a = domain(hv, 1);
  const b = domain(hv, 2);
  recorder(hv, 1);
  const port = a.hc.evtchn.allocUnbound(2);
  const peer = b.hc.evtchnBindInterdomain(1, port);
  t.deepEqual(a.hc.evtchnStatus(DOMID.SELF, port), { status: 'interdomain', vcpu: 0, remoteDomid: 2, remotePort: peer });
  b.hc.evtchn.close(peer);
  t.deepEqual(a.hc.evtchnStatus(DOMID.SELF, port), { status: 'unbound', vcpu: 0, remoteDomid: 2 });
  t.deepEqual(b.hc.evtchnStatus(DOMID.SELF, peer), { status: 'closed', vcpu: 0 });
  const again = b.hc.evtchnBindInterdomain(1, port);
  t.is(a.hc.evtchn.channel(port).remotePort, again);
  // Xen raises the new local port at bind time, in case the peer signalled meanwhile.
  t.true(b.hc.evtchn.shared.testPending(again));
  clock.drain();
});

test("errno: ESRCH for missing domains, EINVAL for ports not offered or taken, EPERM for another domain's table", (t) => {
  const { hv } = bareHypervisor();
  const a = domain(hv, 1);
  const b = domain(hv, 2);
  const c = domain(hv, 3);
  t.is(code(t.throws(() => a.hc.evtchnAllocUnbound(99, 2))), 'ESRCH');
  t.is(code(t.throws(() => a.hc.evtchnBindInterdomain(99, 1))), 'ESRCH');
  const forB = a.hc.evtchn.allocUnbound(2);
  // Offered to domain 2: domain 3 may not take it. Xen says EINVAL, not EPERM.
  t.is(code(t.throws(() => c.hc.evtchnBindInterdomain(1, forB), { message: /not open to domain 3/ })), 'EINVAL');
  b.hc.evtchnBindInterdomain(1, forB);
  t.is(code(t.throws(() => b.hc.evtchnBindInterdomain(1, forB), { message: /already connected/ })), 'EINVAL');
  t.is(code(t.throws(() => b.hc.evtchnBindInterdomain(1, 777))), 'EINVAL');
  // An unprivileged domain acts on its own table only; dom0 may act on any.
  t.is(code(t.throws(() => a.hc.evtchnAllocUnbound(2, 1))), 'EPERM');
  t.is(code(t.throws(() => a.hc.evtchnStatus(2, 1))), 'EPERM');
  const dom0 = domain(hv, 0);
  const made = dom0.hc.evtchnAllocUnbound(2, 0);
  t.deepEqual(dom0.hc.evtchnStatus(2, made), { status: 'unbound', vcpu: 0, remoteDomid: 0 });
  // Physical IRQs: xenemu passes none through.
  t.is(code(t.throws(() => a.hc.evtchnBindPirq(5))), 'EPERM');
});

test('errno: VIRQs (EINVAL, ENOENT, EEXIST), IPIs and bind_vcpu as Xen checks them', (t) => {
  const { hv } = bareHypervisor();
  const a = domain(hv, 1, { vcpus: 4, online: 2 });
  t.is(code(t.throws(() => a.hc.evtchn.bindVirq(24, 0))), 'EINVAL');
  t.is(code(t.throws(() => a.hc.evtchn.bindVirq(VIRQ.DOM_EXC, 1), { message: /global/ })), 'EINVAL');
  t.is(code(t.throws(() => a.hc.evtchn.bindVirq(VIRQ.TIMER, 9))), 'ENOENT');
  const timer3 = a.hc.evtchn.bindVirq(VIRQ.TIMER, 3);
  t.true(timer3 > 0, 'an offline vCPU may have its VIRQ bound (Xen checks existence only)');
  t.is(code(t.throws(() => a.hc.evtchn.bindVirq(VIRQ.TIMER, 3))), 'EEXIST');
  t.is(code(t.throws(() => a.hc.evtchn.bindIpi(4))), 'ENOENT');
  const ipi = a.hc.evtchn.bindIpi(1);
  const domExc = a.hc.evtchn.bindVirq(VIRQ.DOM_EXC, 0);
  const unbound = a.hc.evtchn.allocUnbound(0);
  t.is(code(t.throws(() => a.hc.evtchn.bindVcpu(ipi, 0))), 'EINVAL');
  t.is(code(t.throws(() => a.hc.evtchn.bindVcpu(timer3, 0))), 'EINVAL');
  t.is(code(t.throws(() => a.hc.evtchn.bindVcpu(unbound, 7))), 'ENOENT');
  t.is(code(t.throws(() => a.hc.evtchn.bindVcpu(999, 1))), 'EINVAL');
  a.hc.evtchn.bindVcpu(domExc, 1);
  a.hc.evtchn.bindVcpu(unbound, 1);
  t.is(a.hc.evtchnStatus(DOMID.SELF, domExc).vcpu, 1);
  // Closing the VIRQ port frees the VIRQ for binding again.
  a.hc.evtchn.close(timer3);
  t.notThrows(() => a.hc.evtchn.bindVirq(VIRQ.TIMER, 3));
});

test('a 64-bit guest has 4096 ports: 1..4095 with max_event_channels 4095, then ENOSPC; port 4095 is bit 63 of word 63', (t) => {
  const { clock, hv } = bareHypervisor();
  const a = domain(hv, 1, { maxEventChannels: 4095 });
  domain(hv, 2);
  const ups = recorder(hv, 1);
  let last = 0;
  for (let i = 0; i < 4095; i++) last = a.hc.evtchn.bindIpi(0);
  t.is(last, 4095);
  t.is(code(t.throws(() => a.hc.evtchn.allocUnbound(2))), 'ENOSPC');
  t.is(a.hc.evtchn.tableSize, 4096);
  t.is(code(t.throws(() => a.hc.evtchnStatus(DOMID.SELF, 4096))), 'EINVAL');
  a.hc.evtchn.send(4095);
  const shared = a.hc.evtchn.shared;
  t.is(shared.pendingWord(63), 1n << 63n);
  t.true(a.hc.evtchn.vcpuInfo(0)!.testSel(63));
  clock.drain();
  t.deepEqual(ups, [0]);
});

test('the port table grows by buckets: status answers "closed" inside it and EINVAL beyond, as lsevtchn relies on', (t) => {
  const { hv } = bareHypervisor();
  const a = domain(hv, 1);
  t.is(a.hc.evtchn.tableSize, 64);
  t.deepEqual(a.hc.evtchnStatus(DOMID.SELF, 0), { status: 'closed', vcpu: 0 }, 'port 0 is reserved');
  t.deepEqual(a.hc.evtchnStatus(DOMID.SELF, 63), { status: 'closed', vcpu: 0 });
  t.is(code(t.throws(() => a.hc.evtchnStatus(DOMID.SELF, 64))), 'EINVAL');
  for (let i = 0; i < 64; i++) a.hc.evtchn.bindIpi(0);
  t.is(a.hc.evtchn.tableSize, 128);
});

test('bind_vcpu: later events set the selector and flag of the new vCPU', (t) => {
  const { clock, hv } = bareHypervisor();
  const a = domain(hv, 1, { vcpus: 4 });
  const b = domain(hv, 2);
  const ups = recorder(hv, 1);
  const port = a.hc.evtchn.allocUnbound(2);
  const peer = b.hc.evtchnBindInterdomain(1, port);
  a.hc.evtchn.unmask(port);
  clock.drain();
  a.hc.evtchn.shared.clearPending(port);
  for (let v = 0; v < 4; v++) clearFlags(a.hc, v);
  ups.length = 0;
  a.hc.evtchn.bindVcpu(port, 3);
  b.hc.evtchn.send(peer);
  t.false(a.hc.evtchn.vcpuInfo(0)!.testSel(port >> 6));
  t.true(a.hc.evtchn.vcpuInfo(3)!.testSel(port >> 6));
  t.is(a.hc.evtchn.vcpuInfo(3)!.evtchnUpcallPending, 1);
  clock.drain();
  t.deepEqual(ups, [3]);
});

test('HVM callbacks: nothing before HVM_PARAM_CALLBACK_IRQ, per-vCPU with the vector, only vCPU 0 with PCI INTx', (t) => {
  const { clock, hv } = bareHypervisor();
  const a = domain(hv, 1, { vcpus: 4, type: 'hvm' });
  const ups = recorder(hv, 1);
  const ipis = [0, 1, 2, 3].map((v) => a.hc.evtchn.bindIpi(v));
  for (const p of ipis) a.hc.evtchn.unmask(p);
  const fire = (v: number) => {
    a.hc.evtchn.shared.clearPending(ipis[v]!);
    clearFlags(a.hc, v);
    a.hc.evtchn.send(ipis[v]!);
    clock.drain();
  };
  t.deepEqual(hv.callbackVia(1), { kind: 'none' });
  fire(2);
  t.deepEqual(ups, [], 'no callback registered: the event waits in the bits');
  a.hc.setHvmParam(HVM_PARAM.CALLBACK_IRQ, callbackParam('vector'));
  clock.drain();
  t.deepEqual(ups, [2], 'setting the callback delivers what was waiting');
  t.deepEqual(hv.callbackVia(1), { kind: 'vector', vector: 0x93 });
  ups.length = 0;
  fire(1);
  fire(3);
  t.deepEqual(ups, [1, 3]);
  a.hc.setHvmParam(HVM_PARAM.CALLBACK_IRQ, callbackParam('pci-intx'));
  t.deepEqual(hv.callbackVia(1), { kind: 'pci-intx', slot: 3, pin: 0 });
  ups.length = 0;
  fire(3);
  t.deepEqual(ups, [], "vCPU 3's flag does not assert the INTx line");
  t.is(a.hc.evtchn.vcpuInfo(3)!.evtchnUpcallPending, 1, 'the flag is set all the same');
  fire(0);
  t.deepEqual(ups, [0]);
  t.is(hv.deliveryCounters(1).intxAssertions, 1);
  // A PV domain has no HVM callback; a PVH domain has no PCI bus.
  const pv = domain(hv, 2);
  t.is(code(t.throws(() => pv.hc.setHvmParam(HVM_PARAM.CALLBACK_IRQ, callbackParam('vector')))), 'EINVAL');
  const pvh = domain(hv, 3, { type: 'pvh' });
  t.is(code(t.throws(() => pvh.hc.setHvmParam(HVM_PARAM.CALLBACK_IRQ, callbackParam('pci-intx')))), 'EINVAL');
});

test('a paused domain takes no upcalls until it is unpaused; an offline vCPU none until it is up', (t) => {
  const { clock, hv } = bareHypervisor();
  const a = domain(hv, 1, { vcpus: 2, online: 1 });
  const ups = recorder(hv, 1);
  const ipi0 = a.hc.evtchn.bindIpi(0);
  const ipi1 = a.hc.evtchn.bindIpi(1);
  a.hc.evtchn.unmask(ipi0);
  a.hc.evtchn.unmask(ipi1);
  hv.pause(1);
  a.hc.evtchn.send(ipi0);
  clock.drain();
  t.deepEqual(ups, []);
  hv.unpause(1);
  clock.drain();
  t.deepEqual(ups, [0]);
  clearFlags(a.hc, 0);
  a.hc.evtchn.send(ipi1);
  clock.drain();
  t.deepEqual(ups, [0], 'vCPU 1 is down');
  a.hc.vcpuUp(1);
  clock.drain();
  t.deepEqual(ups, [0, 1]);
});

test('dom0 hears of domain deaths on VIRQ_DOM_EXC and of console output on VIRQ_CON_RING', (t) => {
  const { clock, hv } = bareHypervisor();
  const dom0 = domain(hv, 0);
  const ups = recorder(hv, 0);
  const domExc = dom0.hc.evtchn.bindVirq(VIRQ.DOM_EXC, 0);
  const conRing = dom0.hc.evtchn.bindVirq(VIRQ.CON_RING, 0);
  dom0.hc.evtchn.unmask(domExc);
  const guest = domain(hv, 5);
  hv.shutdown(5, 'poweroff');
  t.true(dom0.hc.evtchn.shared.testPending(domExc));
  t.true(dom0.hc.evtchn.shared.testPending(conRing), 'the "shut down" line went to Xen\'s console ring');
  clock.drain();
  t.deepEqual(ups, [0]);
  dom0.hc.evtchn.shared.clearPending(domExc);
  hv.destroy(5);
  t.true(dom0.hc.evtchn.shared.testPending(domExc));
  t.is(guest.d.dying, true);
});
