import { XEN_PAGE_SIZE } from '../abi/layout.js';
import { XenemuError } from '../common/errors.js';
import { alignedSlab } from './host-pages.js';

/** log2(XEN_PAGE_SIZE): guest pages are 4 KiB, as on x86. */
export const PAGE_SHIFT = 12;

/**
 * Host memory is allocated in aligned chunks of this many frames. A frontend that
 * allocates a multi-page ring as an aligned block of up to 16 frames (Linux's
 * alloc_pages(order ≤ 4), which max-ring-page-order allows) gets pages that are
 * contiguous in one ArrayBuffer, so a backend can lay io/ring.h slots across page
 * boundaries without copying.
 */
export const CHUNK_PAGES = 16;
const CHUNK_SHIFT = 4;
const CHUNK_BYTES = CHUNK_PAGES * XEN_PAGE_SIZE;
/**
 * A domain's first chunks (4 MiB) are buffers of their own from the heap: cheap to
 * make, and all an idle guest touches. Its later ones come out of page-aligned slabs
 * (host-pages.ts), 64 MiB each, made as a frame in them is first touched: a guest that
 * touches that much memory moves data through it (block and network buffers), which
 * aligned frames take at up to 1.7 times the speed. A restore's reads into place keep
 * to the heap: their chunks come from memory malloc has freed, already resident.
 */
export const HEAP_CHUNKS = 64;
const SLAB_SHIFT = 10;
const SLAB_CHUNKS = 1 << SLAB_SHIFT;
/** No domain has more frames than this (8 TiB): frame numbers stay small integers. */
export const MAX_FRAMES = 2 ** 31;

/** Bits set in each byte value, for counting dirty pages. */
const POPCOUNT = Uint8Array.from({ length: 256 }, (_, b) => {
  let n = 0;
  for (let x = b; x !== 0; x &= x - 1) n++;
  return n;
});

/** A frame outside the domain's memory, or a reservation past its maximum. */
export class MemoryError extends XenemuError {
  constructor(message: string) {
    super('EINVAL', message);
  }
}

/**
 * A domain's memory as saved: its frame space, its reservation, and the frames that
 * have host memory behind them, in ascending order with their contents (4096 bytes
 * each, copied). A save-file writer streams `pfns` and `pages` as the page records of
 * Xen's migration stream (PAGE_DATA: a batch of pfns, then their pages); frames never
 * touched are populated but zero, and are not carried.
 *
 * References other domains hold are not saved, nor pages the guest gave up that they
 * still hold: those are the holders' business, and a save of one domain carries none
 * of other domains' mappings (as Xen's does not). The reservation saved is the guest's
 * own (tot_pages without the given-up pages).
 */
export interface SavedMemory {
  maxPages: number;
  reservation: number;
  pfns: number[];
  pages: Uint8Array[];
  /**
   * When `pages` are the frames of a GuestMemory already (a save stream read straight
   * into place): a load takes that memory as the new domain's instead of copying them.
   */
  frames?: ReadFrames;
}

/**
 * Pages read in place, waiting for the domain that takes them (GuestMemory.load). They
 * go to one domain only: a second load of the same image would share the first's
 * frames, so it is refused.
 */
export class ReadFrames {
  private memory: GuestMemory | null;

  constructor(memory: GuestMemory) {
    this.memory = memory;
  }

  take(): GuestMemory {
    const m = this.memory;
    if (m === null) throw new MemoryError('the saved pages were read into a domain that took them already: the image cannot be loaded twice');
    this.memory = null;
    return m;
  }
}

/**
 * Page-aligned host memory for SLAB_CHUNKS consecutive chunks. Its frames not backed
 * are zeros: new, the kernel zeroes them; a frame given up is zeroed before its slot
 * can be backed again.
 */
interface Slab {
  buffer: ArrayBuffer;
  /** Its chunks that have a frame backed. */
  chunks: number;
}

