import { XenemuError } from '../common/errors.js';

/**
 * The classic libpcap file format (pcap-savefile(5), and the IETF draft
 * draft-ietf-opsawg-pcap): a 24-byte global header, then per frame a 16-byte record
 * header and the captured bytes. Written in host (little-endian) order with
 * microsecond timestamps, the variant every reader (tshark, Wireshark, tcpdump,
 * scapy) takes; the reader also takes the other byte order and nanosecond files,
 * since a user may inject any capture they have.
 */

/** Microsecond-resolution magic; byte-swapped when the file was written big-endian. */
export const PCAP_MAGIC_USEC = 0xa1b2c3d4;
/** Nanosecond-resolution magic (tcpdump --time-stamp-precision=nano). */
export const PCAP_MAGIC_NSEC = 0xa1b23c4d;
export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;
/** LINKTYPE_ETHERNET: IEEE 802.3, destination MAC first, no FCS. */
export const LINKTYPE_ETHERNET = 1;
/** What tcpdump uses by default: no frame is cut (netif frames are at most 64 KiB). */
export const PCAP_SNAPLEN = 262144;

export const PCAP_GLOBAL_HEADER_SIZE = 24;
export const PCAP_RECORD_HEADER_SIZE = 16;

/** The global header of a file this module writes. */
export function pcapGlobalHeader(): Uint8Array {
  const b = new Uint8Array(PCAP_GLOBAL_HEADER_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(0, PCAP_MAGIC_USEC, true);
  v.setUint16(4, PCAP_VERSION_MAJOR, true);
  v.setUint16(6, PCAP_VERSION_MINOR, true);
  v.setInt32(8, 0, true); // thiszone: GMT
  v.setUint32(12, 0, true); // sigfigs: always 0
  v.setUint32(16, PCAP_SNAPLEN, true);
  v.setUint32(20, LINKTYPE_ETHERNET, true);
  return b;
}

/**
 * Write one record header at `at` of `into`: the timestamp (seconds, microseconds),
 * the captured length and the frame's length on the wire.
 */
export function writeRecordHeader(into: DataView, at: number, tsSec: number, tsUsec: number, capLen: number, origLen: number): void {
  into.setUint32(at, tsSec >>> 0, true);
  into.setUint32(at + 4, tsUsec, true);
  into.setUint32(at + 8, capLen, true);
  into.setUint32(at + 12, origLen, true);
}

/** A pcap file that cannot be read, with the byte offset of what is wrong. */
export class PcapFormatError extends XenemuError {
  constructor(
    readonly file: string,
    readonly offset: number,
    problem: string,
  ) {
    super('EINVAL', `${file}: not a usable pcap file: ${problem} at byte offset ${offset}`);
  }
}

export interface PcapRecord {
  /** Seconds and nanoseconds since the epoch, as recorded. */
  tsSec: number;
  tsNsec: number;
  /** The captured bytes (a view into the file's buffer). */
  data: Uint8Array;
  /** The frame's length on the wire; more than data.length when the capture cut it. */
  origLen: number;
}

export interface PcapFile {
  linkType: number;
  snapLen: number;
  records: PcapRecord[];
}

/**
 * Parse a whole pcap file. Refuses what it cannot trust, naming the offset: a bad
 * magic, a header or record cut short, a record longer than its file's snaplen (or
 * than 256 KiB when the snaplen says more). It never throws anything else.
 */
export function parsePcap(bytes: Uint8Array, file: string): PcapFile {
  if (bytes.length < PCAP_GLOBAL_HEADER_SIZE) throw new PcapFormatError(file, bytes.length, `global header cut short (${bytes.length} of ${PCAP_GLOBAL_HEADER_SIZE} bytes)`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicLE = v.getUint32(0, true);
  let little: boolean;
  let nano: boolean;
  if (magicLE === PCAP_MAGIC_USEC || magicLE === PCAP_MAGIC_NSEC) {
    little = true;
    nano = magicLE === PCAP_MAGIC_NSEC;
  } else {
    const magicBE = v.getUint32(0, false);
    if (magicBE !== PCAP_MAGIC_USEC && magicBE !== PCAP_MAGIC_NSEC) {
      // pcapng starts with a Section Header Block type 0x0a0d0d0a: say so, since it is the likely mistake.
      const hint = magicLE === 0x0a0d0d0a ? ' (this is pcapng: convert it with `editcap -F pcap`)' : '';
      throw new PcapFormatError(file, 0, `bad magic 0x${magicLE.toString(16).padStart(8, '0')}${hint}`);
    }
    little = false;
    nano = magicBE === PCAP_MAGIC_NSEC;
  }
  const major = v.getUint16(4, little);
  if (major !== PCAP_VERSION_MAJOR) throw new PcapFormatError(file, 4, `unsupported version ${major}.${v.getUint16(6, little)} (expected 2.4)`);
  const snapLen = v.getUint32(16, little);
  const linkType = v.getUint32(20, little) & 0x0fffffff; // the top bits carry FCS flags
  // A record may not exceed the snaplen; a silly snaplen still may not make us allocate without bound.
  const maxRecord = Math.min(snapLen === 0 ? PCAP_SNAPLEN : snapLen, PCAP_SNAPLEN);
  const records: PcapRecord[] = [];
  let at = PCAP_GLOBAL_HEADER_SIZE;
  while (at < bytes.length) {
    if (bytes.length - at < PCAP_RECORD_HEADER_SIZE) {
      throw new PcapFormatError(file, at, `record ${records.length + 1}: header cut short (${bytes.length - at} of ${PCAP_RECORD_HEADER_SIZE} bytes)`);
    }
    const tsSec = v.getUint32(at, little);
    const tsFrac = v.getUint32(at + 4, little);
    const capLen = v.getUint32(at + 8, little);
    const origLen = v.getUint32(at + 12, little);
    if (capLen > maxRecord) throw new PcapFormatError(file, at + 8, `record ${records.length + 1}: captured length ${capLen} over the limit of ${maxRecord}`);
    const start = at + PCAP_RECORD_HEADER_SIZE;
    if (bytes.length - start < capLen) {
      throw new PcapFormatError(file, start, `record ${records.length + 1}: data cut short (${bytes.length - start} of ${capLen} bytes)`);
    }
    records.push({ tsSec, tsNsec: nano ? tsFrac : tsFrac * 1000, data: bytes.subarray(start, start + capLen), origLen: Math.max(origLen, capLen) });
    at = start + capLen;
  }
  return { linkType, snapLen, records };
}
