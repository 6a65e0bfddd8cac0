/**
 * struct vcpu_info, struct vcpu_time_info (xen/xen.h, arch-x86/xen-x86_64.h) and the
 * argument of VCPUOP_register_vcpu_info (xen/vcpu.h), x86_64.
 *
 * A VcpuInfoView sits wherever the vcpu_info lives: slot N of shared_info (N < 32,
 * see SharedInfoView.vcpuInfo) or, after VCPUOP_register_vcpu_info, at any 8-aligned
 * offset of a guest page that leaves room for its 64 bytes.
 */
import { XenBitmap } from './bitmap.js';
import { AbiError } from './errors.js';
import { defineStruct, isSharedBuffer, SEQLOCK_RETRIES, structWindow, XEN_PAGE_SIZE, type GuestBytes } from './layout.js';

/** struct vcpu_time_info (xen.h): the pvclock parameters, 32 bytes. */
export const VCPU_TIME_INFO = defineStruct({
  c: 'struct vcpu_time_info',
  header: 'xen/xen.h',
  size: 32,
  align: 8,
  fields: {
    version: { offset: 0, size: 4, c: 'version' },
    pad0: { offset: 4, size: 4, c: 'pad0' },
    tscTimestamp: { offset: 8, size: 8, c: 'tsc_timestamp' },
    systemTime: { offset: 16, size: 8, c: 'system_time' },
    tscToSystemMul: { offset: 24, size: 4, c: 'tsc_to_system_mul' },
    tscShift: { offset: 28, size: 1, c: 'tsc_shift' },
    /** Present when __XEN_INTERFACE_VERSION__ > 0x040600 (XEN_PVCLOCK_* bits). */
    flags: { offset: 29, size: 1, c: 'flags' },
    pad1: { offset: 30, size: 2, c: 'pad1' },
  },
});

/** struct vcpu_info (xen.h + arch-x86 arch_vcpu_info), 64 bytes. */
export const VCPU_INFO = defineStruct({
  c: 'struct vcpu_info',
  header: 'xen/xen.h',
  size: 64,
  align: 8,
  fields: {
    evtchnUpcallPending: { offset: 0, size: 1, c: 'evtchn_upcall_pending' },
    /** XEN_HAVE_PV_UPCALL_MASK is defined on x86. */
    evtchnUpcallMask: { offset: 1, size: 1, c: 'evtchn_upcall_mask' },
    /** xen_ulong_t: bit w says word w of evtchn_pending may hold set bits. */
    evtchnPendingSel: { offset: 8, size: 8, c: 'evtchn_pending_sel' },
    archCr2: { offset: 16, size: 8, c: 'arch.cr2' },
    archPad: { offset: 24, size: 8, c: 'arch.pad' },
    time: { offset: 32, size: 32, c: 'time' },
  },
});

/** struct vcpu_register_vcpu_info (vcpu.h), the VCPUOP_register_vcpu_info argument. */
export const VCPU_REGISTER_VCPU_INFO = defineStruct({
  c: 'struct vcpu_register_vcpu_info',
  header: 'xen/vcpu.h',
  size: 16,
  align: 8,
  fields: {
    mfn: { offset: 0, size: 8, c: 'mfn' },
    offset: { offset: 8, size: 4, c: 'offset' },
    rsvd: { offset: 12, size: 4, c: 'rsvd' },
  },
});

const T = VCPU_TIME_INFO.fields;
const V = VCPU_INFO.fields;
const R = VCPU_REGISTER_VCPU_INFO.fields;

/** A consistent copy of a vcpu_time_info. */
export interface VcpuTime {
  version: number;
  tscTimestamp: bigint;
  systemTime: bigint;
  tscToSystemMul: number;
  tscShift: number;
  flags: number;
}

const U64 = (1n << 64n) - 1n;

/**
 * System time in ns at TSC value `tsc`, by the formula in xen.h:
 * `system_time + ((((tsc - tsc_timestamp) << tsc_shift) * tsc_to_system_mul) >> 32)`,
 * where a negative shift shifts right and the arithmetic is u64 (the product is taken
 * at full width, as Linux's pvclock_scale_delta does with a 128-bit multiply).
 */
export function pvclockSystemTime(t: Pick<VcpuTime, 'tscTimestamp' | 'systemTime' | 'tscToSystemMul' | 'tscShift'>, tsc: bigint): bigint {
  let delta = (tsc - t.tscTimestamp) & U64;
  delta = t.tscShift < 0 ? delta >> BigInt(-t.tscShift) : (delta << BigInt(t.tscShift)) & U64;
  return (t.systemTime + ((delta * BigInt(t.tscToSystemMul)) >> 32n)) & U64;
}

/** View of a struct vcpu_time_info (inside a vcpu_info, or a registered time area). */
export class VcpuTimeInfoView {
  static readonly layout = VCPU_TIME_INFO;
  readonly view: DataView;
  /** `version` as a one-element lane, so the seqlock can use Atomics. */
  private readonly versionWord: Uint32Array;