interface Chunk {
  buffer: ArrayBuffer;
  /** Where the chunk's first frame is in `buffer`. */
  base: number;
  /** The slab `buffer` is, or null for a buffer of the chunk's own. */
  slab: Slab | null;
  /** Frames of this chunk something has touched. */
  backed: number;
  /**
   * Slots whose bytes are not zeros yet (bit n: slot n), in a chunk allocated unzeroed
   * for a restore's reads; 0 for every other chunk, whose frames not backed are zeros
   * (code may rely on that: netback views 16 frames it backed one of).
   */
  unzeroed: number;
}

/** `count` frames of a chunk from slot `slot` on, in place. */
function chunkFrames(c: Chunk, slot: number, count: number): Uint8Array {
  return new Uint8Array(c.buffer, c.base + slot * XEN_PAGE_SIZE, count * XEN_PAGE_SIZE);
}

/** A page another domain holds: its view (the page's identity, as an mfn is in Xen). */
interface Held {
  gfn: number;
  /** References other than the guest's own: grant mappings, foreign mappings, copies. */
  refs: number;
  /** The guest gave the page up (balloon, destroy) while it was held: it is freed at the last put. */
  orphaned: boolean;
}

/** A page outside the chunks (given to a gfn whose chunk slot an old, still-held page takes). */
function standalone(page: Uint8Array): boolean {
  return page.buffer.byteLength === XEN_PAGE_SIZE;
}

/**
 * A domain's pseudo-physical memory: frame numbers (gfns) 0..maxPages-1, of which
 * `reservation` are populated, as Xen counts a domain's tot_pages.
 *
 * Xen gives every populated frame real memory; here a frame only gets host memory when
 * something touches it (the kernel's own structures, rings, granted pages), so a 4 GiB
 * guest that uses a handful of pages costs a chunk or two. Frames are plain
 * ArrayBuffers in the binary layouts of the Xen headers, which keeps a later move of
 * domains into worker threads (SharedArrayBuffer) open.
 *
 * Pages carry reference counts, as Xen's page_info count_info does: another domain that
 * maps a page (a grant mapping, a privileged foreign mapping) takes a reference, and a
 * page with references is never zeroed or freed. When the guest gives such a page up
 * (decrease_reservation, or the domain being destroyed) it leaves the guest's frame
 * space at once, but lives on, contents intact, until the last holder puts it: only
 * then is it freed and leaves the domain's page count (Xen's guest_remove_page drops
 * the allocation reference and free_domheap_pages runs at the last put_page). A gfn the
 * guest touches again meanwhile gets a different, zeroed page.
 */
export class GuestMemory {
  /** By slab number (chunk number >> SLAB_SHIFT). */
  private readonly slabs = new Map<number, Slab>();
  private readonly chunks = new Map<number, Chunk>();
  private readonly views = new Map<number, Uint8Array>();
  /**
   * Pages with references, by view (whether the guest still has them or not). A
   * WeakMap: never iterated, and V8's Map slows down badly under set/delete churn once
   * it holds thousands of entries (a backend keeping persistent grants mapped).
   */
  private readonly held = new WeakMap<Uint8Array, Held>();
  /** gfns whose chunk slot is still taken by a page the guest gave up while it was held. */
  private readonly slotTaken = new Set<number>();
  /** Pages given to a gfn whose slot was taken: host memory outside the chunks. */
  private standalone = 0;
  /** Held pages the guest gave up, waiting for their last put. */
  private orphans = 0;
  /**
   * Log-dirty mode (Xen's paging log-dirty, what a live migration turns on): one bit per
   * frame, set by every write the hypervisor learns of, in the bitmap layout
   * XEN_DOMCTL_SHADOW_OP_CLEAN returns (bit n of byte n/8 is frame n). Null while off,
   * which is the only thing a write path checks then.
   */
  private dirtyBits: Uint8Array | null = null;
  /** Writes marked since the last clean (Xen's fault_count: the log-dirty faults taken). */
  private dirtyFaults = 0;
  /**
   * Bumped by every change of the memory's contents the hypervisor learns of, log-dirty
   * mode or not: a write marked (markDirty), a frame backed or given up. Equal
   * generations mean the same pages, except those other domains hold writable (whose
   * writes are not reported, as for log-dirty): a host's checkpoint compares it.
   */
  generation = 0;

