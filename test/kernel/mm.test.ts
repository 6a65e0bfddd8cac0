import test from 'ava';
import { GNTTAB, GRANT_ENTRIES_PER_FRAME_V1, GTF } from '../../src/abi/index.js';
import { VirtualClock } from '../../src/hypervisor/clock.js';
import { GuestGrantTable } from '../../src/kernel/mm/gnttab.js';
import { GRANT_REF_INVALID, GrefAllocator } from '../../src/kernel/mm/gref-allocator.js';
import { PageAllocator } from '../../src/kernel/mm/page-allocator.js';
import { frames } from './helpers.js';

test('the page allocator hands out the lowest free frames, skips reserved ones, and hands a freed frame out again', (t) => {
  const pages = new PageAllocator(0x100, 0x108, [0x102, 0x107, 0x500]);
  t.is(pages.free, 6);
  t.deepEqual(pages.allocMany(3), [0x100, 0x101, 0x103]);
  pages.freePage(0x101);
  t.is(pages.alloc(), 0x101, 'a frame given back goes out first');
  t.deepEqual(pages.allocMany(3), [0x104, 0x105, 0x106]);
  t.is(pages.free, 0);
  t.throws(() => pages.alloc(), { message: /out of memory/ });
  t.throws(() => pages.allocMany(1), { message: /1 frames wanted, 0 free/ });
});

test('the page allocator refuses a double free, and takes frames Xen added beyond the boot reservation', (t) => {
  const pages = new PageAllocator(0, 4, []);
  const g = pages.alloc();
  pages.freePage(g);
  t.throws(() => pages.freePage(g), { message: /freed twice/ });
  t.throws(() => pages.freePage(3), { message: /freed twice/ }, 'never handed out: still free');
  pages.freePage(9);
  t.is(pages.free, 5);
});

test('allocAligned takes a naturally aligned block out of a free run, splitting it, and says when none fits', (t) => {
  const pa = new PageAllocator(3, 64, [20]);
  t.is(pa.allocAligned(4), 4, 'frame 3 is skipped: the block starts at the first multiple of 4');
  t.is(pa.alloc(), 3, 'the frame before the block is still free');
  t.is(pa.allocAligned(3), 8, 'three frames are aligned to four');
  t.is(pa.allocAligned(16), 32, 'frame 20 is taken, so 16..31 is no whole block');
  t.is(pa.allocAligned(1), 11);
  t.is(pa.free, 64 - 3 - 1 - 4 - 1 - 3 - 16 - 1);
  t.throws(() => pa.allocAligned(32), { message: /no 32 free frames aligned to 32/ });
  t.is(pa.free, 64 - 3 - 1 - 4 - 1 - 3 - 16 - 1, 'a failed allocation takes nothing');
  const seen = new Set<number>();
  while (pa.free > 0) seen.add(pa.alloc());
  for (const g of [3, 4, 5, 6, 7, 8, 9, 10, 11, 20, ...Array.from({ length: 16 }, (_, i) => 32 + i)]) t.false(seen.has(g), `frame ${g} is not handed out twice`);
});

test('the free list of grant references ends in GRANT_REF_INVALID and skips the reserved entries', (t) => {
  const refs = new GrefAllocator(12, GNTTAB.NR_RESERVED_ENTRIES);
  t.is(refs.free, 4);
  const chain = refs.claimChain(4)!;
  const got: number[] = [];
  for (let r = chain; r !== GRANT_REF_INVALID; r = refs.nextInChain(r)) got.push(r);
  t.deepEqual(got, [8, 9, 10, 11]);
  t.is(refs.claim(), null);
  t.is(refs.claimChain(1), null);
  refs.releaseChain(chain);
  t.is(refs.free, 4);
  t.throws(() => refs.release(3), { message: /never handed out/ });
});

test('releasing a batch of references takes the lock once, where one by one takes it per reference', (t) => {
  const refs = new GrefAllocator(GRANT_ENTRIES_PER_FRAME_V1, GNTTAB.NR_RESERVED_ENTRIES);
  const claimed = Array.from({ length: 100 }, () => refs.claim()!);
  const before = refs.lock.acquisitions;
  refs.releaseMany(claimed);
  t.is(refs.lock.acquisitions - before, 1);
  const again = Array.from({ length: 100 }, () => refs.claim()!);
  t.deepEqual([...again].sort((a, b) => a - b), [...claimed].sort((a, b) => a - b), 'the same references come back');
  const before2 = refs.lock.acquisitions;
  for (const r of again) refs.release(r);
  t.is(refs.lock.acquisitions - before2, 100);
  t.is(refs.free, GRANT_ENTRIES_PER_FRAME_V1 - GNTTAB.NR_RESERVED_ENTRIES);
});

