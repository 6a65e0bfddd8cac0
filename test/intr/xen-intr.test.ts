import test from 'ava';
import { VIRQ } from '../../src/abi/index.js';
import { IntrError } from '../../src/kernel/intr/errors.js';
import type { XenIntr, XenIntrSource } from '../../src/kernel/intr/xen-intr.js';
import { bareHypervisor, domain, guestIntr } from './helpers.js';

// The guest's interrupt layer on the real bits: dispatch, fairness, placement,
// filter/ithread mechanics, masking rules, rebinding, statistics and modelled costs.

/** A guest (domain 1) with its interrupt layer, and a peer (domain 2) that sends. */
function setup(opts: { vcpus?: number; online?: number; mode?: 'pv' | 'vector' | 'pci-intx'; errors?: string[] } = {}) {
  const { clock, hv } = bareHypervisor();
  const mode = opts.mode ?? 'pv';
  const guest = domain(hv, 1, { vcpus: opts.vcpus ?? 4, ...(opts.online !== undefined ? { online: opts.online } : {}), type: mode === 'pv' ? 'pv' : 'hvm' });
  const peer = domain(hv, 2);
  const intr = guestIntr(hv, clock, guest.hc, opts.vcpus ?? 4, mode, undefined, (src, err) => opts.errors?.push(`${src.name}: ${(err as Error).message}`));
  /** A device port in the guest, connected to the peer; returns the source and a send function. */
  const device = (name: string, handlers: Parameters<XenIntr['bindRemotePort']>[3], cpu: number | null = null) => {
    const peerPort = peer.hc.evtchn.allocUnbound(1);
    const src = intr.bindRemotePort(name, 2, peerPort, handlers, cpu);
    clock.drain(); // the bind-time raise
    return { src, send: () => peer.hc.evtchn.send(peerPort) };
  };
  return { clock, hv, guest, peer, intr, device };
}

const total = (src: XenIntrSource, nr = 4) => src.row(nr, src.type).total;
const perCpu = (src: XenIntrSource, nr = 4) => src.row(nr, src.type).perCpu;

test('fairness: a port that refires from its own handler does not starve a quiet one', (t) => {
  const { clock, device } = setup({ vcpus: 1 });
  const order: string[] = [];
  let floods = 0;
  let refire = () => {};
  const busy = device('busy0', {
    filter: () => {
      order.push('busy');
      // A flooding device: every time it is served it has more to say.
      if (++floods < 200) refire();
      return 'handled';
    },
  }, 0);
  refire = busy.send;
  const quiet = device('quiet0', { filter: () => (order.push('quiet'), 'handled') }, 0);
  const quiet2 = device('quiet1', { filter: () => (order.push('quiet2'), 'handled') }, 0);
  order.length = 0;
  floods = 0;
  busy.send();
  quiet.send();
  quiet2.send();
  clock.drain();
  // Each quiet port is served before the busy one's second turn.
  const second = order.indexOf('busy', order.indexOf('busy') + 1);
  t.true(order.indexOf('quiet') < second && order.indexOf('quiet2') < second);
  t.is(total(busy.src, 1), 200 + 1, '+1: the bind-time raise');
  // The flood keeps going while the quiet port fires again: it is still served at once.
  floods = 0;
  order.length = 0;
  busy.send();
  clock.drain();
  quiet.send();
  t.is(total(quiet.src, 1), 2);
  clock.drain();
  t.is(total(quiet.src, 1), 3);
});

test('a flood yields the vCPU after a bounded number of rounds and the hypervisor re-delivers the rest', (t) => {
  const { clock, hv, intr, device } = setup({ vcpus: 1 });
  let floods = 0;
  let refire = () => {};
  const busy = device('busy0', {
    filter: () => {
      if (++floods < 10_000) refire();
      return 'handled';
    },
  }, 0);
  refire = busy.send;
  const before = hv.deliveryCounters(1).injected[0]!;
  floods = 0;
  busy.send();
  clock.drain();
  t.is(floods, 10_000);
  t.true(hv.deliveryCounters(1).injected[0]! - before > 10_000 / 64, 'the upcall returned and was delivered again many times');
  t.is(intr.upcalls[0]!.count, hv.deliveryCounters(1).injected[0]!, 'cpu0:xen counts every upcall');
});

