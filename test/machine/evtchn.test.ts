import test from 'ava';
import { VcpuInfoView } from '../../src/abi/index.js';
import { VirtualClock } from '../../src/hypervisor/clock.js';
import { defaultHostModel } from '../../src/hypervisor/host-model.js';
import { Hypercalls } from '../../src/hypervisor/hypercalls.js';
import { Hypervisor } from '../../src/hypervisor/hypervisor.js';
import { EvtchnDispatch } from '../../src/kernel/intr/evtchn-dispatch.js';

function setup(vcpus = 2) {
  const clock = new VirtualClock();
  const hv = new Hypervisor(defaultHostModel({ pcpus: 4, totalMemoryMiB: 8192 }), clock);
  const kicks: Array<[number, number]> = [];
  const mk = (name: string, domid: number) => {
    const d = hv.createDomain({ domid, name, uuid: `00000000-0000-0000-0000-00000000000${domid}`, type: 'pv', memoryKiB: 65536, maxMemKiB: 65536, maxVcpus: vcpus, onlineVcpus: vcpus });
    hv.unpause(domid);
    hv.setUpcallHandler(domid, (v) => kicks.push([domid, v]));
    return { d, hc: new Hypercalls(hv, domid) };
  };
  return { clock, hv, kicks, a: mk('a', 1), b: mk('b', 2) };
}

test('a raise sets pending, then the word\'s selector bit, then the upcall flag, and kicks the vCPU once', (t) => {
  const { clock, kicks, a, b } = setup();
  const port = a.hc.evtchn.allocUnbound(2);
  const peer = b.hc.evtchn.bindInterdomain(1, port);
  clock.drain();
  kicks.length = 0;
  const shared = a.hc.evtchn.shared;
  const info = a.hc.evtchn.vcpuInfo(0)!;
  info.evtchnUpcallPending = 0;
  info.exchangeSel();
  shared.clearPending(port);
  b.hc.evtchn.send(peer);
  t.true(shared.testPending(port));
  t.true(info.testSel(port >> 6));
  t.is(info.evtchnUpcallPending, 1);
  b.hc.evtchn.send(peer); // already pending: nothing more
  clock.drain();
  t.deepEqual(kicks, [[1, 0]]);
});

test('a masked port stays pending without an upcall; unmask raises it then', (t) => {
  const { clock, kicks, a, b } = setup();
  const port = a.hc.evtchn.allocUnbound(2);
  const peer = b.hc.evtchn.bindInterdomain(1, port);
  const shared = a.hc.evtchn.shared;
  const info = a.hc.evtchn.vcpuInfo(0)!;
  clock.drain();
  shared.clearPending(port);
  info.evtchnUpcallPending = 0;
  info.exchangeSel();
  kicks.length = 0;
  shared.testAndSetMask(port);
  b.hc.evtchn.send(peer);
  t.true(shared.testPending(port));
  t.false(info.testSel(port >> 6));
  t.is(info.evtchnUpcallPending, 0);
  clock.drain();
  t.deepEqual(kicks, []);
  a.hc.evtchn.unmask(port);
  t.true(info.testSel(port >> 6));
  t.is(info.evtchnUpcallPending, 1);
  clock.drain();
  t.deepEqual(kicks, [[1, 0]]);
});

test('port rules: port 0 is never handed out, closed ports cannot send, only the named peer may bind', (t) => {
  const { a, b, hv } = setup();
  const c = { hc: new Hypercalls(hv, 0) };
  hv.createDomain({ domid: 0, name: 'Domain-0', uuid: '00000000-0000-0000-0000-000000000000', type: 'pv', memoryKiB: 65536, maxMemKiB: 65536, maxVcpus: 1, onlineVcpus: 1 });
  const port = a.hc.evtchn.allocUnbound(2);
  t.true(port > 0);
  t.throws(() => c.hc.evtchn.bindInterdomain(1, port), { message: /not open to domain 0/ });
  const peer = b.hc.evtchn.bindInterdomain(1, port);
  t.is(a.hc.evtchn.channel(port).state, 'interdomain');
  b.hc.evtchn.close(peer);
  // The surviving end is unbound again, open to the closer, and sending on it is a no-op.
  t.is(a.hc.evtchn.channel(port).state, 'unbound');
  t.is(a.hc.evtchn.channel(port).remoteDomid, 2);
  a.hc.evtchn.send(port);
  t.throws(() => b.hc.evtchn.send(peer), { message: /not bound/ });
  t.throws(() => a.hc.evtchn.send(0), { message: /not bound/ });
});

