/**
 * struct start_info (xen/xen.h), x86_64 PV: what the domain builder writes into a
 * guest page and the PV kernel reads at boot (and again on resume, for the fields
 * above pt_base). `unsigned long` and xen_pfn_t are 8 bytes on x86_64, so every
 * address, frame number and count is a u64 (bigint here); flags and event channel
 * ports are u32.
 */
import { MAX_GUEST_CMDLINE } from './constants.js';
import { defineStruct, readCString, structWindow, writeCString, type GuestBytes } from './layout.js';

/** The magic a 64-bit PV guest expects: "xen-<version>-<platform>". */
export const START_INFO_MAGIC_X86_64 = 'xen-3.0-x86_64';

/** struct start_info, 1168 bytes. */
export const START_INFO = defineStruct({
  c: 'struct start_info',
  header: 'xen/xen.h',
  size: 1168,
  align: 8,
  fields: {
    magic: { offset: 0, size: 32, c: 'magic' },
    /** Total pages allocated to this domain. */
    nrPages: { offset: 32, size: 8, c: 'nr_pages' },
    /** MACHINE address of the shared info struct. */
    sharedInfo: { offset: 40, size: 8, c: 'shared_info' },
    /** SIF_* flags. */
    flags: { offset: 48, size: 4, c: 'flags' },
    /** MACHINE frame of the xenstore ring page. */
    storeMfn: { offset: 56, size: 8, c: 'store_mfn' },
    storeEvtchn: { offset: 64, size: 4, c: 'store_evtchn' },
    /** console.domU: the console ring page and its event channel (domUs). */
    consoleMfn: { offset: 72, size: 8, c: 'console.domU.mfn' },
    consoleEvtchn: { offset: 80, size: 4, c: 'console.domU.evtchn' },
    /** console.dom0 (same bytes, union): where the console_info struct lies. */
    consoleInfoOff: { offset: 72, size: 4, c: 'console.dom0.info_off' },
    consoleInfoSize: { offset: 76, size: 4, c: 'console.dom0.info_size' },
    /** VIRTUAL address of the page directory (boot only, as the rest below). */
    ptBase: { offset: 88, size: 8, c: 'pt_base' },
    nrPtFrames: { offset: 96, size: 8, c: 'nr_pt_frames' },
    /** VIRTUAL address of the page-frame list. */
    mfnList: { offset: 104, size: 8, c: 'mfn_list' },
    /** VIRTUAL address of the pre-loaded module (PFN if SIF_MOD_START_PFN). */
    modStart: { offset: 112, size: 8, c: 'mod_start' },
    modLen: { offset: 120, size: 8, c: 'mod_len' },
    cmdLine: { offset: 128, size: 1024, c: 'cmd_line', count: 1024 },
    /** First pfn of the initial P->M table (page table and p2m frames). */
    firstP2mPfn: { offset: 1152, size: 8, c: 'first_p2m_pfn' },
    nrP2mFrames: { offset: 1160, size: 8, c: 'nr_p2m_frames' },
  },
});

const F = START_INFO.fields;

/** View of a struct start_info. */
export class StartInfoView {
  static readonly layout = START_INFO;
  readonly view: DataView;
  private readonly bytes: Uint8Array;

  constructor(mem: GuestBytes, offset = 0) {
    const w = structWindow(mem, offset, START_INFO.size, START_INFO.align, 'start_info');
    this.view = new DataView(w.buffer, w.byteOffset, w.byteLength);
    this.bytes = new Uint8Array(w.buffer, w.byteOffset, w.byteLength);
  }

  private u64(off: number): bigint {
    return this.view.getBigUint64(off, true);
  }
  private setU64(off: number, v: bigint): void {
    this.view.setBigUint64(off, v, true);
  }

