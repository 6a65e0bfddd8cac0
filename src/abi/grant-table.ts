/**
 * Grant table v1 (xen/grant_table.h, misc/grant-tables.txt): an array of 8-byte
 * grant_entry_v1 {u16 flags, u16 domid, u32 frame}, 512 per 4 KiB frame, indexed by
 * grant_ref_t. The granting guest owns the entries; Xen (here: the hypervisor acting
 * for the grantee) sets GTF_reading/GTF_writing while the grant is in use.
 *
 * Entries never straddle a frame (8 divides 4096), so the frames need not be
 * contiguous: each may be its own ArrayBuffer.
 *
 * Concurrency: flags is the word both sides modify, always with compare-and-swap (Xen's
 * _set_status_v1 and Linux's gnttab_end_foreign_access_ref_v1 both loop on cmpxchg).
 * Here flags go through Atomics on a Uint16Array, which is that cmpxchg on a shared
 * buffer and an exact single-threaded emulation of it on a plain one.
 */
import { GTF } from './constants.js';
import { AbiError } from './errors.js';
import { defineStruct, memoryWindow, requireLittleEndianHost, XEN_PAGE_SIZE, type GuestBytes } from './layout.js';

/** struct grant_entry_v1, 8 bytes. */
export const GRANT_ENTRY_V1 = defineStruct({
  c: 'struct grant_entry_v1',
  header: 'xen/grant_table.h',
  size: 8,
  align: 4,
  fields: {
    /** GTF_* flags: the type in bits 0-1, then readonly/reading/writing/... */
    flags: { offset: 0, size: 2, c: 'flags' },
    /** The domain being granted access. */
    domid: { offset: 2, size: 2, c: 'domid' },
    /** The guest frame (GFN) being granted. */
    frame: { offset: 4, size: 4, c: 'frame' },
  },
});

/** Entries per 4 KiB grant frame. */
export const GRANT_ENTRIES_PER_FRAME_V1 = XEN_PAGE_SIZE / GRANT_ENTRY_V1.size;

const G = GRANT_ENTRY_V1.fields;
const PER_FRAME_SHIFT = 9; // log2(GRANT_ENTRIES_PER_FRAME_V1)

/** A copy of one entry. */
export interface GrantEntryV1 {
  flags: number;
  domid: number;
  frame: number;
}

/** View of a v1 grant table over its frames (frame i holds refs 512i..512i+511). */
export class GrantTableV1 {
  static readonly layout = GRANT_ENTRY_V1;
  readonly nrEntries: number;
  private readonly u16: Uint16Array[];
  private readonly u32: Uint32Array[];

  constructor(frames: readonly GuestBytes[]) {
    requireLittleEndianHost();
    this.u16 = [];
    this.u32 = [];
    for (const [i, f] of frames.entries()) {
      const w = memoryWindow(f);
      if (w.byteLength !== XEN_PAGE_SIZE || w.byteOffset % 8 !== 0) {
        throw new AbiError('LAYOUT', `grant table frame ${i}: need an aligned 4096-byte page, got ${w.byteLength} bytes at ${w.byteOffset}`);
      }
      this.u16.push(new Uint16Array(w.buffer, w.byteOffset, XEN_PAGE_SIZE / 2));
      this.u32.push(new Uint32Array(w.buffer, w.byteOffset, XEN_PAGE_SIZE / 4));
    }
    this.nrEntries = frames.length * GRANT_ENTRIES_PER_FRAME_V1;
  }

  private check(ref: number): void {
    if (!(ref >>> 0 === ref && ref < this.nrEntries)) {
      throw new RangeError(`grant ref ${ref} is outside this table (0..${this.nrEntries - 1})`);
    }
  }

  /** [Uint16Array of the frame, index of the entry's flags in it]. */
  private at16(ref: number): [Uint16Array, number] {
    this.check(ref);
    return [this.u16[ref >>> PER_FRAME_SHIFT]!, (ref & (GRANT_ENTRIES_PER_FRAME_V1 - 1)) * (GRANT_ENTRY_V1.size / 2)];
  }

  flags(ref: number): number {
    const [a, i] = this.at16(ref);
    return Atomics.load(a, i + G.flags.offset / 2);
  }
  domid(ref: number): number {
    const [a, i] = this.at16(ref);
    return Atomics.load(a, i + G.domid.offset / 2);
  }
  frame(ref: number): number {
    this.check(ref);
    const a = this.u32[ref >>> PER_FRAME_SHIFT]!;
    return Atomics.load(a, (ref & (GRANT_ENTRIES_PER_FRAME_V1 - 1)) * (GRANT_ENTRY_V1.size / 4) + G.frame.offset / 4);
  }
  entry(ref: number): GrantEntryV1 {
    return { flags: this.flags(ref), domid: this.domid(ref), frame: this.frame(ref) };
  }

  /** Plain store of flags. Only for setup and tests: live changes use compareExchangeFlags. */
  setFlags(ref: number, flags: number): void {
    const [a, i] = this.at16(ref);
    Atomics.store(a, i + G.flags.offset / 2, flags);
  }
  setDomid(ref: number, domid: number): void {
    const [a, i] = this.at16(ref);
    Atomics.store(a, i + G.domid.offset / 2, domid);
  }
  setFrame(ref: number, frame: number): void {
    this.check(ref);
    const a = this.u32[ref >>> PER_FRAME_SHIFT]!;
    Atomics.store(a, (ref & (GRANT_ENTRIES_PER_FRAME_V1 - 1)) * (GRANT_ENTRY_V1.size / 4) + G.frame.offset / 4, frame);
  }

  /**
   * `cmpxchg(&entry.flags, expected, replacement)`: store `replacement` only if flags
   * equal `expected`; return the flags found (equal to `expected` iff the swap happened).
   */
  compareExchangeFlags(ref: number, expected: number, replacement: number): number {
    const [a, i] = this.at16(ref);
    return Atomics.compareExchange(a, i + G.flags.offset / 2, expected & 0xffff, replacement & 0xffff);
  }

  /**
   * Grant `domid` access to `frame` (gnttab_grant_foreign_access_ref): domid and frame
   * first, then (write barrier) the flags that make the entry valid, so the grantee can
   * never see a valid entry with stale contents.
   */
  grantForeignAccess(ref: number, domid: number, frame: number, readonly: boolean): void {
    this.setDomid(ref, domid);
    this.setFrame(ref, frame);
    this.setFlags(ref, GTF.permit_access | (readonly ? GTF.readonly : 0));
  }

  /**
   * Revoke a grant (gnttab_end_foreign_access_ref_v1): succeed, setting flags to 0, only
   * when neither GTF_reading nor GTF_writing is set; the check and the clear are one
   * compare-and-swap, retried if the flags changed in between. Returns false while the
   * grantee still has the frame in use (the caller retries later, as Linux defers).
   */
  endForeignAccess(ref: number): boolean {
    let seen = this.flags(ref);
    for (;;) {
      const flags = seen;
      if (flags & (GTF.reading | GTF.writing)) return false;
      seen = this.compareExchangeFlags(ref, flags, 0);
      if (seen === flags) return true;
    }
  }
}
