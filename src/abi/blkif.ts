/**
 * The block protocol of xen/io/blkif.h (x86_64, `protocol` = "x86_64-abi"): the request
 * shapes a frontend puts in an io/ring.h slot (read/write with inline segments, indirect,
 * discard), the response a backend puts back, and the operation, status and limit
 * macros. Layouts are layouts.md §4, checked against the header by
 * test/abi/offsets.test.ts.
 *
 * Sector units: sector_number, first_sect and last_sect always count 512-byte sectors,
 * whatever the disk's `sector-size` is (blkif.h: "sector_number ... 512-byte units").
 *
 * The views read and write guest memory in place (a ring slot, an indirect page). A
 * backend must copy what it validates before acting on it: the frontend can change the
 * slot at any moment (BlkifRequestView.copy does that).
 */
import { defineConstant, defineConstantGroup } from './constants.js';
import { defineStruct, XEN_PAGE_SIZE } from './layout.js';

/** BLKIF_OP_*: the `operation` of a request. */
export const BLKIF_OP = defineConstantGroup('BLKIF_OP_', 'xen/io/blkif.h', {
  READ: 0,
  WRITE: 1,
  /** Ordered after every request before it, and on stable storage when answered. */
  WRITE_BARRIER: 2,
  FLUSH_DISKCACHE: 3,
  RESERVED_1: 4,
  DISCARD: 5,
  /** The segments are in granted pages named by indirect_grefs. */
  INDIRECT: 6,
});

/** BLKIF_RSP_*: a response's `status`. */
export const BLKIF_RSP = defineConstantGroup('BLKIF_RSP_', 'xen/io/blkif.h', {
  EOPNOTSUPP: -2,
  ERROR: -1,
  OKAY: 0,
});

/** VDISK_* bits of the backend's `info` node. */
export const VDISK = defineConstantGroup('VDISK_', 'xen/io/blkif.h', {
  CDROM: 0x1,
  REMOVABLE: 0x2,
  READONLY: 0x4,
});

/** Segments inline in one blkif_request: 11 pages, 44 KiB. */
export const BLKIF_MAX_SEGMENTS_PER_REQUEST = defineConstant('BLKIF_MAX_SEGMENTS_PER_REQUEST', 'xen/io/blkif.h', 11);
/** Indirect pages one BLKIF_OP_INDIRECT request may name. */
export const BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST = defineConstant('BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST', 'xen/io/blkif.h', 8);
/** BLKIF_DISCARD_SECURE, the discard request's flag. */
export const BLKIF_DISCARD_SECURE = defineConstant('BLKIF_DISCARD_SECURE', 'xen/io/blkif.h', 1);

/** The unit of sector_number, first_sect and last_sect. */
export const BLKIF_SECTOR_SIZE = 512;
/** Sectors of one page: first_sect and last_sect range over 0..7. */
export const BLKIF_SECTORS_PER_PAGE = XEN_PAGE_SIZE / BLKIF_SECTOR_SIZE;
/** Segment descriptors one indirect page holds (Linux's SEGS_PER_INDIRECT_FRAME): 4096 / 8. */
export const BLKIF_SEGS_PER_INDIRECT_FRAME = XEN_PAGE_SIZE / 8;
/** The native protocol name (XEN_IO_PROTO_ABI_X86_64, io/protocols.h). */
export const XEN_IO_PROTO_ABI_X86_64 = 'x86_64-abi';

export const BLKIF_REQUEST = defineStruct({
  c: 'struct blkif_request',
  header: 'xen/io/blkif.h',
  size: 112,
  align: 8,
  fields: {
    operation: { offset: 0, size: 1, c: 'operation' },
    /** 0..11 (0 is legal for a flush or barrier). */
    nrSegments: { offset: 1, size: 1, c: 'nr_segments' },
    handle: { offset: 2, size: 2, c: 'handle' },
    id: { offset: 8, size: 8, c: 'id' },
    sectorNumber: { offset: 16, size: 8, c: 'sector_number' },
    seg: { offset: 24, size: 88, c: 'seg', count: BLKIF_MAX_SEGMENTS_PER_REQUEST },
  },
});

