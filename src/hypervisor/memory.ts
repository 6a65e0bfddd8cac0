import { XEN_PAGE_SIZE } from '../abi/layout.js';
import { XenemuError } from '../common/errors.js';

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

/** A frame outside the domain's memory, or a reservation past its maximum. */
export class MemoryError extends XenemuError {
  constructor(message: string) {
    super('EINVAL', message);
  }
}

interface Chunk {
  buffer: ArrayBuffer;
  /** Frames of this chunk something has touched. */
  backed: number;
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
 */
export class GuestMemory {
  private readonly chunks = new Map<number, Chunk>();
  private readonly views = new Map<number, Uint8Array>();

  constructor(
    /** Size of the guest's frame space (its maxmem in pages). */
    public maxPages: number,
    /** Populated frames: what Xen reports as the domain's current memory. */
    public reservation: number,
  ) {
    if (reservation > maxPages) throw new MemoryError(`reservation ${reservation} exceeds the ${maxPages}-page maximum`);
  }

  private check(gfn: number): void {
    if (!Number.isInteger(gfn) || gfn < 0 || gfn >= this.maxPages) {
      throw new MemoryError(`gfn ${gfn} is outside the domain's ${this.maxPages} pages`);
    }
  }

  private chunk(gfn: number): Chunk {
    const key = gfn >> CHUNK_SHIFT;
    let c = this.chunks.get(key);
    if (c === undefined) {
      c = { buffer: new ArrayBuffer(CHUNK_PAGES * XEN_PAGE_SIZE), backed: 0 };
      this.chunks.set(key, c);
    }
    return c;
  }

  /** The page at `gfn`, backed on first touch. */
  page(gfn: number): Uint8Array {
    let v = this.views.get(gfn);
    if (v === undefined) {
      this.check(gfn);
      const c = this.chunk(gfn);
      c.backed++;
      v = new Uint8Array(c.buffer, (gfn & (CHUNK_PAGES - 1)) * XEN_PAGE_SIZE, XEN_PAGE_SIZE);
      this.views.set(gfn, v);
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
    for (let i = 0; i < count; i++) this.page(gfn + i);
    return new Uint8Array(this.chunk(gfn).buffer, (gfn & (CHUNK_PAGES - 1)) * XEN_PAGE_SIZE, count * XEN_PAGE_SIZE);
  }

  isBacked(gfn: number): boolean {
    return this.views.has(gfn);
  }

  /** Frames that have host memory behind them. */
  get backedPages(): number {
    return this.views.size;
  }

  /** Host memory held, in bytes (whole chunks). */
  get hostBytes(): number {
    return this.chunks.size * CHUNK_PAGES * XEN_PAGE_SIZE;
  }

  /**
   * Give frames back (a balloon inflating): the reservation shrinks, their contents
   * are gone, and a chunk with nothing left in it is freed.
   */
  release(gfns: readonly number[]): void {
    for (const gfn of gfns) {
      const v = this.views.get(gfn);
      if (v === undefined) continue;
      v.fill(0);
      this.views.delete(gfn);
      const key = gfn >> CHUNK_SHIFT;
      const c = this.chunks.get(key)!;
      if (--c.backed === 0) this.chunks.delete(key);
    }
    this.reservation = Math.max(0, this.reservation - gfns.length);
  }

  /** Take frames back (a balloon deflating); the caller has checked the allocation limit. */
  populate(count: number): void {
    if (this.reservation + count > this.maxPages) throw new MemoryError('populating beyond the domain\'s frame space');
    this.reservation += count;
  }
}
