import test from 'ava';
import { XEN_PAGE_SIZE } from '../../src/abi/layout.js';
import { CHUNK_PAGES, GuestMemory, ReadFrames } from '../../src/hypervisor/memory.js';
import { backHeapChunks } from '../helpers/guest-memory.js';

test('a held page given up keeps its contents and its place in the count until the last put', (t) => {
  const mem = new GuestMemory(64, 32);
  const page = mem.getPage(3);
  mem.getPage(3);
  page.fill(7);
  t.is(mem.refs(3), 2);
  mem.release([3, 4]);
  t.is(mem.reservation, 31, 'only the unheld frame left the count');
  t.is(mem.heldOrphans, 1);
  t.true(page.every((x) => x === 7));
  mem.putPage(page);
  t.true(page.every((x) => x === 7), 'one holder left');
  mem.putPage(page);
  t.is(mem.reservation, 30);
  t.is(mem.heldOrphans, 0);
  t.true(page.every((x) => x === 0), 'freed pages are zeroed');
  t.throws(() => mem.putPage(page), { message: /holds no reference/ });
});

test('a gfn touched again while its old page is held gets a new, zeroed page outside the chunk', (t) => {
  const mem = new GuestMemory(64, 32);
  const old = mem.getPage(5);
  old.fill(1);
  mem.release([5]);
  const fresh = mem.page(5);
  t.not(fresh, old);
  t.true(fresh.every((x) => x === 0));
  t.is(mem.hostBytes, (CHUNK_PAGES + 1) * XEN_PAGE_SIZE, 'one chunk (held by the old page) and one standalone page');
  t.throws(() => mem.pages(4, 2), { message: /not contiguous/ });
  mem.putPage(old);
  mem.release([4, 5]);
  t.is(mem.hostBytes, 0, 'everything freed');
});

test('relinquish frees all but the held pages, which then make up the whole count', (t) => {
  const mem = new GuestMemory(64, 32);
  for (const g of [1, 2, 20]) mem.page(g).fill(9);
  const held = mem.getPage(20);
  t.is(mem.relinquish(), 1);
  t.is(mem.reservation, 1);
  t.is(mem.backedPages, 0, 'the guest has no frame left');
  t.true(held.every((x) => x === 9));
  mem.putPage(held);
  t.is(mem.reservation, 0);
  t.is(mem.hostBytes, 0);
});

test('relinquish drops the chunks wholesale and keeps what the held pages need: each is freed at its last put, old orphans and standalone pages included', (t) => {
  const mem = new GuestMemory(256, 200);
  for (let g = 0; g < 64; g++) mem.page(g).fill(3);
  const before = mem.getPage(5); // given up while held, before the destroy
  mem.release([5]);
  const standalone = mem.getPage(5); // the gfn again: a page outside the chunk, held too
  const inChunk = mem.getPage(6);
  const elsewhere = mem.getPage(40);
  t.is(mem.hostBytes, (4 * CHUNK_PAGES + 1) * XEN_PAGE_SIZE);
  t.is(mem.relinquish(), 4);
  t.is(mem.backedPages, 0);
  t.is(mem.hostBytes, (2 * CHUNK_PAGES + 1) * XEN_PAGE_SIZE, 'only the chunks of held pages, and the standalone page');
  t.true([before, standalone, inChunk, elsewhere].every((p) => p.every((x) => x === 3 || x === 0)), 'held pages keep their contents');
  t.true(inChunk.every((x) => x === 3));
  mem.putPage(inChunk);
  t.is(mem.hostBytes, (2 * CHUNK_PAGES + 1) * XEN_PAGE_SIZE, "the first chunk still has the old orphan's slot");
  mem.putPage(before);
  mem.putPage(standalone);
  t.is(mem.hostBytes, CHUNK_PAGES * XEN_PAGE_SIZE);
  mem.putPage(elsewhere);
  t.is(mem.hostBytes, 0);
  t.is(mem.reservation, 0);
  t.is(mem.heldOrphans, 0);
});

test('frames backed to be overwritten get an unzeroed chunk: its other frames read as zeros once backed, and all of them once a load takes the memory', (t) => {
  const reading = GuestMemory.reading();
  const filled = reading.page(17, { overwrite: true });
  filled.fill(6);
  t.true(reading.page(18).every((x) => x === 0), 'a frame of that chunk backed for use: zeros');
  // What an unzeroed chunk may hold in the frames nobody backed (left over from other memory).
  new Uint8Array(filled.buffer, 5 * XEN_PAGE_SIZE, XEN_PAGE_SIZE).fill(0xee);
  const saved = { maxPages: 64, reservation: 32, pfns: [17, 18], pages: [filled, reading.page(18)], frames: new ReadFrames(reading) };
  const m = GuestMemory.load(saved);
  t.is(m.backedPage(17), filled, 'the same frame, not a copy');
  // Code may view a whole chunk through its first frame (netback's 16-frame buffers).
  const chunk = new Uint8Array(filled.buffer, 0, CHUNK_PAGES * XEN_PAGE_SIZE);
  t.true(chunk.every((x, i) => (i >= 1 * XEN_PAGE_SIZE && i < 2 * XEN_PAGE_SIZE ? x === 6 : x === 0)), 'frames never backed read as zeros');
  t.throws(() => GuestMemory.load(saved), { message: /cannot be loaded twice/ });
  const fresh = new GuestMemory(64, 64);
  fresh.page(0).fill(5);
  fresh.page(1, { overwrite: true }).fill(6);
  fresh.release([1]);
  t.true(fresh.page(1).every((x) => x === 0), 'a frame given up and touched again: zeros');
});