export const BLKIF_REQUEST_SEGMENT = defineStruct({
  c: 'struct blkif_request_segment',
  header: 'xen/io/blkif.h',
  size: 8,
  align: 4,
  fields: {
    gref: { offset: 0, size: 4, c: 'gref' },
    firstSect: { offset: 4, size: 1, c: 'first_sect' },
    lastSect: { offset: 5, size: 1, c: 'last_sect' },
  },
});

export const BLKIF_REQUEST_DISCARD = defineStruct({
  c: 'struct blkif_request_discard',
  header: 'xen/io/blkif.h',
  size: 32,
  align: 8,
  fields: {
    operation: { offset: 0, size: 1, c: 'operation' },
    flag: { offset: 1, size: 1, c: 'flag' },
    handle: { offset: 2, size: 2, c: 'handle' },
    id: { offset: 8, size: 8, c: 'id' },
    sectorNumber: { offset: 16, size: 8, c: 'sector_number' },
    nrSectors: { offset: 24, size: 8, c: 'nr_sectors' },
  },
});

export const BLKIF_REQUEST_INDIRECT = defineStruct({
  c: 'struct blkif_request_indirect',
  header: 'xen/io/blkif.h',
  size: 64,
  align: 8,
  fields: {
    operation: { offset: 0, size: 1, c: 'operation' },
    indirectOp: { offset: 1, size: 1, c: 'indirect_op' },
    /** uint16_t here, unlike the inline request's. */
    nrSegments: { offset: 2, size: 2, c: 'nr_segments' },
    id: { offset: 8, size: 8, c: 'id' },
    sectorNumber: { offset: 16, size: 8, c: 'sector_number' },
    /** Moved to 24, unlike the inline request's. */
    handle: { offset: 24, size: 2, c: 'handle' },
    indirectGrefs: { offset: 28, size: 32, c: 'indirect_grefs', count: BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST },
  },
});

export const BLKIF_RESPONSE = defineStruct({
  c: 'struct blkif_response',
  header: 'xen/io/blkif.h',
  size: 16,
  align: 8,
  fields: {
    id: { offset: 0, size: 8, c: 'id' },
    operation: { offset: 8, size: 1, c: 'operation' },
    status: { offset: 10, size: 2, c: 'status' },
  },
});

/** One segment: a granted page and the inclusive 512-byte sector range inside it. */
export interface BlkifSegment {
  gref: number;
  firstSect: number;
  lastSect: number;
}

/** A request as the backend copied it out of the ring, before any check. */
export interface BlkifRequestCopy {
  operation: number;
  /** For BLKIF_OP_INDIRECT: the operation it carries. */
  indirectOp: number;
  nrSegments: number;
  handle: number;
  id: bigint;
  sectorNumber: bigint;
  /** Inline segments (the first min(nr_segments, 11)); empty for indirect and discard. */
  segments: BlkifSegment[];
  /** BLKIF_OP_INDIRECT: the indirect pages' grants (as many as nr_segments needs). */
  indirectGrefs: number[];
  /** BLKIF_OP_DISCARD. */
  nrSectors: bigint;
  discardFlag: number;
}

const R = BLKIF_REQUEST.fields;
const S = BLKIF_REQUEST_SEGMENT.fields;
const D = BLKIF_REQUEST_DISCARD.fields;
const I = BLKIF_REQUEST_INDIRECT.fields;
const P = BLKIF_RESPONSE.fields;

/** Indirect pages needed for `segments` descriptors (INDIRECT_PAGES in Linux). */
export function indirectPages(segments: number): number {
  return Math.ceil(segments / BLKIF_SEGS_PER_INDIRECT_FRAME);
}

/** A request slot of a blkif ring, read and written in place (`view` is the ring's, `offset` the slot's). */
export class BlkifRequestView {
  constructor(
    readonly view: DataView,
    readonly offset: number,
  ) {}

  get operation(): number {
    return this.view.getUint8(this.offset + R.operation.offset);
  }

