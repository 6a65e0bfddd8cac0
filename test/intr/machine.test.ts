import test from 'ava';
import { VirtualClock } from '../../src/hypervisor/clock.js';
import type { XenemuError } from '../../src/common/errors.js';
import { evtchnMethods } from '../../src/host/evtchn-service.js';
import type { IntrRow } from '../../src/kernel/intr/stats.js';
import type { DomainIntrStats, EvtchnRpc, HostIntrRow } from '../../src/protocol/evtchn-rpc.js';
import { formatLsevtchn } from '../../src/ui/interrupts.js';
import { bootMachine, pumpClock, until, yamlConfig, type TestMachine } from '../helpers/machine.js';

// The interrupt layer in whole guests: boot, the callback modes, timers at hz, the
// user-space event channel device between domains, rebinding, and the RPC answers.

type Rpc = { [M in keyof EvtchnRpc]: (p: EvtchnRpc[M]['params']) => EvtchnRpc[M]['result'] };

function rpc(tm: TestMachine): Rpc {
  return evtchnMethods(tm.m) as unknown as Rpc;
}

/** The errno name an RPC method fails with. */
function errno(t: { throws: (f: () => unknown) => unknown }, f: () => unknown): string {
  return (t.throws(f) as XenemuError).code;
}

const row = (s: DomainIntrStats, name: string): IntrRow => {
  const r = s.rows.find((x) => x.name === name);
  if (r === undefined) throw new Error(`no row ${name} in ${s.rows.map((x) => x.name).join(', ')}`);
  return r;
};

async function running(tm: TestMachine, domid: number): Promise<void> {
  await until(() => tm.m.toolstack.kernel(domid)?.state === 'running', `domain ${domid} running`);
}


test('a 64-vCPU guest boots and takes events on vCPU 40', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  await tm.m.toolstack.create(yamlConfig('name: big\ntype: pv\nmemory: 512\nvcpus: 64\nxenemu:\n  events:\n    - name=xn0,rate=5000,handler=filter,vcpu=40\n'));
  await running(tm, 1);
  const r = rpc(tm);
  await until(() => row(r['intr.stats']({ ref: 'big' }), 'xn0').perCpu[40]! > 0, 'xn0 counting on vCPU 40');
  const s = r['intr.stats']({ ref: 'big' });
  const xn = row(s, 'xn0');
  t.is(xn.vcpu, 40);
  t.is(xn.total, xn.perCpu[40]!);
  t.true(row(s, 'cpu40:xen').total > 0, 'vCPU 40 took upcalls');
  t.is(s.vcpus, 64);
  t.is(s.online.length, 64);
  t.true(tm.m.hv.get(1).vcpus[40]!.vcpuInfo.kind === 'registered');
  await until(() => row(r['intr.stats']({ ref: 'big' }), 'cpu63:timer').total > 0, 'vCPU 63 ticking');
});

test('with the PCI INTx callback every upcall lands on vCPU 0 and pays the APIC; the timer is the LAPIC timer', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const cfg = 'name: legacy\ntype: hvm\nmemory: 256\nvcpus: 4\nxenemu:\n  callback: pci-intx\n  events:\n    - name=xn0,rate=2000,handler=filter,vcpu=1\n    - name=xbd0,rate=500,handler=ithread,vcpu=3\n';
  await tm.m.toolstack.create(yamlConfig(cfg));
  await running(tm, 1);
  const r = rpc(tm);
  await until(() => row(r['intr.stats']({ ref: 'legacy' }), 'xbd0').total > 0 && row(r['intr.stats']({ ref: 'legacy' }), 'cpu3:timer').total > 0, 'counting');
  const s = r['intr.stats']({ ref: 'legacy' });
  t.is(s.callback, 'pci-intx');
  t.deepEqual(tm.m.hv.callbackVia(1), { kind: 'pci-intx', slot: 3, pin: 0 });
  for (const v of [1, 2, 3]) t.is(row(s, `cpu${v}:xen`).total, 0, `no upcall on vCPU ${v}`);
  t.true(row(s, 'cpu0:xen').total > 0);
  t.true(row(s, 'cpu0:xen').apicNs > 0, 'each upcall paid its emulated APIC accesses');
  for (const name of ['xn0', 'xbd0', 'xenstore0', 'xc0']) t.is(row(s, name).vcpu, 0, `${name} stays on vCPU 0`);
  t.deepEqual(s.hypervisor.injected.slice(1), [0, 0, 0]);
  for (const v of [0, 1, 2, 3]) {
    const timer = row(s, `cpu${v}:timer`);
    t.is(timer.kind, 'lapic-timer');
    t.is(timer.intrname, `cpu${v}:timer`);
  }
  t.false(s.rows.some((x) => x.kind === 'ipi'), 'no PV IPIs without per-vCPU events');
  t.is(errno(t, () => r['intr.bind']({ ref: 'legacy', source: 'xn0', cpu: 1 })), 'EOPNOTSUPP');
  const log = tm.m.toolstack.kernel(1)!.log.lines.join('\n');
  t.regex(log, /xen-platform-pci 00:03\.0 INTA#/);
  t.regex(log, /xn0: wanted vCPU 1, but events all arrive on vCPU 0/);
});

