/**
 * struct shared_info (xen/xen.h with arch-x86/xen.h and xen-x86_64.h), x86_64: the
 * page Xen shares with every domain. The event-channel part is the 2-level ABI:
 * port p is bit p of evtchn_pending / evtchn_mask, i.e. bit (p & 63) of the 64-bit
 * word p >> 6, and the selector bit in vcpu_info.evtchn_pending_sel is p >> 6.
 *
 * This view provides the bit operations, not the policy. The rules that combine them
 * (xen/common/event_2l.c) belong to the hypervisor and the guest kernel:
 * - raise p: testAndSetPending(p); if it was clear and !isMasked(p), testAndSetSel(p >> 6)
 *   on the target vCPU's vcpu_info, and if that was clear, set upcall_pending and kick;
 * - unmask p: testAndClearMask(p); if it was set and testPending(p), the same sel/upcall
 *   step, because a port that became pending while masked raised no upcall;
 * - guest scan: clear upcall_pending, exchange the selector with 0, then for each
 *   selected word take pending & ~mask and clear each port's pending bit before
 *   handling it. pendingLane/maskLane serve that scan at 32 bits a step.
 */
import { XenBitmap } from './bitmap.js';
import { EVTCHN_2L_NR_CHANNELS, XEN_LEGACY_MAX_VCPUS } from './constants.js';
import { AbiError } from './errors.js';
import { defineStruct, SEQLOCK_RETRIES, structWindow, type GuestBytes } from './layout.js';
import { VCPU_INFO, VcpuInfoView } from './vcpu-info.js';

/** struct shared_info, x86_64: 3136 bytes at the start of the shared-info page. */
export const SHARED_INFO = defineStruct({
  c: 'struct shared_info',
  header: 'xen/xen.h',
  size: 3136,
  align: 8,
  fields: {
    /** vcpu_info[XEN_LEGACY_MAX_VCPUS]: vCPU n at n × 64. */
    vcpuInfo: { offset: 0, size: 2048, c: 'vcpu_info', count: 32 },
    /** xen_ulong_t[64]: 4096 pending bits. */
    evtchnPending: { offset: 2048, size: 512, c: 'evtchn_pending', count: 64 },
    /** xen_ulong_t[64]: 4096 mask bits. */
    evtchnMask: { offset: 2560, size: 512, c: 'evtchn_mask', count: 64 },
    /** Version counter of the wallclock fields, odd while Xen updates them. */
    wcVersion: { offset: 3072, size: 4, c: 'wc_version' },
    wcSec: { offset: 3076, size: 4, c: 'wc_sec' },
    wcNsec: { offset: 3080, size: 4, c: 'wc_nsec' },
    /** Upper 32 bits of the wallclock seconds (not on i386). */
    wcSecHi: { offset: 3084, size: 4, c: 'wc_sec_hi' },
    /** struct arch_shared_info (arch-x86/xen.h). */
    maxPfn: { offset: 3088, size: 8, c: 'arch.max_pfn' },
    pfnToMfnFrameListList: { offset: 3096, size: 8, c: 'arch.pfn_to_mfn_frame_list_list' },
    nmiReason: { offset: 3104, size: 8, c: 'arch.nmi_reason' },
    p2mCr3: { offset: 3112, size: 8, c: 'arch.p2m_cr3' },
    p2mVaddr: { offset: 3120, size: 8, c: 'arch.p2m_vaddr' },
    p2mGeneration: { offset: 3128, size: 8, c: 'arch.p2m_generation' },
  },
});

const S = SHARED_INFO.fields;

/** View of a struct shared_info, normally at offset 0 of the domain's shared-info page. */
export class SharedInfoView {
  static readonly layout = SHARED_INFO;
  readonly view: DataView;
  readonly evtchnPending: XenBitmap;
  readonly evtchnMask: XenBitmap;
  private readonly vcpus: VcpuInfoView[];
  private readonly wcVersionWord: Uint32Array;

  constructor(mem: GuestBytes, offset = 0) {
    const w = structWindow(mem, offset, SHARED_INFO.size, SHARED_INFO.align, 'shared_info');
    this.view = new DataView(w.buffer, w.byteOffset, w.byteLength);
    this.evtchnPending = new XenBitmap(w.buffer, w.byteOffset + S.evtchnPending.offset, EVTCHN_2L_NR_CHANNELS);
    this.evtchnMask = new XenBitmap(w.buffer, w.byteOffset + S.evtchnMask.offset, EVTCHN_2L_NR_CHANNELS);
    const bytes = new Uint8Array(w.buffer, w.byteOffset, w.byteLength);
    this.vcpus = Array.from({ length: XEN_LEGACY_MAX_VCPUS }, (_, n) => new VcpuInfoView(bytes, S.vcpuInfo.offset + n * VCPU_INFO.size));
    this.wcVersionWord = new Uint32Array(w.buffer, w.byteOffset + S.wcVersion.offset, 1);
  }

  /** The vcpu_info slot of vCPU `n` (0..31). vCPUs ≥ 32 have none: they must register one. */
  vcpuInfo(n: number): VcpuInfoView {
    const v = this.vcpus[n];
    if (v === undefined) {
      throw new RangeError(`vCPU ${n} has no vcpu_info in shared_info (only 0..${XEN_LEGACY_MAX_VCPUS - 1}); it must use VCPUOP_register_vcpu_info`);
    }
    return v;
  }