  /**
   * Copy the request out of the slot, as a backend must before validating it: every
   * shape (inline, indirect, discard) is read by its own layout. Nothing is checked
   * here; nr_segments is taken as given and at most 11 inline segments are read.
   */
  copy(): BlkifRequestCopy {
    const v = this.view;
    const o = this.offset;
    const operation = v.getUint8(o + R.operation.offset);
    const out: BlkifRequestCopy = {
      operation,
      indirectOp: 0,
      nrSegments: 0,
      handle: 0,
      id: v.getBigUint64(o + R.id.offset, true),
      sectorNumber: v.getBigUint64(o + R.sectorNumber.offset, true),
      segments: [],
      indirectGrefs: [],
      nrSectors: 0n,
      discardFlag: 0,
    };
    if (operation === BLKIF_OP.INDIRECT) {
      out.indirectOp = v.getUint8(o + I.indirectOp.offset);
      out.nrSegments = v.getUint16(o + I.nrSegments.offset, true);
      out.handle = v.getUint16(o + I.handle.offset, true);
      const pages = Math.min(indirectPages(out.nrSegments), BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST);
      // Lists of their exact size: one grown by push takes 17 slots for the usual one or two entries.
      out.indirectGrefs = new Array<number>(pages);
      for (let i = 0; i < pages; i++) out.indirectGrefs[i] = v.getUint32(o + I.indirectGrefs.offset + 4 * i, true);
    } else if (operation === BLKIF_OP.DISCARD) {
      out.discardFlag = v.getUint8(o + D.flag.offset);
      out.handle = v.getUint16(o + D.handle.offset, true);
      out.nrSectors = v.getBigUint64(o + D.nrSectors.offset, true);
    } else {
      out.nrSegments = v.getUint8(o + R.nrSegments.offset);
      out.handle = v.getUint16(o + R.handle.offset, true);
      const n = Math.min(out.nrSegments, BLKIF_MAX_SEGMENTS_PER_REQUEST);
      out.segments = new Array<BlkifSegment>(n);
      for (let i = 0; i < n; i++) out.segments[i] = readSegment(v, o + R.seg.offset + i * BLKIF_REQUEST_SEGMENT.size);
    }
    return out;
  }

  /** Fill the slot with a read/write/flush/barrier request and its inline segments (≤ 11). */
  writeRequest(operation: number, handle: number, id: bigint, sectorNumber: bigint, segments: readonly BlkifSegment[]): void {
    if (segments.length > BLKIF_MAX_SEGMENTS_PER_REQUEST) throw new RangeError(`blkif_request: ${segments.length} segments, at most ${BLKIF_MAX_SEGMENTS_PER_REQUEST} inline`);
    const v = this.view;
    const o = this.offset;
    v.setUint8(o + R.operation.offset, operation);
    v.setUint8(o + R.nrSegments.offset, segments.length);
    v.setUint16(o + R.handle.offset, handle, true);
    v.setUint32(o + 4, 0, true);
    v.setBigUint64(o + R.id.offset, id, true);
    v.setBigUint64(o + R.sectorNumber.offset, sectorNumber, true);
    segments.forEach((s, i) => writeSegment(v, o + R.seg.offset + i * BLKIF_REQUEST_SEGMENT.size, s));
  }

  /** Fill the slot with a BLKIF_OP_INDIRECT request: `nrSegments` descriptors in the pages `indirectGrefs` name. */
  writeIndirect(indirectOp: number, handle: number, id: bigint, sectorNumber: bigint, nrSegments: number, indirectGrefs: readonly number[]): void {
    if (indirectGrefs.length > BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST) throw new RangeError(`blkif_request_indirect: ${indirectGrefs.length} indirect pages, at most ${BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST}`);
    const v = this.view;
    const o = this.offset;
    zero(v, o, BLKIF_REQUEST_INDIRECT.size);
    v.setUint8(o + I.operation.offset, BLKIF_OP.INDIRECT);
    v.setUint8(o + I.indirectOp.offset, indirectOp);
    v.setUint16(o + I.nrSegments.offset, nrSegments, true);
    v.setBigUint64(o + I.id.offset, id, true);
    v.setBigUint64(o + I.sectorNumber.offset, sectorNumber, true);
    v.setUint16(o + I.handle.offset, handle, true);
    for (let i = 0; i < indirectGrefs.length; i++) v.setUint32(o + I.indirectGrefs.offset + 4 * i, indirectGrefs[i]!, true);
  }