/** A memory of 64 Ki frames whose first chunks, the ones from the heap, are backed. */
const pastHeapChunks = (): GuestMemory => backHeapChunks(new GuestMemory(1 << 16, 1 << 16));

test('a domain\'s first 4 MiB of chunks are buffers of their own; later ones share 64 MiB slabs, frames adjacent across chunks', (t) => {
  const mem = pastHeapChunks();
  t.is(mem.page(0).buffer.byteLength, CHUNK_PAGES * XEN_PAGE_SIZE);
  const [a, b] = [mem.page(2047), mem.page(2048)];
  t.is(a.buffer.byteLength, 64 << 20);
  t.is(b.buffer, a.buffer, 'frames 2047 and 2048, in two chunks of one slab');
  t.is(b.byteOffset, a.byteOffset + XEN_PAGE_SIZE);
  t.is(mem.pages(2048, 2).byteOffset, b.byteOffset, 'a multi-page view is the frames themselves');
  t.not(mem.page(16384).buffer, a.buffer, 'the next 64 MiB: another slab');
  t.true(mem.page(2049).every((x) => x === 0));
});

test('a restore\'s frames read into place keep to buffers of their own, past the first 4 MiB too', (t) => {
  const mem = pastHeapChunks();
  t.is(mem.page(4096, { overwrite: true }).buffer.byteLength, CHUNK_PAGES * XEN_PAGE_SIZE);
});

test('a slab whose chunks are all freed goes; a frame backed in its place again reads zeros', (t) => {
  const mem = pastHeapChunks();
  const a = mem.page(3000);
  a.fill(1);
  mem.page(3100).fill(2);
  mem.release([3000, 3100]);
  const again = mem.page(3000);
  t.not(again.buffer, a.buffer, 'a new slab');
  t.true(again.every((x) => x === 0));
});

test('a frame backed after relinquish reads zeros, though a slab lives on through a held page in it', (t) => {
  const mem = pastHeapChunks();
  const held = mem.getPage(3000);
  held.fill(7);
  mem.page(3100).fill(9);
  t.is(mem.relinquish(), 1);
  t.true(held.every((x) => x === 7), 'the held page keeps its contents');
  backHeapChunks(mem);
  const later = mem.page(3100);
  t.not(later.buffer, held.buffer, 'not the relinquished slab');
  t.true(later.every((x) => x === 0));
  mem.putPage(held);
  t.true(held.every((x) => x === 0));
});

test('save and load: only backed frames are carried, contents and counts survive, nothing stays held', (t) => {
  const mem = new GuestMemory(1024, 600);
  mem.page(2).fill(0xaa);
  mem.page(700).fill(0x55);
  const held = mem.getPage(40);
  held.fill(9);
  const gone = mem.getPage(41);
  mem.release([41]); // given up while held: not the guest's any more
  const saved = mem.save();
  t.deepEqual(saved.pfns, [2, 40, 700]);
  t.is(saved.reservation, 599, 'the given-up page still held by another domain is not saved');
  const loaded = GuestMemory.load(saved);
  t.deepEqual(loaded.save(), saved, 'a second save of the loaded memory is the first');
  t.is(loaded.backedPages, 3);
  t.is(loaded.refs(40), 0, 'references other domains held are not carried');
  t.true(loaded.page(40).every((x) => x === 9));
  held.fill(1);
  t.true(saved.pages[1]!.every((x) => x === 9), 'a save is a copy, not a view of live memory');
  // The loaded memory behaves: a balloon cycle works within the saved frame space.
  loaded.release([2]);
  t.is(loaded.reservation, 598);
  t.false(loaded.isBacked(2));
  loaded.populate(426);
  t.is(loaded.reservation, 1024);
  t.throws(() => loaded.populate(1), { message: /beyond/ });
  mem.putPage(gone);
});

test('load refuses a save whose pages do not match its frame list', (t) => {
  const saved = new GuestMemory(16, 16).save();
  t.throws(() => GuestMemory.load({ ...saved, pfns: [1] }), { message: /1 frame numbers but 0 pages/ });
  t.throws(() => GuestMemory.load({ ...saved, pfns: [1], pages: [new Uint8Array(10)] }), { message: /10 bytes/ });
});
