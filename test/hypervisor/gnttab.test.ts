/**
 * The grant table as guests and backends use it through their hypercalls: each rule of
 * xen/common/grant_table.c (Xen 4.17) and the GNTST code it answers with.
 */
import test from 'ava';
import { DOMID, GNTCOPY, GNTMAP, GNTST, GrantTableV1, GTF } from '../../src/abi/index.js';
import { VirtualClock } from '../../src/hypervisor/clock.js';
import type { DomainType } from '../../src/hypervisor/domain.js';
import { GrantTable, MAPTRACK_PER_PAGE } from '../../src/hypervisor/gnttab.js';
import { defaultHostModel } from '../../src/hypervisor/host-model.js';
import { Hypercalls } from '../../src/hypervisor/hypercalls.js';
import { Hypervisor, HypervisorError } from '../../src/hypervisor/hypervisor.js';
import { GuestMemory } from '../../src/hypervisor/memory.js';

const RW = GNTMAP.host_map;
const RO = GNTMAP.host_map | GNTMAP.readonly;

function setup(options: { maxMaptrackFrames?: number; maxGrantFrames?: number; types?: Partial<Record<number, DomainType>> } = {}) {
  const hv = new Hypervisor(defaultHostModel({ pcpus: 2, totalMemoryMiB: 8192 }), new VirtualClock());
  const mk = (domid: number) => {
    const d = hv.createDomain({
      domid,
      name: `d${domid}`,
      uuid: `00000000-0000-0000-0000-00000000000${domid}`,
      type: options.types?.[domid] ?? 'pv',
      memoryKiB: 4096,
      maxMemKiB: 8192,
      maxVcpus: 1,
      onlineVcpus: 1,
      ...(options.maxMaptrackFrames !== undefined ? { maxMaptrackFrames: options.maxMaptrackFrames } : {}),
      ...(options.maxGrantFrames !== undefined ? { maxGrantFrames: options.maxGrantFrames } : {}),
    });
    const hc = new Hypercalls(hv, domid);
    // The guest's view of its own grant table, through setup_table as a kernel gets it.
    const table = () => {
      const { status, frameList } = hc.gnttabSetupTable(d.grantTable!.nrFrames);
      if (status !== GNTST.okay) throw new Error(`setup_table: ${status}`);
      return new GrantTableV1(frameList.map((mfn) => hc.grantTableFrame(mfn)));
    };
    return { d, hc, table };
  };
  return { hv, dom0: mk(0), a: mk(1), b: mk(2), c: mk(3) };
}