  constructor(
    /** Size of the guest's frame space (its maxmem in pages). */
    public maxPages: number,
    /** Populated frames, plus given-up pages still held: what Xen reports as the domain's current memory. */
    public reservation: number,
  ) {
    if (reservation > maxPages) throw new MemoryError(`reservation ${reservation} exceeds the ${maxPages}-page maximum`);
  }

  private check(gfn: number): void {
    if (!this.inRange(gfn)) {
      throw new MemoryError(`gfn ${gfn} is outside the domain's ${this.maxPages} pages`);
    }
  }

  /** Whether `gfn` is a frame number of this domain. */
  inRange(gfn: number): boolean {
    return Number.isInteger(gfn) && gfn >= 0 && gfn < this.maxPages;
  }

  /** `gfn`'s chunk; a new one is zeros, or for a caller about to overwrite, not yet (its slots are zeroed as they are backed). */
  private chunk(gfn: number, overwrite = false): Chunk {
    const key = gfn >> CHUNK_SHIFT;
    let c = this.chunks.get(key);
    if (c === undefined) {
      const slab = overwrite || this.chunks.size < HEAP_CHUNKS ? null : this.slab(key >> SLAB_SHIFT);
      if (slab !== null) {
        slab.chunks++;
        c = { buffer: slab.buffer, base: (key & (SLAB_CHUNKS - 1)) * CHUNK_BYTES, slab, backed: 0, unzeroed: 0 };
      } else if (overwrite) c = { buffer: Buffer.allocUnsafeSlow(CHUNK_BYTES).buffer, base: 0, slab: null, backed: 0, unzeroed: (1 << CHUNK_PAGES) - 1 };
      else c = { buffer: new ArrayBuffer(CHUNK_BYTES), base: 0, slab: null, backed: 0, unzeroed: 0 };
      this.chunks.set(key, c);
    }
    return c;
  }

  /** Slab number `n`, made if it is not there; null if the host gives no page-aligned memory. */
  private slab(n: number): Slab | null {
    let slab = this.slabs.get(n);
    if (slab === undefined) {
      const buffer = alignedSlab(SLAB_CHUNKS * CHUNK_BYTES);
      if (buffer === null) return null;
      slab = { buffer, chunks: 0 };
      this.slabs.set(n, slab);
    }
    return slab;
  }

  /**
   * The page at `gfn`, backed on first touch (an untouched frame reads as zeros).
   * `overwrite`: the caller writes all of a newly backed page before anything reads
   * it (a restore reading pages into place), so its chunk need not be zeroed first.
   */
  page(gfn: number, options: { overwrite?: boolean } = {}): Uint8Array {
    let v = this.views.get(gfn);
    if (v === undefined) {
      this.check(gfn);
      if (this.slotTaken.has(gfn)) {
        v = new Uint8Array(XEN_PAGE_SIZE);
        this.standalone++;
      } else {
        const c = this.chunk(gfn, options.overwrite === true);
        c.backed++;
        const slot = gfn & (CHUNK_PAGES - 1);
        v = chunkFrames(c, slot, 1);
        if ((c.unzeroed & (1 << slot)) !== 0) {
          c.unzeroed &= ~(1 << slot);
          if (options.overwrite !== true) v.fill(0);
        }
      }
      this.views.set(gfn, v);
      this.generation++;
    }
    return v;
  }