test('distribution: 12 ports over 4 online vCPUs are spread 3 each, round robin; offline vCPUs get none', (t) => {
  const spread = (online: number) => {
    const { device } = setup({ vcpus: 4, online });
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 12; i++) counts[device(`xn${i}`, { filter: () => 'handled' }).src.cpu]!++;
    return counts;
  };
  t.deepEqual(spread(4), [3, 3, 3, 3]);
  t.deepEqual(spread(2), [6, 6, 0, 0]);
  // And Xen agrees: each port notifies the vCPU the guest placed it on.
  const { device, guest } = setup({ vcpus: 4 });
  for (let i = 0; i < 8; i++) {
    const { src } = device(`xn${i}`, { filter: () => 'handled' });
    t.is(guest.hc.evtchn.channel(src.port).vcpu, src.cpu);
  }
});

test('events are dispatched on the vCPU the port is bound to, and counted there', (t) => {
  const { clock, intr, device } = setup({ vcpus: 4 });
  const seen: number[] = [];
  const xn = device('xn0', { filter: (_s, v) => (seen.push(v), 'handled') }, 2);
  for (let i = 0; i < 5; i++) {
    xn.send();
    clock.drain();
  }
  t.deepEqual(seen, [2, 2, 2, 2, 2, 2], 'the bind-time raise, then five');
  t.deepEqual(perCpu(xn.src), [0, 0, 6, 0]);
  t.true(intr.upcalls[2]!.count >= 5);
});

test('filter verdicts: handled runs no thread; schedule-thread runs the thread later, never inline', (t) => {
  const { clock, intr, device } = setup({ vcpus: 1 });
  const log: string[] = [];
  const filtered = device('f0', { filter: () => (log.push('filter f0'), 'handled'), ithread: () => log.push('thread f0') }, 0);
  const threaded = device('t0', { filter: () => (log.push('filter t0'), 'schedule-thread'), ithread: () => log.push('thread t0') }, 0);
  const threadOnly = device('o0', { ithread: () => log.push('thread o0') }, 0);
  log.length = 0;
  filtered.send();
  threaded.send();
  threadOnly.send();
  // vCPU 0 takes its upcall right now: the filters run in it, the threads do not.
  intr.handleUpcall(0);
  t.deepEqual(log, ['filter f0', 'filter t0']);
  clock.drain();
  t.deepEqual(log, ['filter f0', 'filter t0', 'thread t0', 'thread o0']);
  t.is(threaded.src.row(1, 'port').ithreadRuns, 2, 'one from the bind-time raise, one now');
  t.is(filtered.src.row(1, 'port').ithreadRuns, 0);
});

test('an interrupt thread asked for twice before it runs runs once (it_need)', (t) => {
  const { clock, intr, device } = setup({ vcpus: 1 });
  let runs = 0;
  const dev = device('t0', { filter: () => 'schedule-thread', ithread: () => runs++ }, 0);
  runs = 0;
  dev.send();
  intr.handleUpcall(0);
  dev.send();
  intr.handleUpcall(0);
  t.is(runs, 0);
  clock.drain();
  t.is(runs, 1);
  const row = dev.src.row(1, 'port');
  t.is(row.dispatches, 3, 'the bind-time raise and two notifications');
  t.is(row.ithreadRuns, 2);
});

