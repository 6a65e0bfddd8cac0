import { XEN_PAGE_SIZE } from '../../abi/index.js';
import { XenemuError } from '../../common/errors.js';
import type { Clock } from '../../hypervisor/clock.js';

/**
 * The guest kernel's block layer (FreeBSD's GEOM disk and bio queue, reduced): each
 * disk a driver attaches becomes a BlockDevice with a request queue of fixed depth;
 * reads and writes of any size are split into requests the driver takes, into guest
 * pages the layer owns (the buffers a guest program's I/O lands in), and every request
 * is counted.
 */

export type BlockOp = 'read' | 'write' | 'flush' | 'barrier' | 'discard';

/** A request's data: guest frames, in order, and the kernel's mapping of each. */
export interface BlockBuffer {
  readonly gfns: readonly number[];
  readonly pages: readonly Uint8Array[];
}

/** What a block driver (blkfront) gives the layer for one disk. */
export interface BlockDriverDisk {
  /** The kernel's name for the disk: xvda, hdc, sdb (from virtual-device). */
  readonly name: string;
  /** The virtual-device number (devid). */
  readonly vdev: number;
  /** Logical sector size in bytes (512 or a larger power of two). */
  readonly sectorSize: number;
  /** Size in sectors of sectorSize. */
  readonly sectors: number;
  readonly readOnly: boolean;
  readonly features: { readonly flush: boolean; readonly barrier: boolean; readonly discard: boolean };
  /** The largest request the driver takes, in bytes (a multiple of the page size). */
  readonly maxRequestBytes: number;
  /** Requests the driver can have in flight (its ring's). */
  readonly maxInFlight: number;
  /**
   * Start one request, or throw what stops it going out at all. Otherwise the driver
   * calls `req.done` once, when the backend answered.
   */
  submit(req: BlockRequest): void;
}

/**
 * One request as the layer hands it to the driver (FreeBSD's struct bio, reduced):
 * `offset` and `length` in bytes (sector-aligned), the data in `buf` from the first
 * byte of its page `first` (read: filled; write and barrier: taken). Its end comes back
 * through `done` (bio_done), not a promise per request: a 1 MiB read is eight of them.
 */
export interface BlockRequest {
  readonly op: BlockOp;
  readonly offset: number;
  readonly length: number;
  readonly buf: BlockBuffer;
  readonly first: number;
  /** The backend answered: null for OKAY, else the error (a BlockIoError). */
  done(err: Error | null): void;
}

/** A request, or a whole call, ended: null when it went well. */
type Ended = (err: Error | null) => void;

/** A request the disk answered with an error: what the backend said. */
export class BlockIoError extends XenemuError {
  constructor(
    code: string,
    message: string,
    /** The blkif status (BLKIF_RSP_ERROR, EOPNOTSUPP), or null when the disk went away. */
    readonly status: number | null,
  ) {
    super(code, message);
  }
}

/** What a read into null returns: no bytes (one array for all of them). */
const NOTHING = new Uint8Array(0);

/**
 * `run()`'s promise, or a rejected one for what it threw before starting anything (a
 * bad range): a caller sees a rejection either way, as from an async method, without
 * the async function's own promise and turns around every call.
 */
