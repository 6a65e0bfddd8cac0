/**
 * One direction of a byte-stream ring: a power-of-two data array and two free-running
 * u32 indices in the same page. The xenstore page (io/xs_wire.h) and the console page
 * (io/console.h) each hold two of them. The rules, from misc/xenstore-ring.txt (the
 * console ring follows the same ones, misc/console.txt):
 *
 * - "A producer offset is the offset in the byte stream of the next byte to be written
 *   modulo 2^32. A consumer offset is the offset ... of the next byte to be read."
 *   Byte x of the stream lives at data[x & (size − 1)]. Unread bytes = prod − cons, in
 *   u32 arithmetic (`>>> 0`): indices wrap at 2^32 and never start at a known value.
 * - "Implementations may only overwrite previously-written data if it has been marked as
 *   'consumed' by the relevant consumer pointer": free space = size − (prod − cons).
 * - prod − cons > size cannot happen with an honest peer: it is the protocol error
 *   xenstore reports as XENSTORE_ERROR_RINGIDX (2). Both sides check it before touching
 *   data and throw RingProtocolError, leaving the ring as it was.
 *
 * Memory order. The producer writes data, then a write barrier, then the new prod; the
 * consumer reads prod, then a read barrier, then the data, then a full barrier, then the
 * new cons (so the producer cannot reuse bytes the consumer is still copying). Here the
 * indices are read and written with Atomics.load/Atomics.store, which are sequentially
 * consistent: every plain data access before an Atomics.store is visible to a thread
 * whose Atomics.load sees the stored value. Today only one thread touches the page and
 * the order costs nothing; if pages move to a SharedArrayBuffer, this stays correct.
 * After a write or read that moved an index, the caller signals the ring's event
 * channel ("Whenever the ring structure is updated the event channel must be signalled").
 */
import { RingProtocolError } from './errors.js';
import { requireLittleEndianHost, type StructWindow } from './layout.js';

/** Where one direction lives inside its page (byte offsets from the struct start). */
export interface ByteStreamGeometry {
  /** For error messages: "xenstore req", "console out". */
  readonly name: string;
  readonly dataOffset: number;
  /** Power of two. */
  readonly size: number;
  readonly consOffset: number;
  readonly prodOffset: number;
}

/** The page state both ends of one direction see. */
class ByteStream {
  readonly data: Uint8Array;
  readonly idx: Uint32Array;
  readonly consI: number;
  readonly prodI: number;
  readonly mask: number;

  constructor(
    win: StructWindow,
    readonly g: ByteStreamGeometry,
  ) {
    requireLittleEndianHost();
    if (g.size & (g.size - 1) || g.size === 0) throw new RangeError(`${g.name}: ring size ${g.size} is not a power of two`);
    this.data = new Uint8Array(win.buffer, win.byteOffset + g.dataOffset, g.size);
    this.idx = new Uint32Array(win.buffer, win.byteOffset, win.byteLength >>> 2);
    this.consI = g.consOffset >>> 2;
    this.prodI = g.prodOffset >>> 2;
    this.mask = g.size - 1;
  }

  /** prod − cons, checked: an unconsumed count above the ring size is the peer's fault. */
  used(prod: number, cons: number): number {
    const used = (prod - cons) >>> 0;
    if (used > this.g.size) throw new RingProtocolError('RINGIDX', this.g.name, prod, cons, this.g.size);
    return used;
  }
}

/** The producing end of one direction: copies bytes in and advances prod. */
export class ByteStreamWriter {
  private readonly s: ByteStream;

  constructor(win: StructWindow, geometry: ByteStreamGeometry) {
    this.s = new ByteStream(win, geometry);
  }

  get size(): number {
    return this.s.g.size;
  }

  /** Bytes that can be written now. Throws RingProtocolError if the indices are bad. */
  space(): number {
    const s = this.s;
    const cons = Atomics.load(s.idx, s.consI);
    const prod = Atomics.load(s.idx, s.prodI);
    return s.g.size - s.used(prod, cons);
  }

  /** Bytes written but not yet consumed by the peer. */
  unconsumed(): number {
    const s = this.s;
    return s.used(Atomics.load(s.idx, s.prodI), Atomics.load(s.idx, s.consI));
  }

  /**
   * Copy as much of `src` as fits (possibly across the wrap point) and publish it.
   * Returns the number of bytes taken; the caller keeps the rest for after the peer
   * has consumed (a 4 KiB xenstore message crosses a 1 KiB ring in several fills).
   * Throws RingProtocolError, writing nothing, if the peer's indices are bad.
   */
  write(src: Uint8Array): number {
    const s = this.s;
    // Read cons first: bytes before it are done with, by the Atomics.store that set it.
    const cons = Atomics.load(s.idx, s.consI);
    const prod = Atomics.load(s.idx, s.prodI);
    const n = Math.min(src.length, s.g.size - s.used(prod, cons));
    if (n === 0) return 0;
    const start = prod & s.mask;
    const first = Math.min(n, s.g.size - start);
    s.data.set(first === src.length ? src : src.subarray(0, first), start);
    if (n > first) s.data.set(src.subarray(first, n), 0);
    // Write barrier: the data above is visible before the peer can see the new prod.
    Atomics.store(s.idx, s.prodI, (prod + n) >>> 0);
    return n;
  }
}

/** The consuming end of one direction: copies bytes out and advances cons. */
export class ByteStreamReader {
  private readonly s: ByteStream;

  constructor(win: StructWindow, geometry: ByteStreamGeometry) {
    this.s = new ByteStream(win, geometry);
  }

  get size(): number {
    return this.s.g.size;
  }

  /** Bytes ready to read. Throws RingProtocolError if the indices are bad. */
  available(): number {
    const s = this.s;
    return s.used(Atomics.load(s.idx, s.prodI), Atomics.load(s.idx, s.consI));
  }

  /**
   * Copy up to `dst.length` available bytes into `dst` and consume them. Returns the
   * count. Throws RingProtocolError, consuming nothing, if the peer's indices are bad.
   */
  readInto(dst: Uint8Array): number {
    const s = this.s;
    // Read prod first (acquire): the data before it was written before it was stored.
    const prod = Atomics.load(s.idx, s.prodI);
    const cons = Atomics.load(s.idx, s.consI);
    const n = Math.min(dst.length, s.used(prod, cons));
    if (n === 0) return 0;
    const start = cons & s.mask;
    const first = Math.min(n, s.g.size - start);
    dst.set(s.data.subarray(start, start + first), 0);
    if (n > first) dst.set(s.data.subarray(0, n - first), first);
    // Full barrier: the copy above is complete before the producer may reuse the bytes.
    Atomics.store(s.idx, s.consI, (cons + n) >>> 0);
    return n;
  }

  /** Read and consume up to `max` bytes (default: all available) into a new array. */
  read(max: number = this.s.g.size): Uint8Array {
    const out = new Uint8Array(Math.min(max, this.available()));
    const n = this.readInto(out);
    return n === out.length ? out : out.subarray(0, n);
  }
}