test('VIRQs and IPIs are masked while they are handled and unmasked after; ordinary ports never', (t) => {
  const { clock, guest, intr, device } = setup({ vcpus: 2 });
  const shared = guest.hc.evtchn.shared;
  const seen: Record<string, boolean[]> = { virq: [], ipi: [], threadedFilter: [], threadedThread: [], port: [] };
  const virq = intr.bindVirq('cpu1:timer', VIRQ.TIMER, 1, { filter: (s) => (seen.virq!.push(shared.isMasked(s.port)), 'handled') });
  const ipi = intr.allocAndBindIpi(0, 'r', (s) => (seen.ipi!.push(shared.isMasked(s.port)), 'handled'));
  // A VIRQ handled by filter and thread stays masked until its thread has run.
  let threadedAfterUpcall = false;
  const threaded = intr.bindVirq('cpu0:debug', VIRQ.DEBUG, 0, {
    filter: (s) => (seen.threadedFilter!.push(shared.isMasked(s.port)), 'schedule-thread'),
    ithread: (s) => seen.threadedThread!.push(shared.isMasked(s.port)),
  });
  const port = device('xn0', {
    filter: (s) => (seen.port!.push(shared.isMasked(s.port)), 'schedule-thread'),
    ithread: (s) => seen.port!.push(shared.isMasked(s.port)),
  }, 1);
  clock.drain();
  seen.port!.length = 0;
  guest.d.evtchn!.raiseVirq(VIRQ.TIMER, 1);
  intr.signal(ipi);
  guest.d.evtchn!.raiseVirq(VIRQ.DEBUG, 0);
  port.send();
  intr.handleUpcall(0);
  threadedAfterUpcall = shared.isMasked(threaded.port);
  clock.drain();
  t.deepEqual(seen.virq, [true]);
  t.deepEqual(seen.ipi, [true]);
  t.deepEqual(seen.threadedFilter, [true]);
  t.true(threadedAfterUpcall, 'still masked between the filter and its thread');
  t.deepEqual(seen.threadedThread, [true]);
  t.deepEqual(seen.port, [false, false], 'the layer never masks an ordinary port');
  for (const p of [virq.port, ipi.port, threaded.port, port.src.port]) t.false(shared.isMasked(p));
  // An event that comes while the VIRQ is masked is not lost: the unmask re-raises it.
  let refire = true;
  const again = intr.bindVirq('cpu1:debug', VIRQ.DEBUG, 1, {
    filter: () => {
      if (refire) guest.d.evtchn!.raiseVirq(VIRQ.DEBUG, 1);
      refire = false;
      return 'handled';
    },
  });
  guest.d.evtchn!.raiseVirq(VIRQ.DEBUG, 1);
  clock.drain();
  t.is(total(again, 2), 2);
});

test('a driver that masks its own source keeps it masked after handling, until it unmasks it (xi_masked)', (t) => {
  const { clock, guest, intr } = setup({ vcpus: 1 });
  const shared = guest.hc.evtchn.shared;
  const src = intr.bindVirq('dev0', VIRQ.DOM_EXC, 0, {
    filter: (s) => {
      intr.maskPort(s.port);
      return 'handled';
    },
  });
  guest.d.evtchn!.raiseVirq(VIRQ.DOM_EXC, 0);
  clock.drain();
  t.is(total(src, 1), 1);
  t.true(shared.isMasked(src.port), 'the layer did not undo the driver\'s mask');
  guest.d.evtchn!.raiseVirq(VIRQ.DOM_EXC, 0);
  clock.drain();
  t.is(total(src, 1), 1, 'masked: it waits');
  intr.unmaskPort(src.port);
  clock.drain();
  t.is(total(src, 1), 2, 'unmasking delivers what waited');
});