test('a grant is written into the guest\'s grant frame at the ABI offsets, and ended grants are released in one lock acquisition', (t) => {
  const f = frames(1);
  const gt = new GuestGrantTable(f);
  const a = gt.grantForeignAccess(0, 0x1234, false);
  const b = gt.grantForeignAccess(0, 0x1235, true);
  t.is(a, GNTTAB.NR_RESERVED_ENTRIES);
  const dv = new DataView(f.pages[0]!.buffer);
  t.is(dv.getUint16(a * 8, true), GTF.permit_access);
  t.is(dv.getUint16(a * 8 + 2, true), 0);
  t.is(dv.getUint32(a * 8 + 4, true), 0x1234);
  t.is(dv.getUint16(b * 8, true), GTF.permit_access | GTF.readonly);
  const before = gt.refs.lock.acquisitions;
  t.is(gt.endForeignAccessReferences([a, b]), 2);
  t.is(gt.refs.lock.acquisitions - before, 1);
  t.is(dv.getUint16(a * 8, true), 0, 'the entry is revoked');
});

test('a grant still mapped by the other domain is deferred, not freed; a retry frees it once unmapped', (t) => {
  const f = frames(1);
  const gt = new GuestGrantTable(f);
  const busy = gt.grantForeignAccess(0, 1, false);
  const idle = gt.grantForeignAccess(0, 2, false);
  const dv = new DataView(f.pages[0]!.buffer);
  dv.setUint16(busy * 8, GTF.permit_access | GTF.reading, true); // Xen marks it mapped
  const free = gt.refs.free;
  t.is(gt.inUseReason(busy), `grant ${busy} is still in use by domain 0 (GTF_reading): it must unmap it first`, 'the caller can say why');
  t.is(gt.inUseReason(idle), null);
  t.is(gt.endForeignAccessReferences([busy, idle]), 1);
  t.is(gt.refs.free, free + 1);
  t.is(gt.deferredCount, 1);
  t.is(gt.retryDeferred(), 0, 'still mapped');
  dv.setUint16(busy * 8, GTF.permit_access, true); // unmapped
  t.false(gt.inUse(busy));
  t.is(gt.retryDeferred(), 1);
  t.is(gt.refs.free, free + 2);
  // The busy one was the first of the batch: the chain's tail must still be right.
  const all = Array.from({ length: gt.refs.free }, () => gt.refs.claim());
  t.false(all.includes(null));
  t.is(new Set(all).size, all.length, 'no reference is on the free list twice');
});

test('with a clock, deferred grants are retried every second until they end, and their then() runs once', (t) => {
  const clock = new VirtualClock();
  const f = frames(1);
  const gt = new GuestGrantTable(f, 1, clock);
  const ref = gt.grantForeignAccess(0, 1, false);
  const dv = new DataView(f.pages[0]!.buffer);
  dv.setUint16(ref * 8, GTF.permit_access | GTF.writing | GTF.reading, true); // mapped
  const ended: number[] = [];
  t.is(gt.endForeignAccessReferences([ref], (r) => ended.push(r)), 0);
  clock.advance(3e9);
  t.is(gt.deferredCount, 1, 'still mapped after three retries');
  t.deepEqual(ended, []);
  dv.setUint16(ref * 8, GTF.permit_access, true); // unmapped
  clock.advance(0.5e9);
  t.is(gt.deferredCount, 1, 'not before the next second');
  clock.advance(0.5e9);
  t.is(gt.deferredCount, 0);
  t.deepEqual(ended, [ref]);
  clock.advance(10e9);
  t.deepEqual(ended, [ref], 'no retry left running');
});

test('the grant table grows a frame at a time when references run out, up to its maximum', (t) => {
  const f = frames(2);
  const gt = new GuestGrantTable(f);
  const n = 2 * GRANT_ENTRIES_PER_FRAME_V1 - GNTTAB.NR_RESERVED_ENTRIES;
  const refs = Array.from({ length: n }, (_, i) => gt.grantForeignAccess(1, i, false));
  t.is(f.pages.length, 2);
  t.is(refs.at(-1), 2 * GRANT_ENTRIES_PER_FRAME_V1 - 1);
  t.throws(() => gt.grantForeignAccess(1, 0, false), { message: /2-frame maximum/ });
});
