/**
 * Multi-page rings through grants, as every split device sets them up: the frontend
 * grants an aligned block of pages (grantRing), the backend maps the references in
 * order (mapRing), and both build a SharedRing over the pages. Also a frontend that
 * granted frames that are not adjacent, and the errors a backend gets.
 */
import test from 'ava';
import { BackRing, FrontRing, GNTST, GTF, SharedRing, SRING_PROTOCOLS } from '../../src/abi/index.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { grantRing, XENBUS_MAX_RING_GRANTS } from '../../src/kernel/xenbus/grant-ring.js';
import { mapRing, RingMapError } from '../../src/kernel/xenbus/map-ring.js';
import { bootMachine, yamlConfig, type TestMachine } from '../helpers/machine.js';

const BLKIF = SRING_PROTOCOLS.blkif.slotBytes;

async function guestAndDom0(t: { teardown(f: () => Promise<void> | void): void }): Promise<{ tm: TestMachine; guest: Kernel; dom0: Kernel; domid: number }> {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const r = await tm.m.toolstack.create(yamlConfig('name: front\nmemory: 64\n'));
  return { tm, guest: tm.m.kernel(r.domid)!, dom0: tm.m.kernel(0)!, domid: r.domid };
}

/** Push `n` requests with ids from `firstId` through front, answer them on back, return the ids the front got back. */
function roundTrip(front: FrontRing, back: BackRing, firstId: number, n: number): number[] {
  for (let i = 0; i < n; i++) {
    const s = front.nextRequest();
    s.view.setBigUint64(s.offset + 8, BigInt(firstId + i), true); // blkif_request.id
    s.view.setUint32(s.offset + 104, firstId + i, true); // seg[10].gref, the slot's last words
  }
  front.pushRequestsAndCheckNotify();
  for (let s = back.takeRequest(); s; s = back.takeRequest()) {
    const id = s.view.getBigUint64(s.offset + 8, true);
    if (Number(id) !== s.view.getUint32(s.offset + 104, true)) throw new Error(`request ${id} arrived torn`);
    const r = back.nextResponse();
    r.view.setBigUint64(r.offset, id, true);
  }
  back.pushResponsesAndCheckNotify();
  const ids: number[] = [];
  for (let r = front.takeResponse(); r; r = front.takeResponse()) ids.push(Number(r.view.getBigUint64(r.offset, true)));
  return ids;
}

test('a 4-page ring: granted as one aligned block, mapped in order, read in place on both sides', async (t) => {
  const { guest, dom0, domid } = await guestAndDom0(t);
  const free = guest.pageAllocator.free;
  const granted = grantRing(guest, 0, 4);
  t.is(granted.refs.length, 4);
  t.is(granted.gfns[0]! % 4, 0, 'the block is aligned to its size');
  t.deepEqual(granted.gfns, [0, 1, 2, 3].map((i) => granted.gfns[0]! + i));
  for (const [i, ref] of granted.refs.entries()) {
    t.deepEqual(guest.gnttab.entry(ref), { flags: GTF.permit_access, domid: 0, frame: granted.gfns[i]! }, `ring-ref${i} grants frame ${i} read-write to dom0`);
  }
  const frontRing = FrontRing.init(new SharedRing(granted.pages, BLKIF));
  t.true(frontRing.sring.zeroCopy);
  t.is(frontRing.size, 128);

  const mapped = mapRing(dom0.hc, domid, granted.refs);
  t.true(mapped.adjacent, 'the granter’s pages are adjacent, so the mapping is one range');
  const backSring = new SharedRing(mapped.pages, BLKIF);
  t.true(backSring.zeroCopy);
  const backRing = new BackRing(backSring);
  let id = 1;
  for (let round = 0; round < 5; round++) {
    t.deepEqual(roundTrip(frontRing, backRing, id, 100), Array.from({ length: 100 }, (_, i) => id + i));
    id += 100;
  }

  const early = granted.release();
  t.is(early.released, 0, 'dom0 still maps every page');
  t.deepEqual(early.stillMapped, granted.refs);
  t.regex(guest.gnttab.inUseReason(granted.refs[0]!)!, /still in use by domain 0 \(GTF_reading\|GTF_writing\)/);
  t.is(guest.pageAllocator.free, free - 4, 'frames a backend still maps are not handed out again');
  mapped.unmap();
  t.is(guest.gnttab.retryDeferred(), 4, 'unmapped: the deferred grants end');
  t.is(guest.pageAllocator.free, free, 'and their frames go back to the allocator');
  t.throws(() => granted.release(), { message: /released twice/ });
});