  /**
   * `count` consecutive frames as one view, for structures that span pages (multi-page
   * rings). They must lie within one aligned chunk, as an order-N allocation does.
   */
  pages(gfn: number, count: number): Uint8Array {
    this.check(gfn);
    this.check(gfn + count - 1);
    if (gfn >> CHUNK_SHIFT !== (gfn + count - 1) >> CHUNK_SHIFT) {
      throw new MemoryError(`frames ${gfn}..${gfn + count - 1} are not one aligned block of at most ${CHUNK_PAGES}`);
    }
    for (let i = 0; i < count; i++) {
      if (standalone(this.page(gfn + i))) throw new MemoryError(`frame ${gfn + i} is not contiguous with its neighbours (its old page was still mapped by another domain when it was given up)`);
    }
    const c = this.chunk(gfn);
    return chunkFrames(c, gfn & (CHUNK_PAGES - 1), count);
  }

  isBacked(gfn: number): boolean {
    return this.views.has(gfn);
  }

  /** The frames with host memory behind them, ascending: every page that exists to a migration's first round. */
  backedFrames(): number[] {
    return [...this.views.keys()].sort((a, b) => a - b);
  }

  /** The page at `gfn` if it has memory behind it, else null (never backs one: a reader must not grow the domain). */
  backedPage(gfn: number): Uint8Array | null {
    return this.views.get(gfn) ?? null;
  }

  /** Frames that have host memory behind them. */
  get backedPages(): number {
    return this.views.size;
  }

  /** Host memory held, in bytes (whole chunks, and standalone pages). */
  get hostBytes(): number {
    return (this.chunks.size * CHUNK_PAGES + this.standalone) * XEN_PAGE_SIZE;
  }

  /**
   * get_page: another domain takes a reference on the page at `gfn` (backing it if it
   * was never touched). The page itself is returned: it is what the holder reads and
   * writes, and what it hands back to putPage, whatever the guest does with the gfn
   * meanwhile.
   */
  getPage(gfn: number): Uint8Array {
    const v = this.page(gfn);
    const h = this.held.get(v);
    if (h === undefined) this.held.set(v, { gfn, refs: 1, orphaned: false });
    else h.refs++;
    return v;
  }

  /** put_page: drop a reference taken with getPage; a page the guest gave up is freed at the last one. */
  putPage(page: Uint8Array): void {
    const h = this.held.get(page);
    if (h === undefined) throw new MemoryError('put of a page that holds no reference');
    if (--h.refs > 0) return;
    this.held.delete(page);
    if (!h.orphaned) return;
    this.orphans--;
    this.reservation--;
    page.fill(0);
    if (standalone(page)) {
      this.standalone--;
    } else {
      this.slotTaken.delete(h.gfn);
      this.unbackSlot(h.gfn);
    }
  }

  /** References other domains hold on the page the guest has at `gfn` (0 if none). */
  refs(gfn: number): number {
    const v = this.views.get(gfn);
    return v === undefined ? 0 : (this.held.get(v)?.refs ?? 0);
  }

  /** Pages the guest gave up that other domains still hold. */
  get heldOrphans(): number {
    return this.orphans;
  }

  /** A frame's slot is free again (its page zeroed): a chunk with nothing left in it goes, and so does such a slab. */
  private unbackSlot(gfn: number): void {
    const key = gfn >> CHUNK_SHIFT;
    const c = this.chunks.get(key)!;
    if (--c.backed !== 0) return;
    this.chunks.delete(key);
    // A slab relinquish let go of is out of the map already.
    if (c.slab !== null && --c.slab.chunks === 0 && this.slabs.get(key >> SLAB_SHIFT) === c.slab) this.slabs.delete(key >> SLAB_SHIFT);
  }

  /**
   * The guest gives the page at `gfn` up. Unheld, it is zeroed and its memory freed;
   * held, it leaves the frame space but keeps its contents (and its place in the
   * domain's count) for its holders. Returns whether it left the count now.
   */
  private giveUp(gfn: number): boolean {
    const v = this.views.get(gfn);
    if (v === undefined) return true;
    // The frame's contents are gone: a migration must send it again (as nothing, now).
    this.markDirty(gfn);
    this.views.delete(gfn);
    const h = this.held.get(v);
    if (h !== undefined) {
      h.orphaned = true;
      this.orphans++;
      if (!standalone(v)) this.slotTaken.add(gfn);
      return false;
    }
    v.fill(0);
    if (standalone(v)) this.standalone--;
    else this.unbackSlot(gfn);
    return true;
  }