  /** "xen-3.0-x86_64" for a 64-bit PV guest (see START_INFO_MAGIC_X86_64). */
  get magic(): string {
    return readCString(this.bytes.subarray(F.magic.offset, F.magic.offset + F.magic.size));
  }
  set magic(v: string) {
    writeCString(this.bytes.subarray(F.magic.offset, F.magic.offset + F.magic.size), v, 'start_info.magic');
  }
  get nrPages(): bigint {
    return this.u64(F.nrPages.offset);
  }
  set nrPages(v: bigint) {
    this.setU64(F.nrPages.offset, v);
  }
  get sharedInfo(): bigint {
    return this.u64(F.sharedInfo.offset);
  }
  set sharedInfo(v: bigint) {
    this.setU64(F.sharedInfo.offset, v);
  }
  get flags(): number {
    return this.view.getUint32(F.flags.offset, true);
  }
  set flags(v: number) {
    this.view.setUint32(F.flags.offset, v, true);
  }
  get storeMfn(): bigint {
    return this.u64(F.storeMfn.offset);
  }
  set storeMfn(v: bigint) {
    this.setU64(F.storeMfn.offset, v);
  }
  get storeEvtchn(): number {
    return this.view.getUint32(F.storeEvtchn.offset, true);
  }
  set storeEvtchn(v: number) {
    this.view.setUint32(F.storeEvtchn.offset, v, true);
  }
  /** console.domU.mfn. */
  get consoleMfn(): bigint {
    return this.u64(F.consoleMfn.offset);
  }
  set consoleMfn(v: bigint) {
    this.setU64(F.consoleMfn.offset, v);
  }
  /** console.domU.evtchn. */
  get consoleEvtchn(): number {
    return this.view.getUint32(F.consoleEvtchn.offset, true);
  }
  set consoleEvtchn(v: number) {
    this.view.setUint32(F.consoleEvtchn.offset, v, true);
  }
  /** console.dom0.info_off (aliases the low half of consoleMfn). */
  get consoleInfoOff(): number {
    return this.view.getUint32(F.consoleInfoOff.offset, true);
  }
  set consoleInfoOff(v: number) {
    this.view.setUint32(F.consoleInfoOff.offset, v, true);
  }
  /** console.dom0.info_size (aliases the high half of consoleMfn). */
  get consoleInfoSize(): number {
    return this.view.getUint32(F.consoleInfoSize.offset, true);
  }
  set consoleInfoSize(v: number) {
    this.view.setUint32(F.consoleInfoSize.offset, v, true);
  }
  get ptBase(): bigint {
    return this.u64(F.ptBase.offset);
  }
  set ptBase(v: bigint) {
    this.setU64(F.ptBase.offset, v);
  }
  get nrPtFrames(): bigint {
    return this.u64(F.nrPtFrames.offset);
  }
  set nrPtFrames(v: bigint) {
    this.setU64(F.nrPtFrames.offset, v);
  }
  get mfnList(): bigint {
    return this.u64(F.mfnList.offset);
  }
  set mfnList(v: bigint) {
    this.setU64(F.mfnList.offset, v);
  }
  get modStart(): bigint {
    return this.u64(F.modStart.offset);
  }
  set modStart(v: bigint) {
    this.setU64(F.modStart.offset, v);
  }
  get modLen(): bigint {
    return this.u64(F.modLen.offset);
  }
  set modLen(v: bigint) {
    this.setU64(F.modLen.offset, v);
  }
  /** The kernel command line; at most MAX_GUEST_CMDLINE − 1 bytes, NUL-padded. */
  get cmdLine(): string {
    return readCString(this.bytes.subarray(F.cmdLine.offset, F.cmdLine.offset + MAX_GUEST_CMDLINE));
  }
  set cmdLine(v: string) {
    writeCString(this.bytes.subarray(F.cmdLine.offset, F.cmdLine.offset + MAX_GUEST_CMDLINE), v, 'start_info.cmd_line');
  }
  get firstP2mPfn(): bigint {
    return this.u64(F.firstP2mPfn.offset);
  }
  set firstP2mPfn(v: bigint) {
    this.setU64(F.firstP2mPfn.offset, v);
  }
  get nrP2mFrames(): bigint {
    return this.u64(F.nrP2mFrames.offset);
  }
  set nrP2mFrames(v: bigint) {
    this.setU64(F.nrP2mFrames.offset, v);
  }
}
