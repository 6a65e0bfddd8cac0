/**
 * An array of `xen_ulong_t` used as a bitmap (evtchn_pending, evtchn_mask,
 * evtchn_pending_sel), accessed as 32-bit lanes.
 *
 * Why 32-bit lanes and not BigUint64Array: the callers are the event-channel hot
 * paths, which test-and-set one bit (raise a port) and scan words for set bits
 * (dispatch). On little-endian memory bit `b` of 64-bit word `b >> 6` is bit `b & 31`
 * of 32-bit lane `b >> 5`, so a lane view addresses exactly the bits Xen and the guest
 * address, and a lane is a small integer: `Math.clz32` finds a set bit in one
 * instruction. A BigUint64Array word is a heap BigInt; every `&`, `~`, shift and
 * compare allocates. bench/abi-evtchn-scan.ts (2 x AMD EPYC, Node 20) dispatched, in
 * million ports per second, raise + scan: 54 with lanes against 4.9 with
 * BigUint64Array and 3.2 with DataView.getBigUint64 when 3999 ports are pending, 16
 * against 3.4 for a single port; the scan alone 155 against 7.1 (22x). `word(w)`
 * still returns the whole 64-bit value as a bigint for debugging and for copying
 * state.
 *
 * Splitting a 64-bit word into two lanes is safe for bitmaps: every bit is set and
 * cleared on its own, so no operation needs both halves at once. Even an exchange of a
 * whole selector word can be done as two lane exchanges: a bit set in between is either
 * taken by the second exchange or left for the next upcall, and never lost.
 *
 * Atomicity: when the memory is a SharedArrayBuffer (domains in worker threads), every
 * read-modify-write goes through `Atomics`, which are the locked bit operations Xen and
 * Linux use. On a plain ArrayBuffer only one thread can see the memory, so plain
 * operations are equivalent and about three times as fast (same benchmark: 54 against
 * 17 million ports per second, dense raise + scan).
 */
import { isSharedBuffer, requireLittleEndianHost } from './layout.js';

/** Index (0..31) of the lowest set bit of a non-zero 32-bit lane: `__ffs` for lanes. */
export function lowestSetBit(lane: number): number {
  return 31 - Math.clz32(lane & -lane);
}

export class XenBitmap {
  private readonly lanes: Uint32Array;
  /** Use Atomics for read-modify-writes (the buffer is shared between threads). */
  readonly atomic: boolean;
  readonly nrBits: number;
  readonly nrLanes: number;

  /**
   * @param byteOffset absolute offset of the first xen_ulong_t in `buffer`, 8-aligned.
   * @param nrBits a multiple of 64 (whole xen_ulong_t words).
   */
  constructor(buffer: ArrayBufferLike, byteOffset: number, nrBits: number) {
    requireLittleEndianHost();
    if (nrBits % 64 !== 0) throw new RangeError(`a xen_ulong_t bitmap has whole 64-bit words, not ${nrBits} bits`);
    this.nrBits = nrBits;
    this.nrLanes = nrBits >>> 5;
    this.lanes = new Uint32Array(buffer, byteOffset, this.nrLanes);
    this.atomic = isSharedBuffer(buffer);
  }

  private check(bit: number): void {
    if (!(bit >>> 0 === bit && bit < this.nrBits)) {
      throw new RangeError(`bit ${bit} is outside this ${this.nrBits}-bit bitmap`);
    }
  }

  test(bit: number): boolean {
    this.check(bit);
    const i = bit >>> 5;
    const lane = this.atomic ? Atomics.load(this.lanes, i) : this.lanes[i]!;
    return (lane & (1 << (bit & 31))) !== 0;
  }

  /** Set the bit; return whether it was already set (`test_and_set_bit`). */
  testAndSet(bit: number): boolean {
    this.check(bit);
    const i = bit >>> 5;
    const m = 1 << (bit & 31);
    if (this.atomic) return (Atomics.or(this.lanes, i, m) & m) !== 0;
    const old = this.lanes[i]!;
    this.lanes[i] = old | m;
    return (old & m) !== 0;
  }

  /** Clear the bit; return whether it was set (`test_and_clear_bit`). */
  testAndClear(bit: number): boolean {
    this.check(bit);
    const i = bit >>> 5;
    const m = 1 << (bit & 31);
    if (this.atomic) return (Atomics.and(this.lanes, i, ~m) & m) !== 0;
    const old = this.lanes[i]!;
    this.lanes[i] = old & ~m;
    return (old & m) !== 0;
  }

  set(bit: number): void {
    this.testAndSet(bit);
  }

  clear(bit: number): void {
    this.testAndClear(bit);
  }

  /** Lane `i` (bits 32i..32i+31) as an unsigned 32-bit number, for scans. */
  lane(i: number): number {
    if (!(i >>> 0 === i && i < this.nrLanes)) throw new RangeError(`lane ${i} is outside 0..${this.nrLanes - 1}`);
    return this.atomic ? Atomics.load(this.lanes, i) : this.lanes[i]!;
  }

  /** Store `value` into lane `i` and return the previous lane (`xchg`). */
  exchangeLane(i: number, value: number): number {
    if (!(i >>> 0 === i && i < this.nrLanes)) throw new RangeError(`lane ${i} is outside 0..${this.nrLanes - 1}`);
    if (this.atomic) return Atomics.exchange(this.lanes, i, value);
    const old = this.lanes[i]!;
    this.lanes[i] = value;
    return old;
  }

  /** 64-bit word `w` (a whole xen_ulong_t) as a bigint. */
  word(w: number): bigint {
    const lo = this.lane(2 * w);
    const hi = this.lane(2 * w + 1);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** Overwrite 64-bit word `w` (not atomic as a whole: use for setup and copying). */
  setWord(w: number, value: bigint): void {
    this.exchangeLane(2 * w, Number(BigInt.asUintN(32, value)));
    this.exchangeLane(2 * w + 1, Number(BigInt.asUintN(32, value >> 32n)));
  }

  /** Set (`true`) or clear every bit. */
  fill(on: boolean): void {
    for (let i = 0; i < this.nrLanes; i++) this.exchangeLane(i, on ? 0xffffffff : 0);
  }
}