test('setup_table grows the table within max_grant_frames; query_size reports it; frames are what the guest writes', (t) => {
  const { a, b, dom0, hv } = setup({ maxGrantFrames: 4 });
  t.deepEqual(a.hc.gnttabQuerySize(), { status: GNTST.okay, nrFrames: 1, maxNrFrames: 4 });
  const grown = a.hc.gnttabSetupTable(3);
  t.is(grown.status, GNTST.okay);
  t.is(new Set(grown.frameList).size, 3);
  t.is(a.hc.gnttabQuerySize(DOMID.SELF).nrFrames, 3);
  // Only the frames asked for are listed, even when the table is larger.
  t.deepEqual(a.hc.gnttabSetupTable(1).frameList, grown.frameList.slice(0, 1));
  t.is(a.hc.gnttabSetupTable(5).status, GNTST.general_error, 'beyond max_grant_frames');
  t.is(a.hc.gnttabQuerySize().nrFrames, 3, 'a refused grow changes nothing');
  // XSM_TARGET: another domain's table takes a privileged domain.
  t.is(b.hc.gnttabSetupTable(1, 1).status, GNTST.permission_denied);
  t.is(b.hc.gnttabQuerySize(1).status, GNTST.permission_denied);
  t.is(dom0.hc.gnttabQuerySize(1).nrFrames, 3);
  t.is(dom0.hc.gnttabQuerySize(99).status, GNTST.bad_domain);
  t.throws(() => b.hc.grantTableFrame(grown.frameList[0]!), { instanceOf: HypervisorError, message: /not one of domain 2's grant-table frames/ });
  // An entry the guest writes in frame 2 is the one Xen reads for ref 2 * 512 + 7.
  a.table().grantForeignAccess(1031, 2, 77, true);
  t.deepEqual(hv.get(1).grantTable!.entries.entry(1031), { flags: GTF.permit_access | GTF.readonly, domid: 2, frame: 77 });
});

test('a mapping shares the granter\'s page; GTF_reading/GTF_writing are set while mapped and cleared by the last unmap', (t) => {
  const { a, b } = setup();
  const gt = a.table();
  gt.grantForeignAccess(8, 2, 40, false);
  a.d.memory.page(40).set([1, 2, 3]);

  const [rw] = b.hc.gnttabMapGrantRef([{ dom: 1, ref: 8, flags: RW }]);
  t.is(rw!.status, GNTST.okay);
  t.deepEqual([...rw!.page!.subarray(0, 3)], [1, 2, 3]);
  rw!.page![3] = 9;
  t.is(a.d.memory.page(40)[3], 9, 'the backend writes the guest\'s own page');
  t.is(gt.flags(8), GTF.permit_access | GTF.reading | GTF.writing);
  // The granter sees the grant in use: ending access now is refused.
  t.false(gt.endForeignAccess(8));

  const [ro] = b.hc.gnttabMapGrantRef([{ dom: 1, ref: 8, flags: RO }]);
  t.is(ro!.status, GNTST.okay);
  t.not(ro!.handle, rw!.handle);
  t.deepEqual(b.hc.gnttabUnmapGrantRef([rw!.handle]), [GNTST.okay]);
  t.is(gt.flags(8), GTF.permit_access | GTF.reading, 'a read-only mapping is left: reading stays, writing goes');
  t.false(gt.endForeignAccess(8));
  t.deepEqual(b.hc.gnttabUnmapGrantRef([ro!.handle]), [GNTST.okay]);
  t.is(gt.flags(8), GTF.permit_access);
  t.true(gt.endForeignAccess(8), 'unmapped: the granter may end access');
  t.deepEqual(b.hc.gnttabUnmapGrantRef([ro!.handle]), [GNTST.bad_handle], 'a handle unmaps once');
});

test('a read-only grant mapped for writing fails (GNTST_general_error, as _set_status_v1) and leaves the flags alone', (t) => {
  const { a, b } = setup();
  const gt = a.table();
  gt.grantForeignAccess(9, 2, 41, true);
  t.deepEqual(
    b.hc.gnttabMapGrantRef([{ dom: 1, ref: 9, flags: RW }]).map((r) => r.status),
    [GNTST.general_error],
  );
  t.is(gt.flags(9), GTF.permit_access | GTF.readonly);
  const [ro] = b.hc.gnttabMapGrantRef([{ dom: 1, ref: 9, flags: RO }]);
  t.is(ro!.status, GNTST.okay);
  t.is(gt.flags(9), GTF.permit_access | GTF.readonly | GTF.reading);
  // Nor can a writable mapping be added next to the read-only one.
  t.is(b.hc.gnttabMapGrantRef([{ dom: 1, ref: 9, flags: RW }])[0]!.status, GNTST.general_error);
  t.is(gt.flags(9), GTF.permit_access | GTF.readonly | GTF.reading);
});

test('a grant to one domain is useless to another, mapped or not', (t) => {
  const { a, b, c, dom0 } = setup();
  const gt = a.table();
  gt.grantForeignAccess(10, 2, 42, false);
  t.is(c.hc.gnttabMapGrantRef([{ dom: 1, ref: 10, flags: RO }])[0]!.status, GNTST.general_error);
  // Not even the privileged domain may use a grant that does not name it.
  t.is(dom0.hc.gnttabMapGrantRef([{ dom: 1, ref: 10, flags: RO }])[0]!.status, GNTST.general_error);
  const [m] = b.hc.gnttabMapGrantRef([{ dom: 1, ref: 10, flags: RW }]);
  t.is(m!.status, GNTST.okay);
  t.is(c.hc.gnttabMapGrantRef([{ dom: 1, ref: 10, flags: RO }])[0]!.status, GNTST.general_error, 'pinned by another domain');
  t.is(c.hc.gnttabCopy([{ source: { refOrGmfn: 10, domid: 1, offset: 0 }, dest: { refOrGmfn: 5, domid: DOMID.SELF, offset: 0 }, len: 8, flags: GNTCOPY.source_gref }])[0], GNTST.general_error);
  b.hc.gnttabUnmapGrantRef([m!.handle]);
});

test('each malformed map answers its own GNTST code, and a failed map holds nothing', (t) => {
  const { a, b } = setup({ types: { 2: 'hvm' } });
  const gt = a.table();
  gt.grantForeignAccess(11, 2, 43, false);
  const status = (dom: number, ref: number, flags: number) => b.hc.gnttabMapGrantRef([{ dom, ref, flags }])[0]!.status;
  t.is(status(1, 11, 0), GNTST.bad_gntref, 'neither host_map nor device_map');
  t.is(status(1, 11, GNTMAP.device_map), GNTST.general_error, 'no device mapping in an HVM domain');
  t.is(status(42, 11, RW), GNTST.bad_domain);
  t.is(status(1, 512, RW), GNTST.bad_gntref, 'beyond the one frame the table has');
  t.is(status(1, 12, RW), GNTST.general_error, 'GTF_invalid');
  gt.grantForeignAccess(13, 2, 44, false);
  gt.setFlags(13, GTF.permit_access | GTF.sub_page);
  t.is(status(1, 13, RW), GNTST.general_error, 'a sub-page grant cannot be mapped');
  gt.setFlags(13, GTF.accept_transfer);
  t.is(status(1, 13, RW), GNTST.general_error, 'not a permit_access entry');
  gt.grantForeignAccess(14, 2, 1 << 20, false);
  t.is(status(1, 14, RW), GNTST.bad_page, 'a frame the granter does not have');
  t.is(gt.flags(14), GTF.permit_access, 'the flags set for the attempt are cleared again');
  t.is(b.d.grantTable!.liveHandles().length, 0);
  t.is(a.d.memory.refs(43), 0);
  t.deepEqual(b.hc.gnttabUnmapGrantRef([0, 7, -1]), [GNTST.bad_handle, GNTST.bad_handle, GNTST.bad_handle]);
});

test('maptrack: handles are reused oldest-first, and a full maptrack answers GNTST_no_space', (t) => {
  const { a, b } = setup({ maxMaptrackFrames: 1 });
  const gt = a.table();
  gt.grantForeignAccess(8, 2, 40, true);
  const map = () => b.hc.gnttabMapGrantRef([{ dom: 1, ref: 8, flags: RO }])[0]!;
  const first = [map(), map(), map()].map((m) => m.handle);
  t.deepEqual(first, [0, 1, 2]);
  b.hc.gnttabUnmapGrantRef([0]);
  t.is(map().handle, 3, 'a freed handle goes to the back of the free list');
  // 128 read-only mappings of one grant at most (an 8-bit pin counter, top bit kept clear).
  const more: number[] = [];
  for (let m = map(); m.status === GNTST.okay; m = map()) more.push(m.handle);
  t.is(more.length + 3, 128);
  t.is(map().status, GNTST.general_error);
  // The rest of the 256 handles go to other grants.
  for (let ref = 16; ref < 16 + MAPTRACK_PER_PAGE - 128; ref++) {
    gt.grantForeignAccess(ref, 2, 41, true);
    t.is(b.hc.gnttabMapGrantRef([{ dom: 1, ref, flags: RO }])[0]!.status, GNTST.okay);
  }
  gt.grantForeignAccess(500, 2, 41, true);
  t.is(b.hc.gnttabMapGrantRef([{ dom: 1, ref: 500, flags: RO }])[0]!.status, GNTST.no_space);
  t.is(gt.flags(500), GTF.permit_access | GTF.readonly, 'no handle, nothing touched');
});

test('a page still mapped is neither zeroed nor freed when its guest balloons it out', (t) => {
  const { a, b } = setup();
  const gt = a.table();
  gt.grantForeignAccess(8, 2, 40, false);
  a.d.memory.page(40).fill(0xab);
  const [m] = b.hc.gnttabMapGrantRef([{ dom: 1, ref: 8, flags: RW }]);
  const before = a.hc.currentPages();
  t.is(a.hc.decreaseReservation([40, 41]), 2);
  t.is(a.hc.currentPages(), before - 1, 'the unmapped frame is gone; the mapped one still counts');
  t.true(m!.page!.every((x) => x === 0xab), 'the backend\'s page kept its contents');
  t.true(a.d.memory.page(40).every((x) => x === 0), 'the guest gets a fresh page at that gfn');
  t.not(a.d.memory.page(40), m!.page);
  b.hc.gnttabUnmapGrantRef([m!.handle]);
  t.is(a.hc.currentPages(), before - 2, 'freed at the last unmap');
});

test('a domain destroyed while another maps its page stays dying until the unmap; its domid is not reused', (t) => {
  const { hv, a, b } = setup();
  const gt = a.table();
  gt.grantForeignAccess(8, 2, 40, false);
  a.d.memory.page(40).fill(0x5a);
  const [m] = b.hc.gnttabMapGrantRef([{ dom: 1, ref: 8, flags: RW }]);
  const free = hv.freeKiB;
  hv.destroy(1);
  t.false(hv.domains.has(1));
  t.true(hv.dying.has(1));
  t.is(hv.freeKiB, free + 4096 - 4, 'all its memory came back but the mapped page');
  t.true(m!.page!.every((x) => x === 0x5a));
  t.throws(() => hv.createDomain({ domid: 1, name: 'again', uuid: 'u', type: 'pv', memoryKiB: 4096, maxMemKiB: 4096, maxVcpus: 1, onlineVcpus: 1 }), { message: /still dying/ });
  t.is(gt.flags(8), GTF.permit_access | GTF.reading | GTF.writing);
  t.deepEqual(b.hc.gnttabUnmapGrantRef([m!.handle]), [GNTST.okay]);
  t.false(hv.dying.has(1));
  t.is(hv.freeKiB, free + 4096);
  t.true(hv.console.lines().some((l) => l.includes('d1: its last mapped page was unmapped')));
});

test('a mapper that dies lets go of what it mapped (gnttab_release_mappings)', (t) => {
  const { hv, a, b } = setup();
  const gt = a.table();
  gt.grantForeignAccess(8, 2, 40, false);
  b.hc.gnttabMapGrantRef([{ dom: 1, ref: 8, flags: RW }]);
  hv.destroy(2);
  t.is(gt.flags(8), GTF.permit_access);
  t.is(a.d.memory.refs(40), 0);
  t.true(gt.endForeignAccess(8));
});

test('copy: between a grant and the caller\'s own frame, each way, with the grant pinned only for the copy', (t) => {
  const { a, b } = setup();
  const gt = a.table();
  gt.grantForeignAccess(8, 2, 40, false);
  gt.grantForeignAccess(9, 2, 41, true);
  b.d.memory.page(7).set([10, 20, 30, 40]);
  a.d.memory.page(41).set([5, 6, 7]);
  const [toGuest, fromGuest] = b.hc.gnttabCopy([
    { source: { refOrGmfn: 7, domid: DOMID.SELF, offset: 1 }, dest: { refOrGmfn: 8, domid: 1, offset: 100 }, len: 3, flags: GNTCOPY.dest_gref },
    { source: { refOrGmfn: 9, domid: 1, offset: 0 }, dest: { refOrGmfn: 7, domid: DOMID.SELF, offset: 0 }, len: 3, flags: GNTCOPY.source_gref },
  ]);
  t.is(toGuest, GNTST.okay);
  t.is(fromGuest, GNTST.okay);
  t.deepEqual([...a.d.memory.page(40).subarray(100, 103)], [20, 30, 40]);
  t.deepEqual([...b.d.memory.page(7).subarray(0, 3)], [5, 6, 7]);
  t.is(gt.flags(8), GTF.permit_access, 'no flag outlives the copy');
  t.is(a.d.memory.refs(40), 0);
});

test('copy: each refusal has its code', (t) => {
  const { a, b } = setup();
  const gt = a.table();
  gt.grantForeignAccess(8, 2, 40, false);
  gt.grantForeignAccess(9, 2, 41, true);
  const one = (source: { refOrGmfn: number; domid: number; offset: number }, dest: { refOrGmfn: number; domid: number; offset: number }, len: number, flags: number) =>
    b.hc.gnttabCopy([{ source, dest, len, flags }])[0];
  const self = (gmfn: number, offset = 0) => ({ refOrGmfn: gmfn, domid: DOMID.SELF, offset });
  const grant = (ref: number, offset = 0, domid = 1) => ({ refOrGmfn: ref, domid, offset });
  t.is(one(self(7), grant(9), 8, GNTCOPY.dest_gref), GNTST.general_error, 'writing through a read-only grant');
  t.is(one({ refOrGmfn: 40, domid: 1, offset: 0 }, self(7), 8, 0), GNTST.permission_denied, 'another domain\'s frame without a grant');
  t.is(one({ refOrGmfn: 7, domid: 2, offset: 0 }, self(8), 8, 0), GNTST.permission_denied, 'even one\'s own domid: only DOMID_SELF names a frame');
  t.is(one(self(7), grant(8, 0, 42), 8, GNTCOPY.dest_gref), GNTST.bad_domain);
  t.is(one(self(7), grant(4096), 8, GNTCOPY.dest_gref), GNTST.bad_gntref);
  t.is(one(self(1 << 20), grant(8), 8, GNTCOPY.dest_gref), GNTST.bad_page);
  t.is(one(self(7, 4090), grant(8), 8, GNTCOPY.dest_gref), GNTST.bad_copy_arg, 'the source range leaves its page');
  t.is(one(self(7), grant(8, 4095), 2, GNTCOPY.dest_gref), GNTST.bad_copy_arg, 'the destination range leaves its page');
  t.is(one(self(7), grant(12), 0, GNTCOPY.dest_gref), GNTST.okay, 'a zero-length copy checks nothing');
  t.is(gt.flags(8), GTF.permit_access, 'failed copies leave no flags behind');
  t.is(gt.flags(9), GTF.permit_access | GTF.readonly);
});

test('foreign mappings: only a privileged domain maps frames by number, and the pages stay while mapped', (t) => {
  const { hv, dom0, a, b } = setup();
  a.d.memory.page(40).fill(0x33);
  t.throws(() => b.hc.mapForeignFrames(1, [40]), { instanceOf: HypervisorError, message: /only a privileged domain/ });
  t.throws(() => dom0.hc.mapForeignFrames(1, [40, 1 << 20]), { message: /not a frame of domain 1/ });
  t.is(a.d.memory.refs(40), 0, 'a refused batch maps nothing');
  const m = dom0.hc.mapForeignFrames(1, [40]);
  t.is(m.pages[0], a.d.memory.page(40));
  a.hc.decreaseReservation([40]);
  t.true(m.pages[0]!.every((x) => x === 0x33), 'ballooned out under the mapping: contents kept');
  dom0.hc.unmapForeignFrames(m.handle);
  t.true(m.pages[0]!.every((x) => x === 0), 'freed at the unmap');
  t.throws(() => dom0.hc.unmapForeignFrames(m.handle), { message: /no foreign mapping/ });
  // Destroyed while mapped: the page outlives the domain until the unmap.
  const again = dom0.hc.mapForeignFrames(1, [50]);
  hv.destroy(1);
  t.true(hv.dying.has(1));
  dom0.hc.unmapForeignFrames(again.handle);
  t.false(hv.dying.has(1));
});

test('a saved table is untrusted: a maptrack larger than its handles account for, handles or active grants outside it, are refused; a large one loads', (t) => {
  const memory = new GuestMemory(16, 16);
  let mfn = 1000;
  const saved = new GrantTable(32, 0x7fffffff, () => mfn++).save();
  // One number would have the load push a billion handles (the daemon out of memory).
  t.throws(() => GrantTable.load({ ...saved, maptrackSize: 1 << 30 }, memory, () => mfn++), { message: /saved maptrack of 1073741824 handles, but 0 live and 0 free ones/ });
  t.throws(() => GrantTable.load({ ...saved, maptrackSize: MAPTRACK_PER_PAGE, freeHandles: [0, 1e9] }, memory, () => mfn++), { message: 'saved maptrack handle 1000000000 is outside its 256 handles' });
  // Refused at the load, before the domain is in (it took 24 s to fail once installed).
  const pins = { hostRead: 1, hostWrite: 0, devRead: 0, devWrite: 0 };
  t.throws(() => GrantTable.load({ ...saved, active: [{ ref: 1 << 30, domid: 0, gfn: 1, pins }] }, memory, () => mfn++), { message: `saved active grant ${1 << 30} is outside the table's ${saved.frames.length * 512} entries` });
  // 1024 frames of free handles, as a table grown to its default maximum keeps: no stack overflow.
  const size = 1024 * MAPTRACK_PER_PAGE;
  const big = GrantTable.load({ ...saved, maptrackSize: size, freeHandles: Array.from({ length: size }, (_, h) => h) }, memory, () => mfn++);
  t.is(big.save().freeHandles.length, size);
});