  // -------------------------------------------------------------- event channel bits

  /** Set pending[port]; return whether it was already set. */
  testAndSetPending(port: number): boolean {
    return this.evtchnPending.testAndSet(port);
  }
  /** Clear pending[port]; return whether it was set. */
  testAndClearPending(port: number): boolean {
    return this.evtchnPending.testAndClear(port);
  }
  clearPending(port: number): void {
    this.evtchnPending.clear(port);
  }
  testPending(port: number): boolean {
    return this.evtchnPending.test(port);
  }
  /** Set mask[port]; return whether it was already masked. */
  testAndSetMask(port: number): boolean {
    return this.evtchnMask.testAndSet(port);
  }
  /** Clear mask[port]; return whether it was masked. */
  testAndClearMask(port: number): boolean {
    return this.evtchnMask.testAndClear(port);
  }
  isMasked(port: number): boolean {
    return this.evtchnMask.test(port);
  }

  /** evtchn_pending[w] (ports 64w..64w+63) as a bigint: for display and state copies. */
  pendingWord(w: number): bigint {
    return this.evtchnPending.word(w);
  }
  /** evtchn_mask[w] as a bigint. */
  maskWord(w: number): bigint {
    return this.evtchnMask.word(w);
  }
  /** Pending bits of ports 32i..32i+31 (lane i; word w is lanes 2w and 2w+1). For scans. */
  pendingLane(i: number): number {
    return this.evtchnPending.lane(i);
  }
  /** Mask bits of ports 32i..32i+31. */
  maskLane(i: number): number {
    return this.evtchnMask.lane(i);
  }

  // -------------------------------------------------------------- wallclock

  get wcVersion(): number {
    return Atomics.load(this.wcVersionWord, 0);
  }
  set wcVersion(v: number) {
    Atomics.store(this.wcVersionWord, 0, v);
  }
  get wcSec(): number {
    return this.view.getUint32(S.wcSec.offset, true);
  }
  set wcSec(v: number) {
    this.view.setUint32(S.wcSec.offset, v, true);
  }
  get wcNsec(): number {
    return this.view.getUint32(S.wcNsec.offset, true);
  }
  set wcNsec(v: number) {
    this.view.setUint32(S.wcNsec.offset, v, true);
  }
  get wcSecHi(): number {
    return this.view.getUint32(S.wcSecHi.offset, true);
  }
  set wcSecHi(v: number) {
    this.view.setUint32(S.wcSecHi.offset, v, true);
  }

  /**
   * Publish the wallclock (seconds since the epoch, adjusted by the domain's time
   * offset, at system time 0) under the same version protocol as vcpu_time_info:
   * version odd while the fields change.
   */
  setWallClock(sec: bigint, nsec: number): void {
    this.wcVersion = (this.wcVersion + 1) >>> 0;
    this.wcSec = Number(BigInt.asUintN(32, sec));
    this.wcSecHi = Number(BigInt.asUintN(32, sec >> 32n));
    this.wcNsec = nsec;
    this.wcVersion = (this.wcVersion + 1) >>> 0;
  }

  /** A consistent read of the wallclock (retries while an update is in progress; TORN_READ if it never ends). */
  wallClock(): { sec: bigint; nsec: number } {
    for (let tries = 0; tries < SEQLOCK_RETRIES; tries++) {
      const v = this.wcVersion;
      if (v & 1) continue;
      const sec = (BigInt(this.wcSecHi) << 32n) | BigInt(this.wcSec);
      const nsec = this.wcNsec;
      if (this.wcVersion === v) return { sec, nsec };
    }
    throw new AbiError('TORN_READ', `shared_info wallclock: wc_version ${this.wcVersion} never settled on an even value`);
  }

  // -------------------------------------------------------------- arch_shared_info

  /** Number of valid entries in the p2m table(s). */
  get maxPfn(): bigint {
    return this.view.getBigUint64(S.maxPfn.offset, true);
  }
  set maxPfn(v: bigint) {
    this.view.setBigUint64(S.maxPfn.offset, v, true);
  }
  /** Frame of the list of frames of the list of p2m frames; 0 unset, ~0 invalid. */
  get pfnToMfnFrameListList(): bigint {
    return this.view.getBigUint64(S.pfnToMfnFrameListList.offset, true);
  }
  set pfnToMfnFrameListList(v: bigint) {
    this.view.setBigUint64(S.pfnToMfnFrameListList.offset, v, true);
  }
  get nmiReason(): bigint {
    return this.view.getBigUint64(S.nmiReason.offset, true);
  }
  set nmiReason(v: bigint) {
    this.view.setBigUint64(S.nmiReason.offset, v, true);
  }
  get p2mCr3(): bigint {
    return this.view.getBigUint64(S.p2mCr3.offset, true);
  }
  set p2mCr3(v: bigint) {
    this.view.setBigUint64(S.p2mCr3.offset, v, true);
  }
  get p2mVaddr(): bigint {
    return this.view.getBigUint64(S.p2mVaddr.offset, true);
  }
  set p2mVaddr(v: bigint) {
    this.view.setBigUint64(S.p2mVaddr.offset, v, true);
  }
  get p2mGeneration(): bigint {
    return this.view.getBigUint64(S.p2mGeneration.offset, true);
  }
  set p2mGeneration(v: bigint) {
    this.view.setBigUint64(S.p2mGeneration.offset, v, true);
  }
}