  /**
   * Give frames back (a balloon inflating): the reservation shrinks by the frames that
   * nobody else holds, their contents are gone, and a chunk with nothing left in it is
   * freed. A held frame leaves the guest too, but stays counted until its last put.
   */
  release(gfns: readonly number[]): void {
    let freed = 0;
    for (const gfn of gfns) if (this.giveUp(gfn)) freed++;
    this.reservation = Math.max(0, this.reservation - freed);
  }

  /**
   * The domain is being destroyed (relinquish_memory): every page goes, except those
   * other domains still hold, which are freed at their last put. Returns how many are
   * still held.
   */
  relinquish(): number {
    // Wholesale: the chunks and slabs go with the domain, so no page is zeroed or
    // unbacked one by one. What stays is what putPage needs for the held pages' last
    // puts: each chunk with a held page in it, counting its held pages (those given up
    // before included). A slab stays alive through such chunks, out of the map: its
    // other frames are not zeros, so a frame backed later gets a new one.
    const kept = new Map<number, Chunk>();
    const keep = (gfn: number): void => {
      const key = gfn >> CHUNK_SHIFT;
      const c = kept.get(key);
      if (c === undefined) kept.set(key, { ...this.chunks.get(key)!, backed: 1, unzeroed: 0 });
      else c.backed++;
    };
    for (const gfn of this.slotTaken) keep(gfn);
    for (const [gfn, v] of this.views) {
      const h = this.held.get(v);
      if (h === undefined) {
        if (standalone(v)) this.standalone--;
        continue;
      }
      h.orphaned = true;
      this.orphans++;
      if (standalone(v)) continue;
      this.slotTaken.add(gfn);
      keep(gfn);
    }
    this.views.clear();
    this.generation++;
    this.chunks.clear();
    this.slabs.clear();
    for (const [key, c] of kept) this.chunks.set(key, c);
    this.reservation = this.orphans;
    return this.orphans;
  }

  /**
   * The backed frames and their contents: copies, a snapshot the guest may run on from;
   * or, `inPlace`, the frames themselves, for a caller that writes them out before the
   * guest runs again (a suspended domain being saved or migrated), which saves copying
   * every page.
   */
  save(options: { inPlace?: boolean } = {}): SavedMemory {
    const pfns = this.backedFrames();
    const reservation = this.reservation - this.orphans;
    if (options.inPlace === true) return { maxPages: this.maxPages, reservation, pfns, pages: pfns.map((gfn) => this.views.get(gfn)!) };
    // One buffer for all the copies: a page each would be an ArrayBuffer each, which
    // for a guest that touched 256 MiB costs more than copying the bytes.
    const copy = new Uint8Array(pfns.length * XEN_PAGE_SIZE);
    const pages = pfns.map((gfn, i) => {
      const page = copy.subarray(i * XEN_PAGE_SIZE, (i + 1) * XEN_PAGE_SIZE);
      page.set(this.views.get(gfn)!);
      return page;
    });
    return { maxPages: this.maxPages, reservation, pfns, pages };
  }

  /** A domain's memory from a save: the saved frames backed with their contents, nothing held. */
  static load(saved: SavedMemory): GuestMemory {
    if (saved.pfns.length !== saved.pages.length) throw new MemoryError(`saved memory has ${saved.pfns.length} frame numbers but ${saved.pages.length} pages`);
    if (saved.frames !== undefined) return GuestMemory.adopt(saved, saved.frames);
    const m = new GuestMemory(saved.maxPages, saved.reservation);
    saved.pfns.forEach((gfn, i) => {
      const data = saved.pages[i]!;
      if (data.length !== XEN_PAGE_SIZE) throw new MemoryError(`saved page for gfn ${gfn} is ${data.length} bytes, not ${XEN_PAGE_SIZE}`);
      m.page(gfn).set(data);
    });
    return m;
  }

