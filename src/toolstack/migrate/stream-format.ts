/**
 * The bytes of an xl save file, from the documents that define them (Xen 4.17):
 * - xl's header: tools/xl/xl.h (struct save_file_header, savefileheader_magic,
 *   XL_MANDATORY_FLAG_*), written by save_domain_core_writeconfig in xl_saverestore.c;
 * - the libxl stream v2: docs/specs/libxl-migration-stream.pandoc;
 * - the libxc stream v2/v3 inside it: docs/specs/libxc-migration-stream.pandoc;
 * the same numbers as Xen's checker, tools/python/xen/migration/{xl,libxl,libxc}.py.
 *
 * Byte order: xl's header is in the saving host's order, announced by its byteorder
 * field; the libxl and libxc image headers are big-endian ("!QII", "!QIIHHI"); every
 * record and the libxc domain header are in the stream's order, which both image
 * headers say is little-endian (x86). Every record is type u32, body_length u32, the
 * body, and zero padding to a multiple of 8 octets.
 */

/** savefileheader_magic: 32 octets, the NUL and CR included. */
export const XL_MAGIC = Buffer.from('Xen saved domain, xl format\n \0 \r', 'latin1');
/** struct save_file_header: magic, then byteorder, mandatory_flags, optional_flags, optional_data_len. */
export const XL_HEADER_SIZE = 32 + 16;
export const XL_BYTEORDER = 0x01020304;
export const XL_MANDATORY_FLAG_JSON = 1 << 0;
export const XL_MANDATORY_FLAG_STREAMV2 = 1 << 1;
export const XL_MANDATORY_FLAG_ALL = XL_MANDATORY_FLAG_JSON | XL_MANDATORY_FLAG_STREAMV2;

/** xl's header as read: its flags (xl prints them) and the config it carries. */
export interface XlHeaderInfo {
  mandatoryFlags: number;
  optionalFlags: number;
  optionalDataLength: number;
  /** The domain config xl stored (libxl_domain_config JSON), or null if none. */
  configJson: string | null;
}

/** libxl stream header: ident "LibxlFmt", version 2, options (bit 0: big-endian, bit 1: legacy). */
export const LIBXL_IDENT = 0x4c6962786c466d74n;
export const LIBXL_VERSION = 2;
export const LIBXL_HEADER_SIZE = 16;

export const LIBXL_REC = {
  END: 0x0,
  LIBXC_CONTEXT: 0x1,
  EMULATOR_XENSTORE_DATA: 0x2,
  EMULATOR_CONTEXT: 0x3,
  CHECKPOINT_END: 0x4,
  CHECKPOINT_STATE: 0x5,
} as const;

/**
 * The emulator a libxl emulator record is for. 0 is the spec's "Unknown": xenemu's
 * device-model state is neither QEMU's, so a real libxl never hands it to a QEMU.
 */
export const EMULATOR_ID_UNKNOWN = 0;

/** libxc image header: marker all ones, id "XENF", version, options (bit 0: big-endian), reserved. */
export const LIBXC_MARKER = 0xffffffffffffffffn;
export const LIBXC_IDENT = 0x58454e46;
/** Version 3 (Xen 4.14 on) adds STATIC_DATA_END and the CPU policy records; 4.17 writes 3. */
export const LIBXC_VERSION = 3;
export const LIBXC_IMAGE_HEADER_SIZE = 24;
/** libxc domain header: type u32, page_shift u16, reserved u16, xen_major u32, xen_minor u32. */
export const LIBXC_DOMAIN_HEADER_SIZE = 16;
export const DHDR_TYPE_X86_PV = 1;
export const DHDR_TYPE_X86_HVM = 2;
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

export const LIBXC_REC = {
  END: 0x00,
  PAGE_DATA: 0x01,
  X86_PV_INFO: 0x02,
  X86_PV_P2M_FRAMES: 0x03,
  X86_PV_VCPU_BASIC: 0x04,
  X86_PV_VCPU_EXTENDED: 0x05,
  X86_PV_VCPU_XSAVE: 0x06,
  SHARED_INFO: 0x07,
  X86_TSC_INFO: 0x08,
  HVM_CONTEXT: 0x09,
  HVM_PARAMS: 0x0a,
  TOOLSTACK: 0x0b,
  X86_PV_VCPU_MSRS: 0x0c,
  VERIFY: 0x0d,
  CHECKPOINT: 0x0e,
  CHECKPOINT_DIRTY_PFN_LIST: 0x0f,
  STATIC_DATA_END: 0x10,
  X86_CPUID_POLICY: 0x11,
  X86_MSR_POLICY: 0x12,
} as const;

const names = (table: Readonly<Record<string, number>>): ReadonlyMap<number, string> => new Map(Object.entries(table).map(([k, v]) => [v, k]));
const LIBXL_NAMES = names(LIBXL_REC);
const LIBXC_NAMES = names(LIBXC_REC);

/** A record type's name as the specs spell it, for messages ("PAGE_DATA", "libxl record 0x9"). */
export function recordName(layer: 'libxl' | 'libxc', type: number): string {
  return (layer === 'libxl' ? LIBXL_NAMES : LIBXC_NAMES).get(type) ?? `${layer} record 0x${type.toString(16)}`;
}

/** Record header: type u32, body_length u32. */
export const RECORD_HEADER_SIZE = 8;

/** A record's padded length: its body rounded up to a multiple of 8. */
export function padded(length: number): number {
  return (length + 7) & ~7;
}

/**
 * PAGE_DATA: count u32, reserved u32, pfn[count] u64, then one page per pfn whose type
 * carries data. A pfn word is the frame number in bits 0-51 and XEN_DOMCTL_PFINFO_*
 * in bits 60-63 (0: NOTAB, a normal page); libxc batches at most MAX_BATCH_SIZE (1024)
 * pages per record, and so does this writer (a record stays a few MiB).
 */
export const PAGE_DATA_MAX_BATCH = 1024;
export const PFN_MASK = (1n << 52n) - 1n;
export const PFN_TYPE_SHIFT = 60n;
/** XEN_DOMCTL_PFINFO_NOTAB..L4TAB: types whose page data follow; XALLOC, BROKEN, XTAB carry none. */
export const PFINFO_TYPES_WITH_DATA = new Set([0, 1, 2, 3, 4, 9, 10, 11, 12]);
export const PFINFO_XTAB = 0xf;

/** X86_PV_INFO: guest_width u8 (8: 64-bit), pt_levels u8 (4), reserved u16, reserved u32. */
export const X86_PV_INFO_SIZE = 8;
/** X86_TSC_INFO: mode u32, khz u32, nsec u64, incarnation u32, reserved u32. */
export const X86_TSC_INFO_SIZE = 24;
/** The emulated TSC's rate the TSC_INFO record states (the emulated clock is in ns: 1 GHz). */
export const TSC_KHZ = 1_000_000;