test('a PVH guest asked for PCI INTx uses the vector callback: it has no PCI bus', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  await tm.m.toolstack.create(yamlConfig('name: lite\ntype: pvh\nmemory: 128\nvcpus: 2\nxenemu:\n  callback: pci-intx\n'));
  await running(tm, 1);
  t.deepEqual(tm.m.hv.callbackVia(1), { kind: 'vector', vector: 0x93 });
  t.is(rpc(tm)['intr.stats']({ ref: '1' }).callback, 'vector');
});

test('on a virtual clock, timers count exactly hz per second on every vCPU, and devices their rate', async (t) => {
  const clock = new VirtualClock();
  const stop = pumpClock(clock);
  const tm = await bootMachine({ clock });
  t.teardown(async () => {
    stop();
    await tm.dispose();
  });
  await tm.m.toolstack.create(yamlConfig('name: tick\ntype: hvm\nmemory: 256\nvcpus: 3\nxenemu:\n  hz: 250\n  events:\n    - name=xn0,rate=1000,handler=both\n    - name=slow0,rate=3,handler=ithread\n'));
  await running(tm, 1);
  stop();
  clock.drain();
  const r = rpc(tm);
  const before = r['intr.stats']({ ref: 'tick' });
  const dom0Before = r['intr.stats']({ ref: '0' });
  clock.advance(10e9);
  const after = r['intr.stats']({ ref: 'tick' });
  for (const v of [0, 1, 2]) {
    const d = row(after, `cpu${v}:timer`).total - row(before, `cpu${v}:timer`).total;
    t.is(d, 2500, `cpu${v}:timer`);
    t.is(row(after, `cpu${v}:timer`).perCpu[v], row(after, `cpu${v}:timer`).total, 'all on its own vCPU');
  }
  t.is(row(after, 'xn0').total - row(before, 'xn0').total, 10_000);
  t.is(row(after, 'slow0').total - row(before, 'slow0').total, 30);
  const dom0After = r['intr.stats']({ ref: '0' });
  for (const v of [0, 1, 2, 3]) t.is(row(dom0After, `cpu${v}:timer`).total - row(dom0Before, `cpu${v}:timer`).total, 1000, 'dom0 at the default 100 Hz');
  // Ten batches a second per domain (the host's 100 ms timer slop), not 250 × 3 upcalls.
  const upcalls = [0, 1, 2].reduce((n, v) => n + row(after, `cpu${v}:xen`).total - row(before, `cpu${v}:xen`).total, 0);
  t.true(upcalls <= 3 * 10 * 10 + 10, `upcalls: ${upcalls}`);
});

test('on a virtual clock, guest CPU time is the same on every run', async (t) => {
  // CPU time is charged from the clock the machine runs on, never from the host's
  // own timer, so two runs of the same guest for the same virtual time agree to the ns.
  const run = async (): Promise<number[]> => {
    const clock = new VirtualClock();
    const stop = pumpClock(clock);
    const tm = await bootMachine({ clock });
    try {
      await tm.m.toolstack.create(yamlConfig('name: rep\ntype: hvm\nmemory: 256\nvcpus: 2\nxenemu:\n  hz: 250\n  events:\n    - name=xn0,rate=1000,handler=both\n    - name=slow0,rate=3,handler=ithread\n'));
      await running(tm, 1);
      stop();
      clock.drain();
      const before = tm.m.hv.get(1).vcpus.map((v) => v.cpuTimeNs);
      clock.advance(5e9);
      return tm.m.hv.get(1).vcpus.map((v, i) => v.cpuTimeNs - before[i]!);
    } finally {
      stop();
      await tm.dispose();
    }
  };
  const first = await run();
  const second = await run();
  t.true(first.every((ns) => ns > 0), `CPU time charged: ${first.join(', ')}`);
  t.deepEqual(second, first);
});