  /**
   * A memory whose frames were filled before the domain was known (a stream read in
   * place: GuestMemory.reading), sized now as the save says. Its pages are not copied.
   */
  private static adopt(saved: SavedMemory, frames: ReadFrames): GuestMemory {
    if (saved.reservation > saved.maxPages) throw new MemoryError(`reservation ${saved.reservation} exceeds the ${saved.maxPages}-page maximum`);
    const m = frames.take();
    for (const gfn of m.views.keys()) if (gfn >= saved.maxPages) throw new MemoryError(`saved page for gfn ${gfn} is outside the domain's ${saved.maxPages} pages`);
    m.maxPages = saved.maxPages;
    m.reservation = saved.reservation;
    // The frames the stream did not fill read as zeros from now on, as in any chunk.
    for (const c of m.chunks.values()) {
      for (let slot = 0; c.unzeroed !== 0; slot++) {
        if ((c.unzeroed & (1 << slot)) === 0) continue;
        chunkFrames(c, slot, 1).fill(0);
        c.unzeroed &= ~(1 << slot);
      }
    }
    return m;
  }

  /**
   * An empty memory to read a save's pages into before their domain is known: its
   * frame space is what the domain is declared to have (every pfn a domain could
   * have, if nothing is); GuestMemory.load sizes it (the save's ReadFrames) and takes
   * it as the domain's.
   */
  static reading(maxPages = MAX_FRAMES): GuestMemory {
    return new GuestMemory(Math.min(maxPages, MAX_FRAMES), 0);
  }

  /** Whether log-dirty mode is on. */
  get logDirty(): boolean {
    return this.dirtyBits !== null;
  }

  /** Turn log-dirty mode on with no page dirty (paging_log_dirty_enable); EINVAL if it is on already. */
  enableLogDirty(): void {
    if (this.dirtyBits !== null) throw new MemoryError('log-dirty mode is already on');
    this.dirtyBits = new Uint8Array((this.maxPages + 7) >> 3);
    this.dirtyFaults = 0;
  }

  /** Turn log-dirty mode off, forgetting what was dirty (paging_log_dirty_disable). */
  disableLogDirty(): void {
    this.dirtyBits = null;
  }

  /**
   * paging_mark_dirty: the page at `gfn` was written (a store of the guest, a grant
   * mapping or copy into it, a foreign mapping of it). Nothing happens with log-dirty
   * off, or for a frame outside the domain.
   */
  markDirty(gfn: number): void {
    this.generation++;
    const bits = this.dirtyBits;
    if (bits === null || !(gfn >= 0 && gfn < bits.length * 8)) return;
    bits[gfn >> 3]! |= 1 << (gfn & 7);
    this.dirtyFaults++;
  }

  /**
   * The dirty bitmap, and how many bits are set in it; `clean` also clears it, so the
   * next call reports only what was written since (XEN_DOMCTL_SHADOW_OP_CLEAN; PEEK
   * leaves it). Throws unless log-dirty mode is on.
   */
  dirtyBitmap(clean: boolean): { bitmap: Uint8Array; dirtyCount: number; faultCount: number } {
    const bits = this.dirtyBits;
    if (bits === null) throw new MemoryError('log-dirty mode is off');
    const bitmap = bits.slice();
    const faultCount = this.dirtyFaults;
    if (clean) {
      bits.fill(0);
      this.dirtyFaults = 0;
    }
    let dirtyCount = 0;
    for (const byte of bitmap) dirtyCount += POPCOUNT[byte]!;
    return { bitmap, dirtyCount, faultCount };
  }

  /** Take frames back (a balloon deflating); the caller has checked the allocation limit. */
  populate(count: number): void {
    if (this.reservation + count > this.maxPages) throw new MemoryError('populating beyond the domain\'s frame space');
    this.reservation += count;
  }
}
