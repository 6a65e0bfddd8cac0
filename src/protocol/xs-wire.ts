/**
 * The xenstore wire protocol, byte-exact with xen/include/public/io/xs_wire.h (Xen 4.17)
 * plus the types that docs/misc/xenstore.txt adds after it (GET/SET_FEATURE, GET/SET_QUOTA).
 *
 * A message is a 16-byte header `struct xsd_sockmsg { u32 type, req_id, tx_id, len }`
 * (little-endian, as every Xen guest and tool is) followed by `len` payload bytes.
 * The framing is the same on the unix socket and on a domain's ring page.
 */

import { XENSTORE_PAYLOAD_MAX } from '../abi/constants.js';

export const XsType = {
  CONTROL: 0,
  DIRECTORY: 1,
  READ: 2,
  GET_PERMS: 3,
  WATCH: 4,
  UNWATCH: 5,
  TRANSACTION_START: 6,
  TRANSACTION_END: 7,
  INTRODUCE: 8,
  RELEASE: 9,
  GET_DOMAIN_PATH: 10,
  WRITE: 11,
  MKDIR: 12,
  RM: 13,
  SET_PERMS: 14,
  WATCH_EVENT: 15,
  ERROR: 16,
  IS_DOMAIN_INTRODUCED: 17,
  RESUME: 18,
  SET_TARGET: 19,
  // 20 was XS_RESTRICT, removed from the ABI; it must stay unknown.
  RESET_WATCHES: 21,
  DIRECTORY_PART: 22,
  GET_FEATURE: 23,
  SET_FEATURE: 24,
  GET_QUOTA: 25,
  SET_QUOTA: 26,
} as const;

export type XsTypeName = keyof typeof XsType;
export type XsTypeCode = (typeof XsType)[XsTypeName];

const typeNames: string[] = [];
for (const [name, code] of Object.entries(XsType)) typeNames[code] = name;

/** The name of a message type, or its number for types the protocol does not define. */
export function xsTypeName(type: number): string {
  return typeNames[type] ?? String(type);
}

/** Error names from xsd_errors[]: the only strings an ERROR reply may carry. */
export const XS_ERRNO_NAMES = [
  'EINVAL', 'EACCES', 'EEXIST', 'EISDIR', 'ENOENT', 'ENOMEM', 'ENOSPC', 'EIO',
  'ENOTEMPTY', 'ENOSYS', 'EROFS', 'EBUSY', 'EAGAIN', 'EISCONN', 'E2BIG', 'EPERM',
] as const;
export type XsErrno = (typeof XS_ERRNO_NAMES)[number];

/**
 * What an ERROR reply may carry: an xsd_errors[] name, or oxenstored's EQUOTA for a
 * domU past its node, watch or transaction quota (Quota.Limit_reached and
 * Transaction_opened in process.ml). EQUOTA is outside xsd_errors[]: libxenstore
 * reads it as EINVAL.
 */
export const XS_REPLY_ERRNO_NAMES = [...XS_ERRNO_NAMES, 'EQUOTA'] as const;
export type XsReplyErrno = (typeof XS_REPLY_ERRNO_NAMES)[number];

export const HEADER_SIZE = 16;
/** XENSTORE_PAYLOAD_MAX: the largest payload in either direction. */
export const PAYLOAD_MAX: number = XENSTORE_PAYLOAD_MAX;
export const ABS_PATH_MAX = 3072;
export const REL_PATH_MAX = 2048;

export interface XsHeader {
  type: number;
  reqId: number;
  txId: number;
}

export interface XsMessage extends XsHeader {
  /** The payload; a view into the receive buffer, valid until the next read. */
  payload: Buffer;
}

/** Frame a message. The payload is copied once, into the returned buffer. */
export function encodeMessage(type: number, reqId: number, txId: number, payload: Buffer | string): Buffer {
  const len = typeof payload === 'string' ? Buffer.byteLength(payload, 'latin1') : payload.length;
  const out = Buffer.allocUnsafe(HEADER_SIZE + len);
  out.writeUInt32LE(type >>> 0, 0);
  out.writeUInt32LE(reqId >>> 0, 4);
  out.writeUInt32LE(txId >>> 0, 8);
  out.writeUInt32LE(len, 12);
  if (typeof payload === 'string') out.write(payload, HEADER_SIZE, len, 'latin1');
  else payload.copy(out, HEADER_SIZE);
  return out;
}

/** The OK payload every successful request without data gets. */
export const OK_PAYLOAD = Buffer.from('OK\0', 'latin1');

/**
 * Splits a byte stream into messages without copying when a message sits inside one
 * chunk (the usual case); a message split across chunks is assembled once.
 *
 * A header announcing more than PAYLOAD_MAX bytes is a protocol violation: the reader
 * reports it and the stream must not be read further, because whatever follows is no
 * longer aligned on a message boundary.
 */
export class XsFrameReader {
  private pending: Buffer | null = null;
  private violation: XsHeader & { len: number } | null = null;

  constructor(private readonly payloadMax = PAYLOAD_MAX) {}

  /** Feed bytes; returns the complete messages they finish, in order. */
  push(chunk: Buffer, out: XsMessage[] = []): XsMessage[] {
    if (this.violation) return out;
    let buf = chunk;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    let off = 0;
    while (buf.length - off >= HEADER_SIZE) {
      const len = buf.readUInt32LE(off + 12);
      if (len > this.payloadMax) {
        this.violation = {
          type: buf.readUInt32LE(off),
          reqId: buf.readUInt32LE(off + 4),
          txId: buf.readUInt32LE(off + 8),
          len,
        };
        return out;
      }
      if (buf.length - off < HEADER_SIZE + len) break;
      out.push({
        type: buf.readUInt32LE(off),
        reqId: buf.readUInt32LE(off + 4),
        txId: buf.readUInt32LE(off + 8),
        payload: buf.subarray(off + HEADER_SIZE, off + HEADER_SIZE + len),
      });
      off += HEADER_SIZE + len;
    }
    if (off < buf.length) {
      // Keep the partial message; copy it so the caller's chunk can be reused.
      this.pending = Buffer.from(buf.subarray(off));
    }
    return out;
  }

  /** The oversized header that stopped this reader, if any. */
  get oversized(): (XsHeader & { len: number }) | null {
    return this.violation;
  }

  /** Bytes received that do not yet form a whole message. */
  get bufferedBytes(): number {
    return this.pending?.length ?? 0;
  }
}

/**
 * Split a payload at NUL bytes the way xenstored's `split` does: the pieces between
 * NULs, with the (possibly empty) remainder after the last NUL as the final element.
 * `"a\0b\0"` gives `["a", "b", ""]`; `"a"` gives `["a"]`.
 */
export function splitNul(payload: Buffer, limit = Infinity): string[] {
  const parts: string[] = [];
  let start = 0;
  while (parts.length < limit - 1) {
    const nul = payload.indexOf(0, start);
    if (nul < 0) break;
    parts.push(payload.toString('latin1', start, nul));
    start = nul + 1;
  }
  parts.push(payload.toString('latin1', start));
  return parts;
}
