import { closeSync, fdatasyncSync, fsyncSync, openSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import {
  encodedSize,
  encodeEntries,
  encodeHeader,
  FRAME_HEADER_SIZE,
  HEADER_SIZE,
  sealFrame,
  type JournalEntry,
  type JournalPosition,
} from './journal-codec.js';

/**
 * How far a flush goes: 'write' hands the frame to the kernel (it survives a crash
 * of the daemon, not of the machine); 'fsync' also waits for the disk.
 */
export type Durability = 'write' | 'fsync';

/**
 * How journal bytes reach the file: write(2) (`writeSync`). A seam for tests, which
 * pass one that fails as a full disk would (ENOSPC) without filling one.
 */
export type JournalWrite = (fd: number, buffer: Uint8Array, offset: number, length: number) => number;

/** Journal bytes handed to the SQLite writer: whole frames ending at `end`. */
export interface JournalBatch {
  /** Owned by the receiver from now on: the journal never touches it again. */
  readonly bytes: ArrayBuffer;
  readonly length: number;
  readonly end: JournalPosition;
}

const INITIAL_CAPACITY = 64 * 1024;
const NAME = /^journal\.([0-9]+)$/;

export function journalPath(dir: string, seq: number): string {
  return join(dir, `journal.${seq}`);
}

/** Sequence numbers of the journal files in `dir`, ascending. */
export function listJournals(dir: string): number[] {
  const seqs: number[] = [];
  for (const name of readdirSync(dir)) {
    const m = NAME.exec(name);
    if (m) seqs.push(Number(m[1]));
  }
  return seqs.sort((a, b) => a - b);
}

/**
 * One journal file being appended to, with the buffer its frames are encoded in.
 *
 * `append` only encodes (no syscall); `flush` seals the frame the appends since the
 * last flush built and writes it with one write(2). The buffer keeps every written
 * frame until `handOff` gives it away whole (the ArrayBuffer is transferred to the
 * SQLite worker), so the bytes go to the kernel and to SQLite without being copied.
 */
export class Journal {
  /** Encoded frames; its ArrayBuffer is ours alone (never from Buffer's shared pool). */
  private buf = Buffer.allocUnsafeSlow(INITIAL_CAPACITY);
  /** End of the encoded bytes in `buf`. */
  private length = 0;
  /** End of the bytes of `buf` already in the file. */
  private written = 0;
  /** Start of the frame the current appends go to, or -1 when none is open. */
  private frameStart = -1;
  /** File offset of buf[0]. */
  private base = HEADER_SIZE;

  private constructor(
    private readonly fd: number,
    readonly seq: number,
    private readonly durability: Durability,
    /** The database this journal continues (see journal-codec.ts). */
    readonly storeId: string,
    private readonly write: JournalWrite,
  ) {}

  /**
   * Start journal.<seq>; `prevEnd` is the final size of the previous journal file
   * (see journal-codec.ts). The file must not exist: a sequence number is used once.
   */
  static create(
    dir: string,
    seq: number,
    prevEnd: number,
    durability: Durability,
    storeId: string,
    write: JournalWrite = writeSync,
  ): Journal {
    const fd = openSync(journalPath(dir, seq), 'ax', 0o600);
    try {
      const header = encodeHeader({ seq, prevEnd, storeId });
      for (let at = 0; at < HEADER_SIZE; ) at += write(fd, header, at, HEADER_SIZE - at);
      if (durability === 'fsync') {
        fdatasyncSync(fd);
        // The new name must reach the disk too, or the file may vanish in a power cut.
        syncDirectory(dir);
      }
    } catch (err) {
      closeSync(fd);
      // A file without its whole header would make every later attempt fail (EEXIST,
      // as a sequence number is used once): a rotation on a full disk must be retryable.
      unlinkSync(journalPath(dir, seq));
      throw err;
    }
    return new Journal(fd, seq, durability, storeId, write);
  }

  /** Bytes in the file, header included. */
  get size(): number {
    return this.base + this.written;
  }

  /** Written bytes not handed off yet. */
  get unposted(): number {
    return this.written;
  }

  append(entries: readonly JournalEntry[]): void {
    if (entries.length === 0) return;
    const size = encodedSize(entries);
    if (this.frameStart < 0) {
      this.reserve(FRAME_HEADER_SIZE + size);
      this.frameStart = this.length;
      this.length += FRAME_HEADER_SIZE;
    } else {
      this.reserve(size);
    }
    this.length = encodeEntries(this.buf, this.length, entries);
  }

  /**
   * Seal the open frame and write everything not yet in the file; returns the number
   * of bytes written. When it returns, the frame survives a crash of this process
   * (and, with 'fsync', of the machine): the caller may acknowledge what it holds.
   * If write(2) fails (ENOSPC, EIO) the error propagates and the unwritten bytes stay
   * queued for the next flush, so nothing is acknowledged that was not written.
   */
  flush(): number {
    if (this.frameStart >= 0) {
      sealFrame(this.buf, this.frameStart, this.length);
      this.frameStart = -1;
    }
    const count = this.length - this.written;
    if (count === 0) return 0;
    // Regular files rarely write short, but a short write followed by a failure must
    // leave `written` exact, or the retry would duplicate bytes in the file.
    while (this.written < this.length) {
      this.written += this.write(this.fd, this.buf, this.written, this.length - this.written);
    }
    if (this.durability === 'fsync') fdatasyncSync(this.fd);
    return count;
  }

  /** Flush, then give away the written frames, or null if there are none. */
  handOff(): JournalBatch | null {
    this.flush();
    if (this.written === 0) return null;
    const batch = { bytes: this.buf.buffer, length: this.written, end: { seq: this.seq, offset: this.size } };
    this.base += this.written;
    this.buf = Buffer.allocUnsafeSlow(INITIAL_CAPACITY);
    this.length = this.written = 0;
    return batch;
  }

  close(): void {
    closeSync(this.fd);
  }

  /** Make room for `extra` more bytes (a rare copy: the buffer holds milliseconds of writes). */
  private reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buf.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(needed, this.buf.length * 2));
    this.buf.copy(grown, 0, 0, this.length);
    this.buf = grown;
  }
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
