import { closeSync, fstatSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { rotateLogFiles, type LogLimits } from '../common/log-files.js';
import { LINKTYPE_ETHERNET, PCAP_GLOBAL_HEADER_SIZE, PCAP_MAGIC_USEC, PCAP_RECORD_HEADER_SIZE, PCAP_SNAPLEN, pcapGlobalHeader, writeRecordHeader } from './pcap-format.js';

/** Microseconds since the epoch: wall time (what Wireshark shows), at hrtime's resolution. */
export type UsecClock = () => number;

/**
 * The wall clock at process start plus the monotonic clock since: microseconds that
 * never go backwards within a run. performance.now() rather than hrtime.bigint():
 * a capture takes a timestamp per frame, and a double costs a fraction of a BigInt.
 */
export function wallUsecClock(): UsecClock {
  const origin = performance.timeOrigin;
  return () => Math.floor((origin + performance.now()) * 1000);
}

export interface PcapWriterOptions {
  /** The capture file; its folder is created. An existing capture of ours is appended to. */
  path: string;
  /** The host's log: the one line saying the capture stopped, and why. */
  log: (line: string) => void;
  now?: UsecClock;
  /** Run the flush after the current work (setImmediate by default; tests pass their own). */
  defer?: (fn: () => void) => void;
  /** When the file is rotated and how many old ones are kept (DEFAULT_CAPTURE_LIMITS unless given). */
  limits?: LogLimits;
}

/**
 * 64 MiB and three old captures: a NIC that never stops carrying frames holds at most
 * 256 MiB of disk, its last 64 to 256 MiB of traffic. (tcpdump's -C and -W bound a
 * capture the same way.)
 */
export const DEFAULT_CAPTURE_LIMITS: LogLimits = { maxBytes: 64 << 20, backups: 3 };
/** The smallest file limit: room for the global header and one record of the largest frame captured. */
export const MIN_CAPTURE_MAX_BYTES = 1 << 20;

/** Records are gathered here and written in one write(2) per event-loop turn or when it fills. */
const BUFFER_SIZE = 1024 * 1024;
/** Flush once this much is waiting, without waiting for the turn to end. */
const FLUSH_AT = 256 * 1024;
/** Records that may share one clock reading within a turn (a few microseconds of frames). */
const STAMP_EVERY = 32;

export interface PcapWriterStats {
  records: number;
  bytes: number;
  /** Frames not captured because the file could not be written. */
  dropped: number;
}

/**
 * A capture file that grows as frames pass. Each frame is copied (the link's bytes are
 * only valid during its handler) into a buffer that reaches the file by the end of the
 * event-loop turn, so tshark -r or Wireshark reading the file while it grows sees
 * every frame whole, at the cost of one write per burst rather than per frame.
 *
 * A file that would pass its size limit is rotated as the logs are (NAME.pcap becomes
 * NAME.pcap.1 ..., the oldest dropped) between two records, and the capture goes on in
 * a new file with its own global header: each file is a whole capture on its own.
 *
 * A file that cannot be opened or written (a full disk, a removed folder, EACCES)
 * stops the capture, with one line in the host's log; the frames still go where they
 * were going, since a capture must never take a NIC down.
 */
/**
 * Open a capture for appending: a new file gets the global header; an existing one
 * must be a capture this writer could have made. Throws what is wrong.
 */
function openCapture(path: string): number {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const fd = openSync(path, 'a+', 0o600);
  try {
    if (fstatSync(fd).size === 0) {
      writeSync(fd, pcapGlobalHeader());
      return fd;
    }
    const head = new Uint8Array(PCAP_GLOBAL_HEADER_SIZE);
    const got = readSync(fd, head, 0, head.length, 0);
    const v = new DataView(head.buffer);
    if (got < head.length || v.getUint32(0, true) !== PCAP_MAGIC_USEC || v.getUint32(20, true) !== LINKTYPE_ETHERNET) {
      throw new Error('it exists and is not a little-endian Ethernet pcap file (move it away to capture there)');
    }
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/**
 * Why a capture could not be started at `path` ("cannot open it: ..."), or null once it
 * is ready (created with its header if it was not there): so that a NIC whose capture
 * cannot be written is refused when it is attached, not only logged when it connects.
 */
export function captureProblem(path: string): string | null {
  try {
    closeSync(openCapture(path));
    return null;
  } catch (err) {
    return `cannot open it: ${(err as Error).message}`;
  }
}

export class PcapWriter {
  readonly path: string;
  private fd: number | null = null;
  /** The file's size: its header and the records written to it. */
  private size = 0;
  private readonly limits: LogLimits;
  private readonly buf = new Uint8Array(BUFFER_SIZE);
  private readonly view = new DataView(this.buf.buffer);
  private used = 0;
  /** Records in the buffer, not yet written. */
  private pending = 0;
  private flushQueued = false;
  private readonly now: UsecClock;
  private readonly defer: (fn: () => void) => void;
  private readonly log: (line: string) => void;
  /** Why the capture stopped; null while it runs. */
  failure: string | null = null;
  readonly stats: PcapWriterStats = { records: 0, bytes: 0, dropped: 0 };
  /** The timestamp records get now, and how many have had it (0: read the clock again). */
  private stampSec = 0;
  private stampUsec = 0;
  private stampUses = 0;
  private readonly flushNow = (): void => {
    this.flushQueued = false;
    this.stampUses = 0;
    this.flush();
  };

  constructor(options: PcapWriterOptions) {
    this.path = options.path;
    this.log = options.log;
    this.now = options.now ?? wallUsecClock();
    this.defer = options.defer ?? setImmediate;
    this.limits = options.limits ?? DEFAULT_CAPTURE_LIMITS;
    try {
      this.fd = openCapture(this.path);
      this.size = fstatSync(this.fd).size;
    } catch (err) {
      this.fail(`cannot open it: ${(err as Error).message}`);
    }
  }

  /** Append one frame (copied), timestamped now. */
  write(frame: Uint8Array): void {
    if (this.fd === null) {
      this.stats.dropped++;
      return;
    }
    const capLen = Math.min(frame.length, PCAP_SNAPLEN);
    if (this.used + PCAP_RECORD_HEADER_SIZE + capLen > BUFFER_SIZE) this.flush();
    if (this.fd === null) {
      this.stats.dropped++;
      return;
    }
    // Reading the clock costs more than recording a small frame: a burst of frames in
    // one turn shares a reading, taken again every STAMP_EVERY frames and each turn.
    if (this.stampUses === 0) {
      const us = this.now();
      this.stampSec = Math.floor(us / 1e6);
      this.stampUsec = us - this.stampSec * 1e6;
    }
    if (++this.stampUses === STAMP_EVERY) this.stampUses = 0;
    writeRecordHeader(this.view, this.used, this.stampSec, this.stampUsec, capLen, frame.length);
    this.buf.set(capLen === frame.length ? frame : frame.subarray(0, capLen), this.used + PCAP_RECORD_HEADER_SIZE);
    this.used += PCAP_RECORD_HEADER_SIZE + capLen;
    this.pending++;
    this.stats.records++;
    this.stats.bytes += frame.length;
    if (this.used >= FLUSH_AT) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      this.defer(this.flushNow);
    }
  }

  /** Write out what is buffered. */
  flush(): void {
    if (this.fd === null || this.used === 0) return;
    try {
      for (let at = 0; at < this.used; ) {
        let fits = this.recordsFitting(at);
        if (fits.end === at && this.size > PCAP_GLOBAL_HEADER_SIZE) {
          this.rotate();
          fits = this.recordsFitting(at);
        }
        // A record larger than a whole file (MIN_CAPTURE_MAX_BYTES rules it out) goes alone into one.
        if (fits.end === at) fits = { end: at + this.recordLength(at), records: 1 };
        for (let done = at; done < fits.end; ) done += writeSync(this.fd!, this.buf, done, fits.end - done);
        this.size += fits.end - at;
        this.pending -= fits.records;
        at = fits.end;
      }
      this.used = 0;
    } catch (err) {
      this.fail(`cannot write it: ${(err as Error).message}`);
    }
  }

  private recordLength(at: number): number {
    return PCAP_RECORD_HEADER_SIZE + this.view.getUint32(at + 8, true);
  }

  /** The end of the buffered records from `at` on that the file still has room for, and how many they are. */
  private recordsFitting(at: number): { end: number; records: number } {
    const room = this.limits.maxBytes - this.size;
    // All of them, as nearly always: no need to walk them (`pending` counts those from `at` on).
    if (this.used - at <= room) return { end: this.used, records: this.pending };
    let end = at;
    let records = 0;
    while (end < this.used && end + this.recordLength(end) - at <= room) {
      end += this.recordLength(end);
      records++;
    }
    return { end, records };
  }

  /** NAME.pcap to NAME.pcap.1 (and so on), and a new NAME.pcap with its global header. */
  private rotate(): void {
    closeSync(this.fd!);
    this.fd = null;
    rotateLogFiles(this.path, this.limits.backups);
    this.fd = openCapture(this.path);
    this.size = PCAP_GLOBAL_HEADER_SIZE;
  }

  close(): void {
    this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private fail(why: string): void {
    // Buffered records are lost with the file: count them with what follows.
    this.stats.records -= this.pending;
    this.stats.dropped += this.pending;
    this.pending = 0;
    this.used = 0;
    this.failure = why;
    this.log(`capture ${this.path}: ${why}; frames are no longer captured there (the NIC keeps working)`);
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch {
        // Already unusable: the line above says so.
      }
    }
    this.fd = null;
  }
}
