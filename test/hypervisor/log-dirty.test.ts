/**
 * Log-dirty mode (XEN_DOMCTL_shadow_op as libxc's xc_shadow_control drives it for a live
 * migration): each path by which a domain's memory gets written marks the page, CLEAN
 * hands the bitmap over and clears it, and the last round (LOGDIRTY_FINAL) also reports
 * what is held writable behind the log's back.
 */
import test from 'ava';
import { DOMID, GNTCOPY, GNTMAP, GNTST, GrantTableV1, XEN_DOMCTL_SHADOW_LOGDIRTY, XEN_DOMCTL_SHADOW_OP as OP } from '../../src/abi/index.js';
import { VirtualClock } from '../../src/hypervisor/clock.js';
import { Domctl } from '../../src/hypervisor/domctl.js';
import { defaultHostModel } from '../../src/hypervisor/host-model.js';
import { Hypercalls } from '../../src/hypervisor/hypercalls.js';
import { Hypervisor, HypervisorError } from '../../src/hypervisor/hypervisor.js';
import { GuestMemory } from '../../src/hypervisor/memory.js';

function setup() {
  const hv = new Hypervisor(defaultHostModel({ pcpus: 2, totalMemoryMiB: 8192 }), new VirtualClock());
  const mk = (domid: number) => {
    hv.createDomain({ domid, name: `d${domid}`, uuid: `00000000-0000-0000-0000-00000000000${domid}`, type: 'pv', memoryKiB: 4096, maxMemKiB: 8192, maxVcpus: 1, onlineVcpus: 1 });
    const hc = new Hypercalls(hv, domid);
    const { frameList } = hc.gnttabSetupTable(1);
    return { hc, table: new GrantTableV1(frameList.map((mfn) => hc.grantTableFrame(mfn))), memory: hv.get(domid).memory };
  };
  return { hv, domctl: new Domctl(hv), dom0: mk(0), guest: mk(1), backend: mk(2) };
}

/** The frames a CLEAN (or PEEK) reports, in order. */
function dirty(domctl: Domctl, domid: number, op: number = OP.CLEAN, mode = 0): number[] {
  const { bitmap, stats } = domctl.shadowControl(domid, op, mode)!;
  const gfns: number[] = [];
  bitmap.forEach((byte, i) => {
    for (let b = 0; b < 8; b++) if (byte & (1 << b)) gfns.push(i * 8 + b);
  });
  if (stats.dirtyCount !== gfns.length) throw new Error(`dirty_count ${stats.dirtyCount} but ${gfns.length} bits set`);
  return gfns;
}

test('off, nothing is tracked and CLEAN is EINVAL; enable starts clean; enable twice is EINVAL; OFF forgets', (t) => {
  const { domctl, guest } = setup();
  guest.hc.platform.stored(5);
  t.false(guest.memory.logDirty);
  t.throws(() => domctl.shadowControl(1, OP.CLEAN), { instanceOf: HypervisorError, message: /log-dirty mode is off/ });
  t.is(domctl.shadowControl(1, OP.ENABLE_LOGDIRTY), null);
  t.deepEqual(dirty(domctl, 1), [], 'a write before enabling is not in the log');
  t.throws(() => domctl.shadowControl(1, OP.ENABLE_LOGDIRTY), { instanceOf: HypervisorError, message: /already on/ });
  guest.hc.platform.stored(7);
  t.is(domctl.shadowControl(1, OP.OFF), null);
  t.throws(() => domctl.shadowControl(1, OP.PEEK), { instanceOf: HypervisorError });
  domctl.shadowControl(1, OP.ENABLE_LOGDIRTY);
  t.deepEqual(dirty(domctl, 1), [], 'OFF forgot frame 7');
  t.throws(() => domctl.shadowControl(1, 99), { instanceOf: HypervisorError, message: /shadow op 99/ });
});

test('the guest\'s own stores mark their frames; CLEAN clears, PEEK does not; the bitmap covers the frame space', (t) => {
  const { domctl, guest } = setup();
  domctl.shadowControl(1, OP.ENABLE_LOGDIRTY);
  guest.hc.platform.stored(3);
  guest.hc.platform.stored(3);
  guest.hc.platform.stored(1000);
  guest.hc.platform.stored(1 << 30); // outside the domain: ignored
  const peek = domctl.shadowControl(1, OP.PEEK)!;
  t.is(peek.pages, 2048);
  t.is(peek.bitmap.length, 256);
  t.is(peek.stats.faultCount, 3);
  t.deepEqual(dirty(domctl, 1, OP.PEEK), [3, 1000]);
  t.deepEqual(dirty(domctl, 1), [3, 1000]);
  t.deepEqual(dirty(domctl, 1), [], 'CLEAN cleared');
  t.is(domctl.shadowControl(1, OP.CLEAN)!.stats.faultCount, 0);
});

