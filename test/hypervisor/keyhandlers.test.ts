/**
 * The debug keys' output from hypervisor state set up by hand (keyhandler.c,
 * event_channel.c, grant_table.c of Xen 4.17): the cases a running host does not show
 * at will. test/cli-xl/debug-keys.test.ts runs them on a live host through xl.
 */
import test from 'ava';
import { GNTMAP, GrantTableV1, GTF, VIRQ } from '../../src/abi/index.js';
import { VirtualClock } from '../../src/hypervisor/clock.js';
import { defaultHostModel } from '../../src/hypervisor/host-model.js';
import { Hypercalls } from '../../src/hypervisor/hypercalls.js';
import { Hypervisor } from '../../src/hypervisor/hypervisor.js';
import { bitmapList } from '../../src/hypervisor/keyhandlers.js';

function setup() {
  const clock = new VirtualClock();
  const hv = new Hypervisor(defaultHostModel({ pcpus: 4, totalMemoryMiB: 8192 }), clock);
  const mk = (domid: number, vcpus = 1) => {
    const d = hv.createDomain({ domid, name: `d${domid}`, uuid: `0000000${domid}-AAAA-0000-0000-000000000000`, type: 'pv', memoryKiB: 4096, maxMemKiB: 8192, maxVcpus: vcpus, onlineVcpus: 1 });
    hv.unpause(domid);
    return { d, hc: new Hypercalls(hv, domid) };
  };
  return { hv, clock, dom0: mk(0), a: mk(1, 2) };
}

/** Press `keys` on a cleared console; the lines printed, "(XEN) " cut. */
function press(hv: Hypervisor, keys: string): string[] {
  hv.console.clear();
  hv.debugKeys.press(Buffer.from(keys, 'latin1'));
  return hv.console.lines().map((l) => l.slice('(XEN) '.length));
}

test("%*pbl: runs as ranges, single bits alone, nothing for an empty map", (t) => {
  t.is(bitmapList([]), '');
  t.is(bitmapList([3]), '3');
  t.is(bitmapList([0, 1, 2, 3, 5, 7, 8]), '0-3,5,7-8');
  t.is(bitmapList([2, 0, 1, 2]), '0-2', 'a set: order and repeats do not matter');
});

test("g: pin packs the four counters (host-writable in bits 0-7, host-readable in 8-15); the shared entry as the granter wrote it", (t) => {
  const { hv, dom0, a } = setup();
  const gt = new GrantTableV1([a.hc.grantTableFrame(a.hc.gnttabSetupTable(1).frameList[0]!)]);
  gt.grantForeignAccess(0x12, 0, 0x40, false);
  gt.grantForeignAccess(0x13, 0, 0x41, true);
  const maps = dom0.hc.gnttabMapGrantRef([
    { dom: 1, ref: 0x12, flags: GNTMAP.host_map },
    { dom: 1, ref: 0x12, flags: GNTMAP.host_map },
    { dom: 1, ref: 0x12, flags: GNTMAP.host_map | GNTMAP.readonly },
    { dom: 1, ref: 0x13, flags: GNTMAP.host_map | GNTMAP.readonly },
  ]);
  t.true(maps.every((m) => m.status === 0));
  const lines = press(hv, 'g');
  const d1 = lines.indexOf('grant-table for remote d1 (v1)');
  t.deepEqual(lines.slice(d1 - 2, d1 + 4), [
    '      -------- active --------       -------- shared --------',
    '[ref] localdom mfn      pin          localdom gmfn     flags',
    'grant-table for remote d1 (v1)',
    '  1 frames (64 max), 0 maptrack frames (1024 max)',
    `[0x012]      0 0x00040 0x00000102          0 0x000040 0x${(GTF.permit_access | GTF.reading | GTF.writing).toString(16)}`,
    `[0x013]      0 0x00041 0x00000100          0 0x000041 0x${(GTF.permit_access | GTF.readonly | GTF.reading).toString(16).padStart(2, '0')}`,
  ]);
  t.is(lines[lines.indexOf('grant-table for remote d0 (v1)') + 1], '  1 frames (64 max), 1 maptrack frames (1024 max)');
  t.is(lines[lines.indexOf('grant-table for remote d0 (v1)') + 2], 'no active grant table entries');
});

