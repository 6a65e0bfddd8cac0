import test from 'ava';
import { GNTTAB, GTF } from '../../src/abi/index.js';
import { GuestGrantTable } from '../../src/kernel/mm/gnttab.js';
import { GRANT_REF_INVALID, GrefAllocator } from '../../src/kernel/mm/gref-allocator.js';
import { PageAllocator } from '../../src/kernel/mm/page-allocator.js';
import { frames } from './helpers.js';

// Save and load of the kernel's memory bookkeeping: through JSON, into a fresh
// object, compared deeply, and the loaded object hands out what the original would.

const viaJson = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

/** What `n` allocations give, one by one (null when the allocator ran dry). */
function drain(alloc: () => number | null, n: number): Array<number | null> {
  return Array.from({ length: n }, alloc);
}

test('the page allocator round-trips: the same frames go out in the same order after a load', (t) => {
  const pages = new PageAllocator(0x100, 0x140, [0x105, 0x120]);
  pages.allocMany(10);
  pages.freePage(0x103);
  pages.freePage(0x101);
  pages.freePage(0x200); // a frame Xen added beyond the boot reservation
  const saved = viaJson(pages.save());
  const loaded = new PageAllocator(0, 1, []);
  loaded.load(saved);
  t.deepEqual(loaded.save(), saved);
  t.is(loaded.free, pages.free);
  const tryAlloc = (p: PageAllocator) => () => (p.free > 0 ? p.alloc() : null);
  t.deepEqual(drain(tryAlloc(loaded), 60), drain(tryAlloc(pages), 60));
  loaded.freePage(0x12f);
  t.throws(() => loaded.freePage(0x12f), { message: /freed twice/ }, 'and still refuses a double free');
});

test('a page allocator save with a frame free twice does not load', (t) => {
  const p = new PageAllocator(0, 8, []);
  t.throws(() => p.load({ runs: [[0, 4], [2, 8]], freed: [] }), { message: /overlaps/ });
  t.throws(() => p.load({ runs: [[0, 4]], freed: [2] }), { message: /free twice/ });
  t.throws(() => p.load({ runs: [], freed: [9, 9] }), { message: /free twice/ });
  t.is(p.free, 8, 'a refused save changes nothing');
});

test('the grant-reference allocator round-trips with its free list order and the chains callers hold', (t) => {
  const refs = new GrefAllocator(64, GNTTAB.NR_RESERVED_ENTRIES);
  const single = [refs.claim()!, refs.claim()!, refs.claim()!];
  const chain = refs.claimChain(5)!;
  refs.release(single[1]!);
  refs.releaseMany([single[0]!, single[2]!]);
  const saved = viaJson(refs.save());
  const loaded = new GrefAllocator(GNTTAB.NR_RESERVED_ENTRIES, GNTTAB.NR_RESERVED_ENTRIES);
  loaded.load(saved);
  t.deepEqual(loaded.save(), saved);
  const walk = (r: GrefAllocator) => {
    const out: number[] = [];
    for (let ref = chain; ref !== GRANT_REF_INVALID; ref = r.nextInChain(ref)) out.push(ref);
    return out;
  };
  t.deepEqual(walk(loaded), walk(refs), 'the chain the caller holds is still linked');
  loaded.releaseChain(chain);
  refs.releaseChain(chain);
  t.deepEqual(drain(() => loaded.claim(), 70), drain(() => refs.claim(), 70));
});

test('a grant-reference save whose free list loops or hands out a reserved entry does not load', (t) => {
  const refs = new GrefAllocator(16, GNTTAB.NR_RESERVED_ENTRIES);
  const good = refs.save();
  const loop = structuredClone(good);
  loop.next[12] = 10;
  t.throws(() => new GrefAllocator(16, GNTTAB.NR_RESERVED_ENTRIES).load(loop), { message: /free list from 8 reaches 10/ });
  const reserved = structuredClone(good);
  reserved.head = 3;
  reserved.next[3] = 8;
  reserved.free++;
  t.throws(() => new GrefAllocator(16, GNTTAB.NR_RESERVED_ENTRIES).load(reserved), { message: /reaches 3/ });
  const miscount = { ...good, free: good.free + 1 };
  t.throws(() => new GrefAllocator(16, GNTTAB.NR_RESERVED_ENTRIES).load(miscount), { message: /holds 8 references, the save says 9/ });
});

test('the guest grant table round-trips: its size, its references and the grants deferred until the peer unmaps', (t) => {
  const f = frames(4);
  const gt = new GuestGrantTable(f);
  const granted = Array.from({ length: 600 }, (_, i) => gt.grantForeignAccess(0, 0x1000 + i, false)); // grows to 2 frames
  const busy = granted[3]!;
  const dv = (ref: number) => new DataView(f.pages[Math.floor(ref / 512)]!.buffer, (ref % 512) * 8);
  dv(busy).setUint16(0, GTF.permit_access | GTF.reading, true); // the peer maps it
  t.is(gt.endForeignAccessReferences(granted.slice(0, 10)), 9);
  const saved = viaJson(gt.save());
  t.is(saved.nrFrames, 2);
  t.deepEqual(saved.deferred, [busy]);

  // A fresh kernel over the same (hypervisor-held) frames.
  const loaded = new GuestGrantTable(f);
  loaded.load(saved);
  t.deepEqual(loaded.save(), saved);
  t.deepEqual(loaded.entry(granted[500]!), gt.entry(granted[500]!), 'the entries are the frames\', not copied');
  t.is(loaded.retryDeferred(), 0, 'still mapped');
  dv(busy).setUint16(0, GTF.permit_access, true); // the peer unmaps it
  t.is(loaded.retryDeferred(), 1);
  t.is(loaded.deferredCount, 0);
  t.is(loaded.grantForeignAccess(1, 0x9999, true), busy, 'the reference released last goes out first');
  t.throws(() => new GuestGrantTable(f).load({ ...saved, nrFrames: 3 }), { message: /1024 references for 3 frames/ });
});

test('a page allocator with a few hundred thousand frames given back loads (no spread of them as arguments)', (t) => {
  const pages = new PageAllocator(0, 400_000, []);
  const taken = pages.allocMany(300_000);
  for (const g of taken) pages.freePage(g);
  const loaded = new PageAllocator(0, 1, []);
  loaded.load(pages.save());
  t.is(loaded.free, 400_000);
});