test('rebinding moves ownership, the counts that follow, and an event pending meanwhile', (t) => {
  const { clock, guest, intr, device } = setup({ vcpus: 4 });
  const seen: number[] = [];
  const xn = device('xn0', { filter: (_s, v) => (seen.push(v), 'handled') }, 1);
  xn.send();
  clock.drain();
  t.deepEqual(perCpu(xn.src), [0, 2, 0, 0]);
  // An event arrives, then the source moves before the vCPU got to it.
  xn.send();
  t.is(intr.rebindSource(xn.src, 3), 1);
  clock.drain();
  t.is(guest.hc.evtchn.channel(xn.src.port).vcpu, 3, 'Xen was told (EVTCHNOP_bind_vcpu)');
  t.is(intr.vcpuOf(xn.src.port), 3, 'the per-vCPU maps follow');
  t.is(seen.at(-1), 3, 'the pending event was delivered on the new vCPU');
  xn.send();
  clock.drain();
  t.deepEqual(perCpu(xn.src), [0, 2, 0, 2], 'the old counts stay where they were taken');
  t.is(intr.findSource('xn0'), xn.src);
  t.is(intr.findSource(`irq${xn.src.irq}`), xn.src);
  t.is(intr.findSource(String(xn.src.irq)), xn.src);
  t.is(intr.findSource(`port:${xn.src.port}`), xn.src);
});

test('rebinding refuses per-vCPU VIRQs and IPIs, offline and missing vCPUs (EINVAL), and anything with INTx (EOPNOTSUPP)', (t) => {
  const { intr, device } = setup({ vcpus: 4, online: 3 });
  const timer = intr.bindVirq('cpu1:timer', VIRQ.TIMER, 1, { filter: () => 'handled' });
  const ipi = intr.allocAndBindIpi(2, 'r', () => 'handled');
  const xn = device('xn0', { filter: () => 'handled' });
  const codeOf = (f: () => unknown) => (t.throws(f) as IntrError).code;
  t.is(codeOf(() => intr.rebindSource(timer, 0)), 'EINVAL');
  t.is(codeOf(() => intr.rebindSource(ipi, 0)), 'EINVAL');
  t.is(codeOf(() => intr.rebindSource(xn.src, 3)), 'EINVAL', 'vCPU 3 is offline');
  t.is(codeOf(() => intr.rebindSource(xn.src, 9)), 'EINVAL');
  t.is(codeOf(() => intr.findSource('nope0')), 'ENOENT');
  const intx = setup({ vcpus: 4, mode: 'pci-intx' });
  const dev = intx.device('xn0', { filter: () => 'handled' });
  t.is(dev.src.cpu, 0, 'with INTx every port stays on vCPU 0');
  t.is((t.throws(() => intx.intr.rebindSource(dev.src, 1)) as IntrError).code, 'EOPNOTSUPP');
  // A global VIRQ may move (Xen allows bind_vcpu for it).
  const domExc = intr.bindVirq('evtchn0', VIRQ.DOM_EXC, 0, { filter: () => 'handled' });
  t.is(intr.rebindSource(domExc, 2), 0);
  t.is(domExc.cpu, 2);
});

test('a vCPU going offline hands its ports to the online ones and keeps its own VIRQs', (t) => {
  const { clock, guest, intr, device } = setup({ vcpus: 4 });
  const xn = device('xn0', { filter: () => 'handled' }, 3);
  const timer = intr.bindVirq('cpu3:timer', VIRQ.TIMER, 3, { filter: () => 'handled' });
  intr.cpuOffline(3);
  guest.hc.vcpuDown(3);
  t.not(xn.src.cpu, 3);
  t.is(timer.cpu, 3);
  xn.send();
  clock.drain();
  t.is(total(xn.src), 2);
});

test('a pending port without a handler is a stray: counted and masked', (t) => {
  const { clock, guest, intr, peer } = setup({ vcpus: 1 });
  const peerPort = peer.hc.evtchn.allocUnbound(1);
  const src = intr.bindRemotePort('null0', 2, peerPort, null);
  guest.hc.evtchn.unmask(src.port);
  clock.drain();
  t.is(src.row(1, 'port').stray, 1);
  t.true(guest.hc.evtchn.shared.isMasked(src.port));
});