test('a backend\'s writable grant mapping marks the frame at unmap, and at FINAL while still mapped; a read-only one never', (t) => {
  const { domctl, guest, backend } = setup();
  guest.table.grantForeignAccess(8, 2, 40, false);
  guest.table.grantForeignAccess(9, 2, 41, true);
  // Mapped before log-dirty is on, as a backend's ring is.
  const [rw] = backend.hc.gnttabMapGrantRef([{ dom: 1, ref: 8, flags: GNTMAP.host_map }]);
  const [ro] = backend.hc.gnttabMapGrantRef([{ dom: 1, ref: 9, flags: GNTMAP.host_map | GNTMAP.readonly }]);
  t.is(rw!.status, GNTST.okay);
  domctl.shadowControl(1, OP.ENABLE_LOGDIRTY);
  rw!.page![0] = 1;
  t.deepEqual(dirty(domctl, 1), [], 'an ordinary round does not see writes through a mapping still held');
  t.deepEqual(dirty(domctl, 1, OP.CLEAN, XEN_DOMCTL_SHADOW_LOGDIRTY.FINAL), [40], 'the final round sends what is held writable');
  backend.hc.gnttabUnmapGrantRef([rw!.handle, ro!.handle]);
  t.deepEqual(dirty(domctl, 1), [40], 'the unmap marks it (gnttab_mark_dirty)');
});

test('a grant copy marks the frame it writes: the granter\'s by ref, or the caller\'s own', (t) => {
  const { domctl, guest, backend } = setup();
  guest.table.grantForeignAccess(8, 2, 40, false);
  guest.table.grantForeignAccess(9, 2, 41, true);
  domctl.shadowControl(1, OP.ENABLE_LOGDIRTY);
  domctl.shadowControl(2, OP.ENABLE_LOGDIRTY);
  const into = { source: { refOrGmfn: 50, domid: DOMID.SELF, offset: 0 }, dest: { refOrGmfn: 8, domid: 1, offset: 0 }, len: 16, flags: GNTCOPY.dest_gref };
  const outOf = { source: { refOrGmfn: 9, domid: 1, offset: 0 }, dest: { refOrGmfn: 51, domid: DOMID.SELF, offset: 0 }, len: 16, flags: GNTCOPY.source_gref };
  t.deepEqual(backend.hc.gnttabCopy([into, outOf]), [GNTST.okay, GNTST.okay]);
  t.deepEqual(dirty(domctl, 1), [40], 'the guest: the destination only, not the page read');
  t.deepEqual(dirty(domctl, 2), [51], 'the backend: its own frame it copied into');
});

test('a foreign mapping marks its frames at unmap, and at FINAL while mapped', (t) => {
  const { domctl, dom0 } = setup();
  const m = dom0.hc.mapForeignFrames(1, [60, 61]);
  domctl.shadowControl(1, OP.ENABLE_LOGDIRTY);
  t.deepEqual(dirty(domctl, 1), []);
  t.deepEqual(dirty(domctl, 1, OP.PEEK, XEN_DOMCTL_SHADOW_LOGDIRTY.FINAL), [60, 61]);
  dom0.hc.unmapForeignFrames(m.handle);
  t.deepEqual(dirty(domctl, 1), [60, 61]);
  t.deepEqual(dirty(domctl, 1, OP.CLEAN, XEN_DOMCTL_SHADOW_LOGDIRTY.FINAL), [], 'unmapped: no longer held');
});

test('a registered vcpu_info (Xen writes it on every event) is in the final round', (t) => {
  const { domctl, guest } = setup();
  guest.hc.registerVcpuInfo(0, 70, 64);
  domctl.shadowControl(1, OP.ENABLE_LOGDIRTY);
  t.deepEqual(dirty(domctl, 1), []);
  t.deepEqual(dirty(domctl, 1, OP.CLEAN, XEN_DOMCTL_SHADOW_LOGDIRTY.FINAL), [70]);
});

test('frames the guest gives back are dirty (their contents are gone), held or not', (t) => {
  const m = new GuestMemory(64, 64);
  m.page(3)[0] = 1;
  const held = m.getPage(4);
  m.enableLogDirty();
  m.release([3, 4, 9]);
  t.deepEqual([...m.dirtyBitmap(true).bitmap], [0b0001_1000, 0, 0, 0, 0, 0, 0, 0], 'frame 9 was never backed: nothing changed');
  m.putPage(held);
});

test('with log-dirty off a store costs one check: no bitmap is kept', (t) => {
  const m = new GuestMemory(64, 64);
  m.markDirty(1);
  m.enableLogDirty();
  t.is(m.dirtyBitmap(false).dirtyCount, 0);
  m.disableLogDirty();
  t.throws(() => m.dirtyBitmap(false), { message: /off/ });
});