function checked<T>(run: () => Promise<T>): Promise<T> {
  try {
    return run();
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

/** Latency histogram buckets: bucket i counts requests that took [2^i, 2^(i+1)) µs (bucket 0 also < 1 µs). */
export const LATENCY_BUCKETS = 32;

/** A block device's counters, for `block-list -l`, `top`'s VBD columns and `block-io`. */
export interface BlockDeviceStats {
  /** Requests completed, by operation. */
  reads: number;
  writes: number;
  flushes: number;
  barriers: number;
  discards: number;
  bytesRead: number;
  bytesWritten: number;
  /** Requests in the driver now. */
  inFlight: number;
  /** Requests waiting for a free queue slot now. */
  queued: number;
  /** Requests that failed. */
  errors: number;
  /** Completed requests by latency, log2 µs buckets (see LATENCY_BUCKETS). */
  latencyUs: number[];
}

/** One disk as the guest's block layer sees it: what `block-list -l` shows from the guest. */
export interface BlockDeviceInfo {
  name: string;
  vdev: number;
  sectorSize: number;
  sectors: number;
  readOnly: boolean;
  features: { flush: boolean; barrier: boolean; discard: boolean };
  maxRequestBytes: number;
  queueDepth: number;
  stats: BlockDeviceStats;
}

/** Where the layer gets and returns the guest frames its buffers use. */
export interface BlockPages {
  alloc(): number;
  free(gfn: number): void;
  page(gfn: number): Uint8Array;
  /** The layer wrote the frame (EmulatedPlatform.stored: a migration sends it again). */
  stored(gfn: number): void;
}

/**
 * A disk with its queue. The queue has `depth` slots, each with buffers for the
 * largest request; a request takes a slot (waiting for one when all are busy), goes to
 * the driver, and gives the slot back when it completes, in whatever order they do.
 */
export class BlockDevice {
  readonly stats: BlockDeviceStats = { reads: 0, writes: 0, flushes: 0, barriers: 0, discards: 0, bytesRead: 0, bytesWritten: 0, inFlight: 0, queued: 0, errors: 0, latencyUs: new Array<number>(LATENCY_BUCKETS).fill(0) };
  readonly depth: number;
  /**
   * Bytes copied between a caller's array and the queue's guest pages (write: in,
   * read: out). Direct I/O (readDirect/writeDirect on a buffer from allocBuffer) copies
   * none.
   */
  bytesCopied = 0;
  /** Queue slots taken (requests in the driver, or being filled for it). */
  private busy = 0;
  /** The queue's own buffers not in use; there are never more than `depth` in all. */
  private readonly free: BlockBuffer[] = [];
  private readonly all: BlockBuffer[] = [];
  /** Buffers programs allocated for direct I/O and have not freed. */
  private readonly direct = new Set<BlockBuffer>();
  /**
   * Freed direct buffers, whole, kept for the next program's (their frames' grants with
   * them: a backend that keeps persistent mappings sees the same frames again) and
   * given back at detach, as the queue's own buffers are. Whole, with their pages: a
   * program that allocates what it freed (block-io, run after run) gets its frames
   * back without a lookup or an object per frame.
   */
  private readonly spareDirect: BlockBuffer[] = [];
  /** Frames direct buffers hold, allocated or spare: at most bufferPages. */
  private directFrames = 0;
  private readonly waiters: Array<(ok: boolean) => void> = [];
  private gone = false;
  private reclaim = (gfn: number): void => this.pages.free(gfn);

  /**
   * @param bufferPages the most guest frames this disk's queue may hold as buffers: the
   *   depth is the driver's in-flight limit, or fewer slots when that many would take
   *   more (a small guest does not give half its memory to one disk's queue).
   */
  constructor(
    readonly disk: BlockDriverDisk,
    private readonly pages: BlockPages,
    private readonly clock: Clock,
    private readonly bufferPages = Number.POSITIVE_INFINITY,
  ) {
    const perSlot = Math.max(1, disk.maxRequestBytes / XEN_PAGE_SIZE);
    this.depth = Math.max(1, Math.min(disk.maxInFlight, Math.floor(bufferPages / perSlot)));
  }

  get name(): string {
    return this.disk.name;
  }

  /** Bytes of the disk. */
  get sizeBytes(): number {
    return this.disk.sectors * this.disk.sectorSize;
  }

  info(): BlockDeviceInfo {
    const d = this.disk;
    return {
      name: d.name,
      vdev: d.vdev,
      sectorSize: d.sectorSize,
      sectors: d.sectors,
      readOnly: d.readOnly,
      features: { ...d.features },
      maxRequestBytes: d.maxRequestBytes,
      queueDepth: this.depth,
      stats: { ...this.stats, latencyUs: [...this.stats.latencyUs] },
    };
  }

  /**
   * Read `length` bytes at `offset` (both multiples of the sector size) into `into`
   * (a new array by default). With `into` null the bytes stay in the request's guest
   * pages and are not copied anywhere: a reader that only wants the I/O done (as
   * O_DIRECT into a buffer it drops).
   */
  read(offset: number, length: number, into?: Uint8Array | null): Promise<Uint8Array> {
    return checked(() => {
      this.checkRange(offset, length, 'read');
      // Made only once the range is known good (a bad length rejects, as the rest do, rather than throwing here).
      const out = into === undefined ? new Uint8Array(length) : into;
      if (out !== null && out.length < length) throw new BlockIoError('EINVAL', `${this.name}: a ${out.length}-byte buffer for a ${length}-byte read`, null);
      return this.split('read', offset, length, null, null, out, out ?? NOTHING);
    });
  }

  /** Write `data` at `offset` (offset and length multiples of the sector size). */
  write(offset: number, data: Uint8Array): Promise<void> {
    return checked(() => {
      this.checkRange(offset, data.length, 'write');
      if (this.disk.readOnly) throw new BlockIoError('EROFS', `${this.name}: the disk is read-only`, null);
      return this.split('write', offset, data.length, data, null, null, undefined);
    });
  }

  /**
   * Guest pages for a program's direct I/O (O_DIRECT: the device works on the
   * program's own pages): `bytes` rounded up to whole pages, frames a freed buffer
   * left first. The program fills or reads `pages` itself and hands the buffer to
   * readDirect/writeDirect as often as it likes; freeBuffer gives it back. All direct
   * buffers of a disk together hold at most as many frames as its queue may (ENOMEM
   * past that); their contents are whatever the frames last held.
   */
  allocBuffer(bytes: number): BlockBuffer {
    if (!(Number.isSafeInteger(bytes) && bytes > 0)) throw new BlockIoError('EINVAL', `${this.name}: a ${bytes}-byte direct buffer`, null);
    if (this.gone) throw this.goneError();
    const n = Math.ceil(bytes / XEN_PAGE_SIZE);
    const same = this.spareDirect.findIndex((b) => b.gfns.length === n);
    // A new object over the same frames: a freed buffer stays dead to whoever still holds
    // it. Made as every other BlockBuffer is, not by a spread: a spread's object has a map
    // of its own, and blkfront's request path, optimised for one, was deoptimised and
    // compiled again (~20 ms of a CPU each time) every time block-io took a spare buffer.
    const spare = same >= 0 ? this.spareDirect.splice(same, 1)[0]! : null;
    const buf = spare !== null ? { gfns: spare.gfns, pages: spare.pages } : this.gatherDirect(n, bytes);
    this.direct.add(buf);
    return buf;
  }

  /** A direct buffer of `n` frames: spare frames first, then new ones (ENOMEM past bufferPages). */
  private gatherDirect(n: number, bytes: number): BlockBuffer {
    const gfns: number[] = [];
    const pages: Uint8Array[] = [];
    while (gfns.length < n && this.spareDirect.length > 0) {
      const spare = this.spareDirect.pop()!;
      const take = Math.min(n - gfns.length, spare.gfns.length);
      gfns.push(...spare.gfns.slice(0, take));
      pages.push(...spare.pages.slice(0, take));
      if (take < spare.gfns.length) this.spareDirect.push({ gfns: spare.gfns.slice(take), pages: spare.pages.slice(take) });
    }
    const more = n - gfns.length;
    try {
      if (this.directFrames + more > this.bufferPages) throw new BlockIoError('ENOMEM', `${this.name}: a ${bytes}-byte direct buffer would take the disk's direct buffers past ${this.bufferPages} pages`, null);
      if (more > 0) {
        const fresh = this.allocPages(more, `a ${bytes}-byte direct buffer`);
        gfns.push(...fresh.gfns);
        pages.push(...fresh.pages);
      }
    } catch (err) {
      // The spare frames taken go back for the next one.
      if (gfns.length > 0) this.spareDirect.push({ gfns, pages });
      throw err;
    }
    this.directFrames += more;
    return { gfns, pages };
  }

  /** Give back a buffer from allocBuffer: its frames wait for the next one (after detach, they go: see detach). */
  freeBuffer(buf: BlockBuffer): void {
    if (!this.direct.delete(buf)) return;
    if (this.gone) for (const g of buf.gfns) this.reclaim(g);
    else this.spareDirect.push(buf);
  }

  /** Read `length` bytes at `offset` into a buffer from allocBuffer, from its first byte, without a copy. */
  readDirect(offset: number, buf: BlockBuffer, length: number): Promise<void> {
    return checked(() => {
      this.checkDirect(buf, length, 'read');
      this.checkRange(offset, length, 'read');
      return this.split('read', offset, length, null, buf, null, undefined);
    });
  }

  /** Write `length` bytes from a buffer from allocBuffer (from its first byte) at `offset`, without a copy. */
  writeDirect(offset: number, buf: BlockBuffer, length: number): Promise<void> {
    return checked(() => {
      this.checkDirect(buf, length, 'write');
      this.checkRange(offset, length, 'write');
      if (this.disk.readOnly) throw new BlockIoError('EROFS', `${this.name}: the disk is read-only`, null);
      return this.split('write', offset, length, null, buf, null, undefined);
    });
  }

  /** A cache flush: everything completed before it is on stable storage when it completes. */
  async flush(): Promise<void> {
    if (!this.disk.features.flush) throw new BlockIoError('EOPNOTSUPP', `${this.name}: the backend offers no cache flush (feature-flush-cache)`, null);
    await this.whole('flush', 0, 0, null);
  }

  /**
   * A write barrier: `data` (possibly empty) is written after everything before it and
   * before everything after it, and flushed. At most one request's worth of data.
   */
  async barrier(offset: number, data: Uint8Array = new Uint8Array(0)): Promise<void> {
    if (!this.disk.features.barrier) throw new BlockIoError('EOPNOTSUPP', `${this.name}: the backend offers no write barrier (feature-barrier)`, null);
    if (data.length > 0) this.checkRange(offset, data.length, 'barrier');
    if (data.length > this.disk.maxRequestBytes) throw new BlockIoError('EINVAL', `${this.name}: a barrier carries at most ${this.disk.maxRequestBytes} bytes`, null);
    await this.whole('barrier', offset, data.length, data);
  }

  /** Discard a range (only where the backend offers feature-discard). */
  async discard(offset: number, length: number): Promise<void> {
    if (!this.disk.features.discard) throw new BlockIoError('EOPNOTSUPP', `${this.name}: the backend offers no discard (feature-discard)`, null);
    this.checkRange(offset, length, 'discard');
    await this.whole('discard', offset, length, null);
  }

  /** Every frame the disk's buffers hold: the queue's, programs' direct buffers and the spare ones. */
  heldFrames(): number[] {
    return [...this.all.flatMap((b) => b.gfns), ...[...this.direct].flatMap((b) => b.gfns), ...this.spareDirect.flatMap((b) => b.gfns)];
  }

  /**
   * The disk went away: waiting requests fail, buffers go back once their requests
   * ended, each frame to `reclaim` (the allocator by default; a driver that granted
   * the frames ends their grants first).
   */
  detach(reclaim?: (gfn: number) => void): void {
    if (reclaim !== undefined) this.reclaim = reclaim;
    this.gone = true;
    for (const w of this.waiters.splice(0)) w(false);
    for (const buf of this.free.splice(0)) this.release(buf);
    for (const b of this.spareDirect.splice(0)) for (const g of b.gfns) this.reclaim(g);
  }

  private checkDirect(buf: BlockBuffer, length: number, what: string): void {
    if (!this.direct.has(buf)) throw new BlockIoError('EINVAL', `${this.name}: a direct ${what} needs a buffer from this disk's allocBuffer`, null);
    if (length > buf.gfns.length * XEN_PAGE_SIZE) throw new BlockIoError('EINVAL', `${this.name}: a ${buf.gfns.length * XEN_PAGE_SIZE}-byte direct buffer for a ${length}-byte ${what}`, null);
  }

  private checkRange(offset: number, length: number, what: string): void {
    const ss = this.disk.sectorSize;
    if (!(Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0)) throw new BlockIoError('EINVAL', `${this.name}: bad ${what} range ${offset}+${length}`, null);
    if (offset % ss !== 0 || length % ss !== 0) throw new BlockIoError('EINVAL', `${this.name}: ${what} of ${length} bytes at ${offset} is not aligned to the ${ss}-byte sector size`, null);
    if (offset + length > this.sizeBytes) throw new BlockIoError('ENOSPC', `${this.name}: ${what} of ${length} bytes at ${offset} goes past the end of the disk (${this.sizeBytes} bytes)`, null);
  }

  /**
   * `op` over the range in request-sized pieces, all started now (each takes a queue
   * slot, or waits for one, in order; the queue bounds how many run). Settles as
   * `result` once every piece ended, or with the first error, but only then: no buffer
   * is reused under a request still in flight. Data comes from `data` or goes to `into`
   * through queue buffers, or stays in the caller's direct buffer `own` (its page i
   * holds the range's page i). One promise per call, however many requests it makes.
   */
  private split<T>(op: 'read' | 'write', offset: number, length: number, data: Uint8Array | null, own: BlockBuffer | null, into: Uint8Array | null, result: T): Promise<T> {
    const max = this.disk.maxRequestBytes;
    const pieces = Math.ceil(length / max);
    if (pieces === 0) return Promise.resolve(result);
    return new Promise<T>((resolve, reject) => {
      let left = pieces;
      let failure: Error | null = null;
      const ended: Ended = (err) => {
        failure ??= err;
        if (--left > 0) return;
        if (failure === null) resolve(result);
        else reject(failure);
      };
      for (let at = offset; at < offset + length; at += max) {
        const n = Math.min(max, offset + length - at);
        this.request(op, at, n, data === null ? null : data.subarray(at - offset, at - offset + n), own, (at - offset) / XEN_PAGE_SIZE, into === null ? null : into.subarray(at - offset, at - offset + n), ended);
      }
    });
  }

  /** `op` as one request (a flush, a barrier, a discard: nothing to split). */
  private whole(op: BlockOp, offset: number, length: number, data: Uint8Array | null): Promise<void> {
    return new Promise<void>((resolve, reject) => this.request(op, offset, length, data, null, 0, null, (err) => (err === null ? resolve() : reject(err))));
  }

  /**
   * One request through a queue slot, taken now if one is free, else when one is given
   * back: on the caller's direct buffer `own` from its page `first` (requests split on
   * page boundaries), or on a queue buffer filled from `data`; submit, copy out to
   * `into`, count, then `ended`.
   */
  private request(op: BlockOp, offset: number, length: number, data: Uint8Array | null, own: BlockBuffer | null, first: number, into: Uint8Array | null, ended: Ended): void {
    if (this.takeSlot()) return this.start(op, offset, length, data, own, first, into, ended);
    if (this.gone) return ended(this.goneError());
    this.stats.queued++;
    this.waiters.push((ok) => {
      this.stats.queued--;
      if (ok) this.start(op, offset, length, data, own, first, into, ended);
      else ended(this.goneError());
    });
  }

  /** A request with its slot: see request. */
  private start(op: BlockOp, offset: number, length: number, data: Uint8Array | null, own: BlockBuffer | null, first: number, into: Uint8Array | null, ended: Ended): void {
    let buf: BlockBuffer;
    try {
      buf = own ?? this.free.pop() ?? this.make();
    } catch (err) {
      this.put();
      return ended(err as Error);
    }
    const t0 = this.clock.now();
    this.stats.inFlight++;
    if (data !== null) this.copyIn(buf, data);
    const done = (err: Error | null): void => {
      this.stats.inFlight--;
      if (err === null) {
        if (into !== null) this.copyOut(buf, into);
        this.count(op, length, this.clock.now() - t0);
      } else this.stats.errors++;
      if (own === null) this.putBuffer(buf);
      this.put();
      ended(err);
    };
    try {
      this.disk.submit({ op, offset, length, buf, first: own === null ? 0 : first, done });
    } catch (err) {
      done(err as Error);
    }
  }

  private count(op: BlockOp, length: number, ns: number): void {
    const s = this.stats;
    if (op === 'read') {
      s.reads++;
      s.bytesRead += length;
    } else if (op === 'write' || op === 'barrier') {
      if (op === 'write') s.writes++;
      else s.barriers++;
      s.bytesWritten += length;
    } else if (op === 'flush') s.flushes++;
    else s.discards++;
    const us = ns / 1000;
    const bucket = us < 1 ? 0 : Math.min(LATENCY_BUCKETS - 1, Math.floor(Math.log2(us)));
    s.latencyUs[bucket]!++;
  }

  private goneError(): BlockIoError {
    return new BlockIoError('ENODEV', `${this.name}: the disk is gone`, null);
  }

  /** Take a free slot now, if the disk is here and one is free. */
  private takeSlot(): boolean {
    if (this.gone || this.busy >= this.depth) return false;
    this.busy++;
    return true;
  }

  /** Give a slot back: to the next waiter (which keeps it taken), else free. */
  private put(): void {
    const w = this.gone ? undefined : this.waiters.shift();
    if (w !== undefined) w(true);
    else this.busy--;
  }

  private putBuffer(buf: BlockBuffer): void {
    if (this.gone) this.release(buf);
    else this.free.push(buf);
  }

  /** A queue buffer for the largest request (at most one per slot: only a slot holder makes one). */
  private make(): BlockBuffer {
    const buf = this.allocPages(this.disk.maxRequestBytes / XEN_PAGE_SIZE, `a ${this.disk.maxRequestBytes}-byte request buffer`);
    this.all.push(buf);
    return buf;
  }

  private allocPages(n: number, what: string): BlockBuffer {
    const gfns: number[] = [];
    try {
      for (let i = 0; i < n; i++) gfns.push(this.pages.alloc());
    } catch (err) {
      for (const g of gfns) this.pages.free(g);
      throw new BlockIoError('ENOMEM', `${this.name}: no guest memory for ${what}: ${(err as Error).message}`, null);
    }
    return { gfns, pages: gfns.map((g) => this.pages.page(g)) };
  }

  /** Copy `src` into a buffer's pages from its first byte (a store of the guest's). */
  fill(buf: BlockBuffer, src: Uint8Array): void {
    fillPages(buf, src);
    for (let p = 0; p * XEN_PAGE_SIZE < src.length; p++) this.pages.stored(buf.gfns[p]!);
  }

  private copyIn(buf: BlockBuffer, data: Uint8Array): void {
    this.fill(buf, data);
    this.bytesCopied += data.length;
  }

  private copyOut(buf: BlockBuffer, out: Uint8Array): void {
    readPages(buf, out);
    this.bytesCopied += out.length;
  }

  private release(buf: BlockBuffer): void {
    const i = this.all.indexOf(buf);
    if (i < 0) return;
    this.all.splice(i, 1);
    for (const g of buf.gfns) this.reclaim(g);
  }
}

/** Copy `src` into the buffer's pages from its first byte. */
export function fillPages(buf: BlockBuffer, src: Uint8Array): void {
  for (let at = 0, p = 0; at < src.length; at += XEN_PAGE_SIZE, p++) buf.pages[p]!.set(src.subarray(at, Math.min(src.length, at + XEN_PAGE_SIZE)));
}

/** The buffer's first `out.length` bytes into `out`. */
export function readPages(buf: BlockBuffer, out: Uint8Array): void {
  for (let at = 0, p = 0; at < out.length; at += XEN_PAGE_SIZE, p++) out.set(buf.pages[p]!.subarray(0, Math.min(XEN_PAGE_SIZE, out.length - at)), at);
}

/**
 * The kernel's disks, by name: what blkfront attaches, block-io opens, and the
 * statistics read.
 */
export class BlockLayer {
  private readonly devices = new Map<string, BlockDevice>();

  constructor(
    private readonly pages: BlockPages,
    private readonly clock: Clock,
    /** Frames each disk's queue may hold as buffers (see BlockDevice). */
    private readonly bufferPagesPerDisk = Number.POSITIVE_INFINITY,
  ) {}

  add(disk: BlockDriverDisk): BlockDevice {
    if (this.devices.has(disk.name)) throw new Error(`block device ${disk.name} exists already`);
    const dev = new BlockDevice(disk, this.pages, this.clock, this.bufferPagesPerDisk);
    this.devices.set(disk.name, dev);
    return dev;
  }

  /** Remove a disk; its buffer frames go to `reclaim` when given (see BlockDevice.detach). */
  remove(name: string, reclaim?: (gfn: number) => void): void {
    const dev = this.devices.get(name);
    if (dev === undefined) return;
    this.devices.delete(name);
    dev.detach(reclaim);
  }

  /** A disk by name (xvda) or by virtual-device number ("51712"). */
  find(ref: string): BlockDevice | undefined {
    const byName = this.devices.get(ref);
    if (byName !== undefined) return byName;
    return [...this.devices.values()].find((d) => String(d.disk.vdev) === ref);
  }

  list(): BlockDeviceInfo[] {
    return [...this.devices.values()].map((d) => d.info());
  }
}