test('unbinding masks, clears and closes the ports the layer opened; the interrupt number is reused', (t) => {
  const { guest, peer, intr, device } = setup({ vcpus: 2 });
  const xn = device('xn0', { filter: () => 'handled' });
  const irq = xn.src.irq;
  const port = xn.src.port;
  intr.unbindSource(xn.src);
  t.true(guest.hc.evtchn.shared.isMasked(port));
  t.is(guest.hc.evtchn.status(port).status, 'closed');
  t.is(intr.sourceOf(port), undefined);
  const peerPort = peer.hc.evtchn.allocUnbound(1);
  t.is(intr.bindRemotePort('xn1', 2, peerPort, { filter: () => 'handled' }).irq, irq);
});

test('modelled costs: the INTx path pays its APIC accesses per upcall, the vector none; threads pay a switch', (t) => {
  const run = (mode: 'vector' | 'pci-intx', handler: 'filter' | 'ithread') => {
    const s = setup({ vcpus: 1, mode });
    const dev = s.device('xn0', handler === 'filter' ? { filter: () => 'handled' } : { ithread: () => {} }, 0);
    const before = s.intr.snapshot();
    for (let i = 0; i < 10; i++) {
      dev.send();
      s.clock.drain();
    }
    const after = s.intr.snapshot();
    const upcall = (snap: typeof before) => snap.rows.find((r) => r.name === 'cpu0:xen')!;
    const src = (snap: typeof before) => snap.rows.find((r) => r.name === 'xn0')!;
    return {
      upcallModelled: upcall(after).modelledNs - upcall(before).modelledNs,
      apic: upcall(after).apicNs - upcall(before).apicNs,
      srcModelled: src(after).modelledNs - src(before).modelledNs,
      cost: after.cost,
    };
  };
  const vector = run('vector', 'filter');
  const intx = run('pci-intx', 'filter');
  const threaded = run('vector', 'ithread');
  t.is(vector.apic, 0);
  t.is(vector.upcallModelled, 10 * vector.cost.upcallNs);
  t.is(intx.apic, 10 * intx.cost.intxApicAccesses * intx.cost.apicAccessNs);
  t.is(intx.upcallModelled, 10 * (intx.cost.upcallNs + intx.cost.intxApicAccesses * intx.cost.apicAccessNs));
  t.is(vector.srcModelled, 0, 'an edge-triggered port handled in its filter costs nothing more');
  t.is(threaded.srcModelled, 10 * threaded.cost.ithreadSwitchNs);
});

test('vCPUs beyond 32 take their events after registering a vcpu_info: 64 vCPUs, a port on vCPU 40', (t) => {
  const { clock, intr, device } = setup({ vcpus: 64 });
  const seen: number[] = [];
  const dev = device('xn0', { filter: (_s, v) => (seen.push(v), 'handled') }, 40);
  dev.send();
  clock.drain();
  t.deepEqual(seen, [40, 40]);
  t.is(perCpu(dev.src, 64)[40], 2);
  t.true(intr.upcalls[40]!.count >= 2);
});

test('a handler that throws is reported and counted as a stray; the upcall goes on with the other ports', (t) => {
  const errors: string[] = [];
  const { clock, device } = setup({ vcpus: 1, errors });
  const bad = device('bad0', { filter: () => {
    throw new Error('driver bug');
  } }, 0);
  const badThread = device('bad1', { ithread: () => {
    throw new Error('thread bug');
  } }, 0);
  let good = 0;
  const ok = device('good0', { filter: () => (good++, 'handled') }, 0);
  errors.length = 0;
  good = 0;
  bad.send();
  badThread.send();
  ok.send();
  clock.drain();
  t.is(good, 1);
  t.deepEqual(errors, ['bad0: driver bug', 'bad1: thread bug']);
  t.is(bad.src.row(1, 'port').stray, 2, 'the bind-time raise and this one');
});