test('released before the backend maps: the grants end and the frames go back at once', async (t) => {
  const { guest } = await guestAndDom0(t);
  const free = guest.pageAllocator.free;
  const granted = grantRing(guest, 0, XENBUS_MAX_RING_GRANTS);
  t.is(granted.gfns[0]! % 16, 0);
  t.deepEqual(granted.release(), { released: 16, stillMapped: [] });
  t.is(guest.pageAllocator.free, free);
  for (const ref of granted.refs) t.is(guest.gnttab.entry(ref).flags, 0);
  t.throws(() => grantRing(guest, 0, 17), { instanceOf: RangeError, message: /1 to 16 pages/ });
});

test('a frontend that granted frames that are not adjacent: the backend still gets a working ring', async (t) => {
  const { guest, dom0, domid } = await guestAndDom0(t);
  // Four frames from four different 16-frame chunks, granted in a scrambled order.
  const gfns = [5, 15, 0, 9].map((i) => guest.pageAllocator.allocAligned(16) + i);
  const frontPages = gfns.map((g) => guest.page(g).fill(0));
  const refs = gfns.map((g) => guest.gnttab.grantForeignAccess(0, g, false));
  const frontSring = new SharedRing(frontPages, BLKIF);
  t.false(frontSring.zeroCopy);
  const frontRing = FrontRing.init(frontSring);

  const mapped = mapRing(dom0.hc, domid, refs);
  t.false(mapped.adjacent);
  const backRing = new BackRing(new SharedRing(mapped.pages, BLKIF));
  t.is(backRing.size, 128);
  let id = 1;
  // Slots 72 and 109 straddle pages 1/2 and 2/3; enough rounds to wrap the ring many times.
  for (let round = 0; round < 20; round++) {
    const n = 1 + ((round * 37) % 128);
    t.deepEqual(roundTrip(frontRing, backRing, id, n), Array.from({ length: n }, (_, i) => id + i));
    id += n;
  }
  mapped.unmap();
  t.is(guest.gnttab.endForeignAccessReferences(refs), 4);
});

test('a reference that does not map fails the whole ring, names the ref and its GNTST, and leaves nothing mapped', async (t) => {
  const { guest, dom0, domid } = await guestAndDom0(t);
  const granted = grantRing(guest, 0, 4);
  const refs = [...granted.refs];
  const bogus = guest.gnttab.grantForeignAccess(0, guest.pageAllocator.alloc(), false);
  guest.gnttab.endForeignAccess(bogus); // a reference that grants nothing now
  refs[2] = bogus;
  const e = t.throws(() => mapRing(dom0.hc, domid, refs), { instanceOf: RingMapError });
  t.is(e!.code, 'GNTST_general_error');
  t.is(e!.status, GNTST.general_error);
  t.is(e!.ref, bogus);
  t.is(e!.index, 2);
  t.is(e!.message, `mapping in shared page ${bogus} (ring-ref2) from domain ${domid}: GNTST_general_error`);
  for (const ref of granted.refs) t.false(guest.gnttab.inUse(ref), `ref ${ref} was unmapped again`);

  const past = t.throws(() => mapRing(dom0.hc, domid, [granted.refs[0]!, 1_000_000]), { instanceOf: RingMapError });
  t.is(past!.code, 'GNTST_bad_gntref');
  t.is(past!.index, 1);
  t.deepEqual(granted.release(), { released: 4, stillMapped: [] });
});

test('a ring granted to dom0 cannot be mapped by another guest', async (t) => {
  const { tm, guest, domid } = await guestAndDom0(t);
  const other = await tm.m.toolstack.create(yamlConfig('name: other\nmemory: 64\n'));
  const granted = grantRing(guest, 0, 2);
  const e = t.throws(() => mapRing(tm.m.kernel(other.domid)!.hc, domid, granted.refs), { instanceOf: RingMapError });
  t.is(e!.code, 'GNTST_general_error');
  t.is(e!.index, 0);
});
