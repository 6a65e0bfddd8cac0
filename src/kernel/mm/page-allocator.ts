import type { PageAllocatorState } from './saved.js';

/**
 * The kernel's page allocator: which guest frames of the domain's reservation are free.
 * It replaces a bump pointer and fixed frame numbers, so a frame the kernel took for
 * its own structures (a vcpu_info page, a ring it grants) and a frame the balloon gave
 * back to Xen can never be the same, and a page that is freed can be handed out again.
 *
 * Free frames are kept as runs (start, end) plus a stack of single frames given back:
 * a 2 GiB dom0 has half a million frames, which as one list would cost megabytes per
 * domain. A frame given back is handed out first (it is the most likely to be backed
 * already, as Linux's per-CPU hot list prefers); otherwise the lowest free frame goes,
 * so allocation is deterministic.
 */
export class PageAllocator {
  /** Free runs [start, end), in ascending order. */
  private readonly runs: Array<[number, number]> = [];
  /** Frames given back by freePage(), newest last, and the same as a set for the double-free check. */
  private readonly freed: number[] = [];
  private readonly freedSet = new Set<number>();
  private count = 0;

  /**
   * @param firstGfn the first frame the allocator may hand out (those below hold the kernel image)
   * @param endGfn one past the last frame of the reservation the domain booted with
   * @param reserved frames in that range that are already in use (the builder's special pages)
   */
  constructor(
    firstGfn: number,
    endGfn: number,
    reserved: Iterable<number>,
  ) {
    const taken = [...new Set(reserved)].filter((g) => g >= firstGfn && g < endGfn).sort((a, b) => a - b);
    let start = firstGfn;
    for (const g of [...taken, endGfn]) {
      if (g > start) this.runs.push([start, g]);
      start = g + 1;
    }
    this.count = this.runs.reduce((n, [s, e]) => n + e - s, 0);
  }

  /** Frames free now. */
  get free(): number {
    return this.count;
  }

  /** One free frame; throws when none is left (the kernel's out-of-memory). */
  alloc(): number {
    const gfn = this.freed.pop() ?? this.takeFromRuns();
    if (gfn === undefined) throw new Error('out of memory: no free guest frame left');
    this.freedSet.delete(gfn);
    this.count--;
    return gfn;
  }

  /** `n` free frames, all or none. */
  allocMany(n: number): number[] {
    if (n > this.count) throw new Error(`out of memory: ${n} frames wanted, ${this.count} free`);
    return Array.from({ length: n }, () => this.alloc());
  }

  /**
   * alloc_pages(order): `count` free frames with consecutive numbers, the first aligned
   * to `count` rounded up to a power of two, as a buddy allocator's order-N block is.
   * Up to 16 frames (order 4) such a block lies in one of guest memory's 16-frame
   * chunks, so its pages are adjacent in one buffer: what a multi-page ring needs to be
   * read in place. Only whole free runs are searched (frames given back one by one are
   * left for single allocations), lowest first. Returns the first frame; throws when no
   * run holds such a block.
   */
  allocAligned(count: number): number {
    if (!(Number.isInteger(count) && count >= 1)) throw new RangeError(`cannot allocate ${count} frames`);
    const align = 2 ** Math.ceil(Math.log2(count));
    for (let i = 0; i < this.runs.length; i++) {
      const [start, end] = this.runs[i]!;
      const first = Math.ceil(start / align) * align;
      if (first + count > end) continue;
      const pieces: Array<[number, number]> = [];
      if (first > start) pieces.push([start, first]);
      if (first + count < end) pieces.push([first + count, end]);
      this.runs.splice(i, 1, ...pieces);
      this.count -= count;
      return first;
    }
    throw new Error(`out of memory: no ${count} free frames aligned to ${align} (${this.count} frames free)`);
  }

  /**
   * Give a frame back: one this allocator handed out, or one Xen added to the
   * reservation beyond the frames the domain booted with (the balloon growing past its
   * boot size). Freeing a free frame is the double free that would let two users share
   * a page, so it throws.
   */
  freePage(gfn: number): void {
    if (this.freedSet.has(gfn) || this.runs.some(([s, e]) => gfn >= s && gfn < e)) throw new Error(`gfn 0x${gfn.toString(16)} freed twice`);
    this.freed.push(gfn);
    this.freedSet.add(gfn);
    this.count++;
  }

  save(): PageAllocatorState {
    return { runs: this.runs.map(([s, e]) => [s, e]), freed: [...this.freed] };
  }

  /**
   * Take a save in place of what this allocator holds. Runs that overlap, or a frame
   * both in a run and given back, would hand one frame out twice: refused.
   */
  load(s: PageAllocatorState): void {
    let end = -Infinity;
    for (const [start, stop] of s.runs) {
      if (!(Number.isInteger(start) && Number.isInteger(stop) && start >= end && stop > start)) throw new RangeError(`saved page allocator: run [${start}, ${stop}) is empty, or overlaps or precedes the one before`);
      end = stop;
    }
    const freed = new Set(s.freed);
    if (freed.size !== s.freed.length || s.freed.some((g) => !Number.isInteger(g) || s.runs.some(([a, b]) => g >= a && g < b))) {
      throw new RangeError('saved page allocator: a frame is free twice');
    }
    // Element by element, not splice(...): a spread of a few hundred thousand frames overflows the stack.
    this.runs.length = 0;
    for (const [a, b] of s.runs) this.runs.push([a, b]);
    this.freed.length = 0;
    for (const g of s.freed) this.freed.push(g);
    this.freedSet.clear();
    for (const g of s.freed) this.freedSet.add(g);
    this.count = this.runs.reduce((n, [a, b]) => n + b - a, 0) + this.freed.length;
  }

  private takeFromRuns(): number | undefined {
    const run = this.runs[0];
    if (run === undefined) return undefined;
    const gfn = run[0]++;
    if (run[0] === run[1]) this.runs.shift();
    return gfn;
  }
}