test('the event channel device between two domains: alloc-unbound, bind-interdomain, notify moves the other side', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  await tm.m.toolstack.create(yamlConfig('name: alpha\ntype: pv\nmemory: 128\nvcpus: 2\n'));
  await tm.m.toolstack.create(yamlConfig('name: beta\ntype: hvm\nmemory: 128\nvcpus: 2\n'));
  await running(tm, 1);
  await running(tm, 2);
  const r = rpc(tm);
  const a = r['evtchn.allocUnbound']({ ref: 'alpha', remote: 'beta' });
  t.is(a.remoteDomid, 2);
  const b = r['evtchn.bindInterdomain']({ ref: 'beta', remote: 'alpha', remotePort: a.port });
  const srcA = () => r['intr.stats']({ ref: 'alpha' }).rows.find((x) => x.port === a.port)!;
  const srcB = () => r['intr.stats']({ ref: 'beta' }).rows.find((x) => x.port === b.port)!;
  t.is(srcA().name, 'evtchn0');
  // Binding raises the new local port once (Xen's conservative notification).
  await until(() => srcB().total === 1, 'the bind-time notification');
  const before = srcA().total;
  for (let i = 0; i < 5; i++) {
    r['evtchn.notify']({ ref: 'beta', port: b.port });
    await until(() => srcA().total === before + i + 1, `notification ${i + 1}`);
  }
  r['evtchn.notify']({ ref: 'alpha', port: a.port });
  await until(() => srcB().total === 2, 'the other way');
  const list = r['evtchn.list']({ ref: 'alpha' });
  const line = formatLsevtchn(list.ports.filter((p) => p.port === a.port));
  t.is(line, `${String(a.port).padStart(4)}: VCPU ${srcA().vcpu}: Interdomain (Connected) - Remote Domain 2, Port ${b.port}`);
  // Counted in the upcall; the device's thread hands the port to the reader just after.
  await until(() => r['evtchn.status']({ ref: 'alpha', port: a.port }).row.notifications === 5, 'five notifications read');
  const st = r['evtchn.status']({ ref: 'alpha', port: a.port }).row;
  t.true(st.device);
  t.false(st.masked, 'the reader re-enabled it after each notification');
  // Closing one end leaves the other waiting for a connection again.
  r['evtchn.close']({ ref: 'beta', port: b.port });
  t.like(r['evtchn.status']({ ref: 'alpha', port: a.port }).row, { status: 'unbound', remoteDomid: 2 });
  t.is(r['evtchn.status']({ ref: 'beta', port: b.port }).row.status, 'closed');
});

test('event channel errors: EINVAL for closed ports and ports not offered, ESRCH for missing domains, ENOTCONN, EAGAIN', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  await tm.m.toolstack.create(yamlConfig('name: alpha\ntype: pv\nmemory: 128\n'));
  await tm.m.toolstack.create(yamlConfig('name: beta\ntype: pv\nmemory: 128\n'));
  await tm.m.toolstack.create(yamlConfig('name: gamma\ntype: pv\nmemory: 128\n'), { paused: true });
  await running(tm, 1);
  await running(tm, 2);
  const r = rpc(tm);
  t.is(errno(t, () => r['evtchn.allocUnbound']({ ref: 'alpha', remote: 'nosuch' })), 'ESRCH');
  t.is(errno(t, () => r['evtchn.list']({ ref: '42' })), 'ESRCH');
  const forDom0 = r['evtchn.allocUnbound']({ ref: 'alpha', remote: '0' });
  // Offered to dom0, not to beta: Xen answers EINVAL (it does not say EPERM).
  t.is(errno(t, () => r['evtchn.bindInterdomain']({ ref: 'beta', remote: 'alpha', remotePort: forDom0.port })), 'EINVAL');
  r['evtchn.close']({ ref: 'alpha', port: forDom0.port });
  t.is(errno(t, () => r['evtchn.bindInterdomain']({ ref: 'beta', remote: 'alpha', remotePort: forDom0.port })), 'EINVAL', 'a closed port');
  t.is(errno(t, () => r['evtchn.close']({ ref: 'alpha', port: forDom0.port })), 'ENOTCONN', 'closed already');
  t.is(errno(t, () => r['evtchn.status']({ ref: 'alpha', port: 4000 })), 'EINVAL', 'beyond the port table');
  // The xenstore ring's port belongs to the xenstore driver, not to the device.
  const store = r['evtchn.list']({ ref: 'alpha' }).ports.find((p) => p.source?.name === 'xenstore0')!;
  const e = t.throws(() => r['evtchn.notify']({ ref: 'alpha', port: store.port })) as XenemuError;
  t.is(e.code, 'ENOTCONN');
  t.regex(e.message, /belongs to xenstore0/);
  t.is(errno(t, () => r['evtchn.allocUnbound']({ ref: 'gamma', remote: '0' })), 'EAGAIN', 'a paused guest has not booted');
  t.is(errno(t, () => r['intr.stats']({ ref: 'gamma' })), 'EAGAIN');
  t.is(errno(t, () => r['intr.bind']({ ref: 'alpha', source: 'nosuch0', cpu: 0 })), 'ENOENT');
});