test("e: pending, masked and the notified vCPU's selector bit; each state's details; free ports skipped", (t) => {
  const { hv, dom0, a } = setup();
  const unbound = a.hc.evtchn.allocUnbound(0);
  const virq = a.hc.evtchn.bindVirq(VIRQ.DEBUG, 1);
  const back = dom0.hc.evtchn.bindInterdomain(1, unbound);
  const free = a.hc.evtchn.allocUnbound(0);
  a.hc.evtchn.close(free);
  // dom0 signals: d1's end goes pending, and (not masked) its word's selector bit on vCPU 0.
  dom0.hc.evtchn.send(back);
  const lines = press(hv, 'e');
  const d1 = lines.indexOf('Event channel information for domain 1:');
  t.deepEqual(lines.slice(d1, d1 + 5), ['Event channel information for domain 1:', 'Polling vCPUs: {}', '    port [p/m/s]', `    ${String(unbound).padStart(4)} [1/0/1]: s=3 n=0 x=0 d=0 p=${back}`, `    ${String(virq).padStart(4)} [0/0/0]: s=5 n=1 x=0 v=1`]);
  t.is(lines[d1 + 5], undefined, 'the closed port is not listed');
  a.d.evtchn!.shared.testAndSetMask(virq);
  t.true(press(hv, 'e').includes(`    ${String(virq).padStart(4)} [0/1/0]: s=5 n=1 x=0 v=1`));
});

test("q: a shut-down domain's vCPUs are paused once; a destroyed domain that others still map is dead (dying=2) until the last unmap", (t) => {
  const { hv, dom0, a } = setup();
  new GrantTableV1([a.hc.grantTableFrame(a.hc.gnttabSetupTable(1).frameList[0]!)]).grantForeignAccess(5, 0, 0x30, false);
  const [m] = dom0.hc.gnttabMapGrantRef([{ dom: 1, ref: 5, flags: GNTMAP.host_map }]);
  let lines = press(hv, 'q');
  let d1 = lines.indexOf('General information for domain 1:');
  t.deepEqual(lines.slice(d1 + 1, d1 + 4), ['    refcnt=3 dying=0 pause_count=0', '    nr_pages=1024 xenheap_pages=2 dirty_cpus={} max_pages=2048', '    handle=00000001-aaaa-0000-0000-000000000000 vm_assist=00000000']);
  // vCPU 1 is down (_VPF_down), vCPU 0 waits (_VPF_blocked); no periodic timer was set.
  t.deepEqual(lines.slice(d1 + 6, d1 + 14), [
    '  UNIT0 affinities: hard={0-3} soft={0-3}',
    '    VCPU0: CPU0 [has=F] poll=0 upcall_pend=00 upcall_mask=00 ',
    '    pause_count=0 pause_flags=1',
    'No periodic timer',
    '  UNIT1 affinities: hard={0-3} soft={0-3}',
    `    VCPU1: CPU${a.d.vcpus[1]!.pcpu} [has=F] poll=0 upcall_pend=00 upcall_mask=00 `,
    '    pause_count=0 pause_flags=2',
    'No periodic timer',
  ]);
  // VCPUOP_set_periodic_timer: Hz and ms as Xen's integer divisions make them (1e9 / 3 ms).
  a.hc.setPeriodicTimer(0, 3_000_000);
  lines = press(hv, 'q');
  t.is(lines[lines.indexOf('General information for domain 1:') + 9], '333 Hz periodic timer (period 3 ms)');
  hv.shutdown(1, 'crash');
  lines = press(hv, 'q');
  d1 = lines.indexOf('General information for domain 1:');
  t.is(lines[d1 + 8], '    pause_count=1 pause_flags=1');
  hv.destroy(1);
  lines = press(hv, 'q');
  d1 = lines.indexOf('General information for domain 1:');
  t.deepEqual(lines.slice(d1 + 1, d1 + 3), ['    refcnt=1 dying=2 pause_count=0', '    nr_pages=1 xenheap_pages=0 dirty_cpus={} max_pages=2048']);
  t.true(lines.includes('Notifying guest 1:0 (virq 1, port 0)'));
  dom0.hc.gnttabUnmapGrantRef([m!.handle]);
  t.false(press(hv, 'q').includes('General information for domain 1:'), 'freed at the last unmap');
});

test('t counts its samples; * runs e, g, q, t in key order; keys without a handler and bytes from 128 up do nothing', (t) => {
  const { hv } = setup();
  t.deepEqual(press(hv, 't'), ['Synced stime skew: max=0ns avg=0ns samples=1 current=0ns', 'Synced cycles skew: max=0 avg=0 samples=1 current=0']);
  const all = press(hv, '*');
  t.deepEqual(
    all.filter((l) => /^\[.: /.test(l)),
    ['[e: dump evtchn info]', '[g: print grant table usage]', '[q: dump domain (and guest debug) info]', '[t: display multi-cpu clock info]'],
  );
  t.is(all.at(-1), 'Synced cycles skew: max=0 avg=0 samples=2 current=0');
  t.deepEqual(press(hv, 'xR\u00e5\u00ff\u0000'), []);
  t.deepEqual(hv.debugKeys.keys, ['*', 'e', 'g', 'h', 'q', 't']);
});