test('a domain has the ports max_event_channels allows, then ENOSPC', (t) => {
  const clock = new VirtualClock();
  const hv = new Hypervisor(defaultHostModel({ pcpus: 1, totalMemoryMiB: 1024 }), clock);
  hv.createDomain({ domid: 1, name: 'small', uuid: '00000000-0000-0000-0000-000000000001', type: 'pv', memoryKiB: 4096, maxMemKiB: 4096, maxVcpus: 1, onlineVcpus: 1, maxEventChannels: 8 });
  const hc = new Hypercalls(hv, 1);
  const ports = Array.from({ length: 8 }, () => hc.evtchn.allocUnbound(0));
  t.deepEqual(ports, [1, 2, 3, 4, 5, 6, 7, 8]);
  t.throws(() => hc.evtchn.allocUnbound(0), { message: /no free event channel/ });
});

test('vCPUs beyond 32 take events only after registering a vcpu_info, and then on their own vCPU (40 of 64)', (t) => {
  const { clock, kicks, a, b } = setup(64);
  t.is(a.hc.evtchn.vcpuInfo(40), null);
  t.throws(() => a.hc.registerVcpuInfo(40, 100, 12), { message: /bad vcpu_info offset/ });
  a.hc.registerVcpuInfo(40, 100, 64 * 3);
  t.throws(() => a.hc.registerVcpuInfo(40, 100, 0), { message: /already registered/ });
  const info40 = a.hc.evtchn.vcpuInfo(40)!;
  // Registration leaves every selector bit and the upcall flag set, so the guest rescans.
  t.is(info40.evtchnUpcallPending, 1);
  t.is(info40.exchangeSel(), 0xffffffffffffffffn);
  info40.evtchnUpcallPending = 0;
  // The struct lives in the guest's own frame, at the registered offset.
  t.is(new VcpuInfoView(a.d.memory.page(100), 64 * 3).evtchnUpcallPending, 0);

  const dispatch = new EvtchnDispatch(a.hc.evtchn.shared, (v) => a.hc.evtchn.vcpuInfo(v), 64);
  const port = a.hc.evtchn.allocUnbound(2);
  const peer = b.hc.evtchn.bindInterdomain(1, port);
  a.hc.evtchn.bindVcpu(port, 40);
  const served: number[] = [];
  dispatch.bind(port, 40, (_p, vcpu) => served.push(vcpu));
  a.hc.evtchn.shared.clearPending(port);
  clock.drain();
  kicks.length = 0;
  b.hc.evtchn.send(peer);
  clock.drain();
  t.deepEqual(kicks, [[1, 40]]);
  t.is(new VcpuInfoView(a.d.memory.page(100), 64 * 3).evtchnUpcallPending, 1, 'flagged in the guest frame');
  dispatch.upcall(40);
  t.deepEqual(served, [40]);
});

test('the upcall scan is fair: a port that fires again at once waits for the others', (t) => {
  const { a } = setup();
  const shared = a.hc.evtchn.shared;
  const info = a.hc.evtchn.vcpuInfo(0)!;
  const dispatch = new EvtchnDispatch(shared, (v) => a.hc.evtchn.vcpuInfo(v), 2);
  const order: number[] = [];
  const busy = a.hc.evtchn.bindIpi(0);
  const quiet = [a.hc.evtchn.bindIpi(0), a.hc.evtchn.bindIpi(0)];
  for (const p of [busy, ...quiet]) a.hc.evtchn.unmask(p);
  let floods = 0;
  dispatch.bind(busy, 0, (p) => {
    order.push(p);
    // A flooding source: it is raised again every time it is served.
    if (++floods < 5) a.hc.evtchn.send(busy);
  });
  for (const q of quiet) dispatch.bind(q, 0, (p) => order.push(p));
  info.evtchnUpcallPending = 0;
  info.exchangeSel();
  a.hc.evtchn.send(busy);
  for (const q of quiet) a.hc.evtchn.send(q);
  dispatch.upcall(0);
  // Each quiet port is served before the busy one gets its second turn.
  t.deepEqual(order.slice(0, 3).sort(), [busy, ...quiet].sort());
  t.is(order.filter((p) => p === busy).length, 5);
  t.true(quiet.every((q) => order.indexOf(q) < order.indexOf(busy, order.indexOf(busy) + 1)));
});