test('intr-bind moves a source and its counts; per-vCPU sources refuse; a vCPU going down hands its ports over', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  await tm.m.toolstack.create(yamlConfig('name: web\ntype: hvm\nmemory: 256\nvcpus: 4\nxenemu:\n  events:\n    - name=xn0,rate=4000,handler=filter,vcpu=1\n'));
  await running(tm, 1);
  const r = rpc(tm);
  const xn = () => row(r['intr.stats']({ ref: 'web' }), 'xn0');
  await until(() => xn().perCpu[1]! > 0, 'xn0 counting on vCPU 1');
  const moved = r['intr.bind']({ ref: 'web', source: 'xn0', cpu: 3 });
  t.like(moved, { from: 1, to: 3, source: 'xn0' });
  const onOne = xn().perCpu[1]!;
  await until(() => xn().perCpu[3]! > 0, 'xn0 counting on vCPU 3');
  t.is(xn().perCpu[1], onOne, 'nothing more on vCPU 1');
  t.is(tm.m.hv.get(1).evtchn!.channel(xn().port!).vcpu, 3);
  t.is(errno(t, () => r['intr.bind']({ ref: 'web', source: 'cpu2:timer', cpu: 0 })), 'EINVAL');
  t.is(errno(t, () => r['intr.bind']({ ref: 'web', source: 'xn0', cpu: 7 })), 'EINVAL');
  // vcpu-set 3: vCPU 3 goes down; xn0 moves to an online vCPU and keeps counting; vCPU 3's timer stops.
  const rendezvous = () => row(r['intr.stats']({ ref: 'web' }), 'cpu0:r').total;
  const r0 = rendezvous();
  await tm.m.toolstack.vcpuSet(1, 3);
  await until(() => !tm.m.hv.get(1).vcpus[3]!.online, 'vCPU 3 down');
  t.not(xn().vcpu, 3);
  const moving = xn().total;
  await until(() => xn().total > moving + 10, 'xn0 still counting');
  const tick3 = row(r['intr.stats']({ ref: 'web' }), 'cpu3:timer').total;
  await new Promise((res) => setTimeout(res, 300));
  t.is(row(r['intr.stats']({ ref: 'web' }), 'cpu3:timer').total, tick3, "a down vCPU's clock is stopped");
  await until(() => rendezvous() > r0, 'the rendezvous IPI reached vCPU 0');
  await tm.m.toolstack.vcpuSet(1, 4);
  await until(() => row(r['intr.stats']({ ref: 'web' }), 'cpu3:timer').total > tick3, "vCPU 3's clock runs again");
});

test('VIRQ_DEBUG reaches every vCPU of every domain that bound it; the host view lists every domain', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  await tm.m.toolstack.create(yamlConfig('name: web\ntype: pv\nmemory: 128\nvcpus: 2\n'));
  await running(tm, 1);
  tm.m.hv.debugKeys.press(Buffer.from('q'));
  const r = rpc(tm);
  await until(() => row(r['intr.stats']({ ref: 'web' }), 'cpu1:debug').total === 1, 'VIRQ_DEBUG on vCPU 1');
  t.is(row(r['intr.stats']({ ref: '0' }), 'cpu3:debug').total, 1);
  t.true(tm.m.toolstack.kernel(1)!.log.lines.some((l) => l.includes('VIRQ_DEBUG on vCPU 1')));
  const host: HostIntrRow[] = r['intr.host']({});
  t.deepEqual(
    host.map((h) => [h.domid, h.name, h.callback, h.booted]),
    [
      [0, 'Domain-0', 'pv', true],
      [1, 'web', 'pv', true],
    ],
  );
  t.true(host[1]!.portsInUse >= 2 + 2 * 11);
  t.true(host[0]!.raises > 0);
});