  constructor(mem: GuestBytes, offset = 0) {
    const w = structWindow(mem, offset, VCPU_TIME_INFO.size, VCPU_TIME_INFO.align, 'vcpu_time_info');
    this.view = new DataView(w.buffer, w.byteOffset, w.byteLength);
    this.versionWord = new Uint32Array(w.buffer, w.byteOffset + T.version.offset, 1);
  }

  get version(): number {
    return Atomics.load(this.versionWord, 0);
  }
  set version(v: number) {
    Atomics.store(this.versionWord, 0, v);
  }
  get tscTimestamp(): bigint {
    return this.view.getBigUint64(T.tscTimestamp.offset, true);
  }
  set tscTimestamp(v: bigint) {
    this.view.setBigUint64(T.tscTimestamp.offset, v, true);
  }
  get systemTime(): bigint {
    return this.view.getBigUint64(T.systemTime.offset, true);
  }
  set systemTime(v: bigint) {
    this.view.setBigUint64(T.systemTime.offset, v, true);
  }
  get tscToSystemMul(): number {
    return this.view.getUint32(T.tscToSystemMul.offset, true);
  }
  set tscToSystemMul(v: number) {
    this.view.setUint32(T.tscToSystemMul.offset, v, true);
  }
  /** int8_t: negative values shift right. */
  get tscShift(): number {
    return this.view.getInt8(T.tscShift.offset);
  }
  set tscShift(v: number) {
    this.view.setInt8(T.tscShift.offset, v);
  }
  get flags(): number {
    return this.view.getUint8(T.flags.offset);
  }
  set flags(v: number) {
    this.view.setUint8(T.flags.offset, v);
  }

  /**
   * Publish new parameters the way Xen does (xen.h: "Updates to the following values
   * are preceded and followed by an increment of 'version'"): version becomes odd,
   * the fields change, version becomes even again. A reader that sees an odd version,
   * or a version that changed under it, retries (see snapshot()).
   */
  publish(t: Omit<VcpuTime, 'version'>): void {
    this.version = (this.version + 1) >>> 0;
    this.tscTimestamp = t.tscTimestamp;
    this.systemTime = t.systemTime;
    this.tscToSystemMul = t.tscToSystemMul;
    this.tscShift = t.tscShift;
    this.flags = t.flags;
    this.version = (this.version + 1) >>> 0;
  }

  /**
   * Read a consistent copy (the guest side of the seqlock: read_seqbegin/read_seqretry).
   * Throws AbiError TORN_READ if the version stays odd or keeps changing.
   */
  snapshot(): VcpuTime {
    for (let tries = 0; tries < SEQLOCK_RETRIES; tries++) {
      const version = this.version;
      if (version & 1) continue;
      const t: VcpuTime = {
        version,
        tscTimestamp: this.tscTimestamp,
        systemTime: this.systemTime,
        tscToSystemMul: this.tscToSystemMul,
        tscShift: this.tscShift,
        flags: this.flags,
      };
      if (this.version === version) return t;
    }
    throw new AbiError('TORN_READ', `vcpu_time_info: version ${this.version} never settled on an even value`);
  }

  /** System time in ns at `tsc`, from a consistent snapshot. */
  systemTimeAt(tsc: bigint): bigint {
    return pvclockSystemTime(this.snapshot(), tsc);
  }
}

/** View of a struct vcpu_info. */
export class VcpuInfoView {
  static readonly layout = VCPU_INFO;
  readonly view: DataView;
  readonly time: VcpuTimeInfoView;
  /** evtchn_pending_sel as a 64-bit bitmap (bit w ↔ word w of evtchn_pending). */
  readonly pendingSel: XenBitmap;
  private readonly bytes: Uint8Array;
  private readonly atomic: boolean;

  /** @param offset byte offset of the vcpu_info inside `mem`; 8-aligned, with 64 bytes room. */
  constructor(mem: GuestBytes, offset = 0) {
    const w = structWindow(mem, offset, VCPU_INFO.size, VCPU_INFO.align, 'vcpu_info');
    this.view = new DataView(w.buffer, w.byteOffset, w.byteLength);
    this.bytes = new Uint8Array(w.buffer, w.byteOffset, w.byteLength);
    this.atomic = isSharedBuffer(w.buffer);
    this.time = new VcpuTimeInfoView(this.bytes, V.time.offset);
    this.pendingSel = new XenBitmap(w.buffer, w.byteOffset + V.evtchnPendingSel.offset, 64);
  }

  /** Written non-zero by Xen to request an upcall; cleared by the guest before it scans. */
  get evtchnUpcallPending(): number {
    return this.atomic ? Atomics.load(this.bytes, V.evtchnUpcallPending.offset) : this.bytes[V.evtchnUpcallPending.offset]!;
  }
  set evtchnUpcallPending(v: number) {
    if (this.atomic) Atomics.store(this.bytes, V.evtchnUpcallPending.offset, v);
    else this.bytes[V.evtchnUpcallPending.offset] = v;
  }