  /** Fill the slot with a BLKIF_OP_DISCARD request. */
  writeDiscard(handle: number, id: bigint, sectorNumber: bigint, nrSectors: bigint, secure: boolean): void {
    const v = this.view;
    const o = this.offset;
    zero(v, o, BLKIF_REQUEST_DISCARD.size);
    v.setUint8(o + D.operation.offset, BLKIF_OP.DISCARD);
    v.setUint8(o + D.flag.offset, secure ? BLKIF_DISCARD_SECURE : 0);
    v.setUint16(o + D.handle.offset, handle, true);
    v.setBigUint64(o + D.id.offset, id, true);
    v.setBigUint64(o + D.sectorNumber.offset, sectorNumber, true);
    v.setBigUint64(o + D.nrSectors.offset, nrSectors, true);
  }
}

/**
 * Segments packed as triples (gref, first_sect, last_sect), segment i at 3i: what a
 * request's data path reads, without an object per segment (a 1 MiB request has 256).
 */
export type PackedSegments = number[];

/**
 * The first `count` segment descriptors of the indirect pages, in order (descriptor i
 * is in page i / 512), packed: no object per page or per descriptor.
 */
export function readIndirectSegments(pages: readonly Uint8Array[], count: number): PackedSegments {
  const out: PackedSegments = new Array<number>(3 * count);
  for (let p = 0, i = 0; i < count; p++) {
    // Read from the page's bytes (little-endian, as x86_64's ABI): a DataView per page
    // would be an object made, and dropped, per request.
    const page = pages[p]!;
    const end = Math.min(count, i + BLKIF_SEGS_PER_INDIRECT_FRAME);
    for (let at = 0; i < end; i++, at += BLKIF_REQUEST_SEGMENT.size) {
      const g = at + S.gref.offset;
      out[3 * i] = (page[g]! | (page[g + 1]! << 8) | (page[g + 2]! << 16) | (page[g + 3]! << 24)) >>> 0;
      out[3 * i + 1] = page[at + S.firstSect.offset]!;
      out[3 * i + 2] = page[at + S.lastSect.offset]!;
    }
  }
  return out;
}

/**
 * Write descriptor `i` of the indirect pages `views` view (descriptor i in page i / 512),
 * from its fields: a request's writer needs no object per segment.
 */
export function writeIndirectSegment(views: readonly DataView[], i: number, gref: number, firstSect: number, lastSect: number): void {
  writeSegmentFields(views[(i / BLKIF_SEGS_PER_INDIRECT_FRAME) | 0]!, (i % BLKIF_SEGS_PER_INDIRECT_FRAME) * BLKIF_REQUEST_SEGMENT.size, gref, firstSect, lastSect);
}

/**
 * Zero `size` bytes (a multiple of 4) of a slot: in place, as word stores, not through
 * a Uint8Array made over the ring for each request.
 */
function zero(v: DataView, at: number, size: number): void {
  for (let i = 0; i < size; i += 4) v.setUint32(at + i, 0, true);
}

function readSegment(v: DataView, at: number): BlkifSegment {
  return { gref: v.getUint32(at + S.gref.offset, true), firstSect: v.getUint8(at + S.firstSect.offset), lastSect: v.getUint8(at + S.lastSect.offset) };
}

function writeSegment(v: DataView, at: number, s: BlkifSegment): void {
  writeSegmentFields(v, at, s.gref, s.firstSect, s.lastSect);
}

function writeSegmentFields(v: DataView, at: number, gref: number, firstSect: number, lastSect: number): void {
  v.setUint32(at + S.gref.offset, gref, true);
  v.setUint8(at + S.firstSect.offset, firstSect);
  v.setUint8(at + S.lastSect.offset, lastSect);
  v.setUint16(at + 6, 0, true);
}

/** A response slot of a blkif ring. */
export class BlkifResponseView {
  constructor(
    readonly view: DataView,
    readonly offset: number,
  ) {}

  get id(): bigint {
    return this.view.getBigUint64(this.offset + P.id.offset, true);
  }
  get operation(): number {
    return this.view.getUint8(this.offset + P.operation.offset);
  }
  get status(): number {
    return this.view.getInt16(this.offset + P.status.offset, true);
  }

  /** Fill the response (pads zeroed, so no stale request bytes leak back). */
  write(id: bigint, operation: number, status: number): void {
    const v = this.view;
    const o = this.offset;
    v.setBigUint64(o + P.id.offset, id, true);
    v.setUint8(o + P.operation.offset, operation);
    v.setUint8(o + 9, 0);
    v.setInt16(o + P.status.offset, status, true);
    v.setUint32(o + 12, 0, true);
  }
}