  /**
   * Set upcall_pending to 1 and return whether it was already non-zero. Xen does this
   * with test_and_set_bit(0, &evtchn_upcall_pending) (vcpu_mark_events_pending): only
   * the 0 → 1 transition kicks the vCPU.
   */
  testAndSetUpcallPending(): boolean {
    const off = V.evtchnUpcallPending.offset;
    if (this.atomic) return (Atomics.or(this.bytes, off, 1) & 1) !== 0;
    const old = this.bytes[off]!;
    this.bytes[off] = old | 1;
    return (old & 1) !== 0;
  }

  /** Non-zero: Xen must not deliver an upcall to this vCPU (guest's "cli"). */
  get evtchnUpcallMask(): number {
    return this.bytes[V.evtchnUpcallMask.offset]!;
  }
  set evtchnUpcallMask(v: number) {
    this.bytes[V.evtchnUpcallMask.offset] = v;
  }

  /** The whole selector word (for display and copying; scans use the lane methods). */
  get evtchnPendingSel(): bigint {
    return this.pendingSel.word(0);
  }
  set evtchnPendingSel(v: bigint) {
    this.pendingSel.setWord(0, v);
  }

  /** Set selector bit `word` (0..63); return whether it was already set. */
  testAndSetSel(word: number): boolean {
    return this.pendingSel.testAndSet(word);
  }

  testSel(word: number): boolean {
    return this.pendingSel.test(word);
  }

  clearSel(word: number): void {
    this.pendingSel.clear(word);
  }

  /**
   * Exchange one 32-bit half of the selector with 0 and return it (half 0 = words
   * 0..31, half 1 = words 32..63). Two half exchanges are a valid `xchg(&sel, 0)` for a
   * bitmap: a bit Xen sets between them is taken by the second or stays for the next
   * upcall (see bitmap.ts).
   */
  exchangeSelHalf(half: 0 | 1): number {
    return this.pendingSel.exchangeLane(half, 0);
  }

  /** `xchg(&evtchn_pending_sel, 0)` as one 64-bit value. */
  exchangeSel(): bigint {
    const lo = this.pendingSel.exchangeLane(0, 0);
    const hi = this.pendingSel.exchangeLane(1, 0);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  get archCr2(): bigint {
    return this.view.getBigUint64(V.archCr2.offset, true);
  }
  set archCr2(v: bigint) {
    this.view.setBigUint64(V.archCr2.offset, v, true);
  }

  /** Copy all 64 bytes from another vcpu_info (Xen does this when the guest moves it). */
  copyFrom(other: VcpuInfoView): void {
    this.bytes.set(other.bytes);
  }
}

/** View of a struct vcpu_register_vcpu_info (the VCPUOP_register_vcpu_info argument). */
export class VcpuRegisterVcpuInfoView {
  static readonly layout = VCPU_REGISTER_VCPU_INFO;
  readonly view: DataView;

  constructor(mem: GuestBytes, offset = 0) {
    const w = structWindow(mem, offset, VCPU_REGISTER_VCPU_INFO.size, VCPU_REGISTER_VCPU_INFO.align, 'vcpu_register_vcpu_info');
    this.view = new DataView(w.buffer, w.byteOffset, w.byteLength);
  }

  /** Guest frame that will hold the vcpu_info. */
  get mfn(): bigint {
    return this.view.getBigUint64(R.mfn.offset, true);
  }
  set mfn(v: bigint) {
    this.view.setBigUint64(R.mfn.offset, v, true);
  }
  /** Byte offset of the vcpu_info inside that frame. */
  get offset(): number {
    return this.view.getUint32(R.offset.offset, true);
  }
  set offset(v: number) {
    this.view.setUint32(R.offset.offset, v, true);
  }
  get rsvd(): number {
    return this.view.getUint32(R.rsvd.offset, true);
  }
  set rsvd(v: number) {
    this.view.setUint32(R.rsvd.offset, v, true);
  }
}

/**
 * The argument checks of VCPUOP_register_vcpu_info that depend on the argument alone
 * (xen/common/domain.c map_vcpu_info): the vcpu_info must fit in the page
 * (`offset <= PAGE_SIZE - sizeof(vcpu_info_t)`) and be aligned to its 8-byte alignment
 * (added by XSA-327). Xen 4.17 answers EINVAL to both; Xen 4.18 changed them to ENXIO.
 * Returns the errno name, or undefined when the argument is acceptable.
 *
 * The rules that depend on hypervisor state stay with the caller: registration is
 * allowed once per vCPU (EINVAL after), on the calling vCPU or an offline one (EINVAL),
 * the frame must be a writable guest page (EINVAL); Xen then copies the old vcpu_info
 * into the new place and sets evtchn_pending_sel = ~0 and evtchn_upcall_pending = 1 so
 * no event is lost in the move. `rsvd` is not checked by Xen.
 */
export function checkRegisterVcpuInfo(arg: { readonly offset: number }): 'EINVAL' | undefined {
  if (arg.offset > XEN_PAGE_SIZE - VCPU_INFO.size) return 'EINVAL';
  if (arg.offset % VCPU_INFO.align !== 0) return 'EINVAL';
  return undefined;
}
