/**
 * Exact reads from a stream (a file, a socket), keeping count of the offset so every
 * error can say where it is. Nothing past what was asked for is consumed from the
 * caller's point of view: after a migration stream's END, `rest()` gives back the
 * bytes already pulled in, for the xl migration protocol's messages that follow on the
 * same pipe.
 *
 * Two kinds of source: chunks as they come (an async iterable: a socket, a read
 * stream), or a file read at will (`fromFile`), which a large read fills directly,
 * without the copy out of chunks (a 4 MiB PAGE_DATA record is one read(2)).
 */

import type { FileHandle } from 'node:fs/promises';
import { SaveFileError } from './errors.js';

/** What a file source reads ahead on a small read (a record header), so headers are not a syscall each. */
const READ_AHEAD = 64 * 1024;
/**
 * The most a read allocates before the bytes are there: a larger one (a record that
 * claims a size the stream may not have) is read in pieces of this, so a short file
 * or a sender that stops costs what it sent, not what it claimed.
 */
export const READ_PIECE = 8 << 20;

/** Up to `want` bytes into `into` at `at`; 0 at the end. */
type Pull = (into: Buffer, at: number, want: number) => Promise<number>;
/** Up to all the bytes `into` hold, filling them in order (readv); 0 at the end. */
type PullV = (into: readonly Uint8Array[]) => Promise<number>;

/**
 * What a read is part of, when it is a piece of something larger (a record's body read
 * in parts): a truncation names the whole, from its start, as one read of it would.
 */
export interface Whole {
  offset: number;
  length: number;
}

const bytesOf = (v: Uint8Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

export class ByteSource {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private readonly iterator: AsyncIterator<Uint8Array> | null;
  private readonly pull: Pull | null;
  /** Bytes handed out so far: the offset of the next read. */
  offset = 0;

  /** `pullv`, for a pulled source that can fill several buffers in one call (a file's readv). */
  constructor(
    source: AsyncIterable<Uint8Array> | Pull,
    private readonly pullv: PullV | null = null,
  ) {
    if (typeof source === 'function') {
      this.iterator = null;
      this.pull = source;
    } else {
      this.iterator = source[Symbol.asyncIterator]();
      this.pull = null;
    }
  }

  /** A source over bytes already in memory. */
  static of(bytes: Uint8Array): ByteSource {
    return new ByteSource(
      (async function* () {
        yield bytes;
      })(),
    );
  }

  /** A file from its current position on, read as the reader asks. */
  static fromFile(fh: FileHandle): ByteSource {
    return new ByteSource(
      async (into, at, want) => (await fh.read(into, at, want, null)).bytesRead,
      async (into) => (await fh.readv(into)).bytesRead,
    );
  }

  private failed(err: unknown): never {
    const at = this.offset + this.buffered;
    throw new SaveFileError(`reading the stream at offset ${at} failed: ${(err as Error).message}`, 'stream', at);
  }

  /** Buffer at least `n` bytes if the stream has them. */
  private async fill(n: number): Promise<void> {
    while (this.buffered < n && !this.ended) {
      let chunk: Buffer | null = null;
      try {
        if (this.pull !== null) {
          const want = Math.max(n - this.buffered, READ_AHEAD);
          const b = Buffer.allocUnsafe(want);
          const got = await this.pull(b, 0, want);
          chunk = got === 0 ? null : b.subarray(0, got);
        } else {
          const next = await this.iterator!.next();
          chunk = next.done === true ? null : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
        }
      } catch (err) {
        this.failed(err);
      }
      if (chunk === null) this.ended = true;
      else if (chunk.length > 0) {
        this.chunks.push(chunk);
        this.buffered += chunk.length;
      }
    }
  }

  /**
   * Exactly `n` bytes, or a SaveFileError naming `what` (a record) and its start
   * `at`: the stream ended first. A read larger than what is buffered goes straight
   * into the returned buffer when the source is a file; one larger than READ_PIECE
   * is read in pieces.
   */
  async read(n: number, what: string, at: number, whole?: Whole): Promise<Buffer> {
    if (n === 0) return Buffer.alloc(0);
    if (n > READ_PIECE) return this.readPieces(n, what, at, whole ?? { offset: this.offset, length: n });
    if (this.pull !== null && n > this.buffered + READ_AHEAD) return this.readDirect(n, what, at, whole);
    await this.fill(n);
    if (this.buffered < n) this.truncated(n, what, at, this.offset + this.buffered, whole);
    let out: Buffer;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      this.take(out, n);
    }
    this.buffered -= n;
    this.offset += n;
    return out;
  }

  /** Move `n` buffered bytes into `out` from its start. */
  private take(out: Buffer, n: number): void {
    let got = 0;
    while (got < n) {
      const c = this.chunks[0]!;
      const count = Math.min(c.length, n - got);
      c.copy(out, got, 0, count);
      got += count;
      if (count === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(count);
    }
  }

  /** A large read, a piece at a time: each piece is allocated once the one before it has come. */
  private async readPieces(n: number, what: string, at: number, whole: Whole): Promise<Buffer> {
    const pieces: Buffer[] = [];
    for (let left = n; left > 0; left -= READ_PIECE) {
      const piece = Buffer.allocUnsafe(Math.min(left, READ_PIECE));
      await this.readInto([piece], what, at, whole);
      pieces.push(piece);
    }
    return Buffer.concat(pieces, n);
  }

  /** What is buffered, then the rest read into place. */
  private async readDirect(n: number, what: string, at: number, whole?: Whole): Promise<Buffer> {
    const out = Buffer.allocUnsafe(n);
    let got = this.buffered;
    this.take(out, got);
    this.buffered = 0;
    while (got < n) {
      let count = 0;
      try {
        count = await this.pull!(out, got, n - got);
      } catch (err) {
        this.offset += got;
        this.failed(err);
      }
      if (count === 0) {
        this.ended = true;
        // Keep what came in, so the error's offsets are those of a buffered read.
        this.chunks.push(out.subarray(0, got));
        this.buffered = got;
        this.truncated(n, what, at, this.offset + got, whole);
      }
      got += count;
    }
    this.offset += n;
    return out;
  }

  /**
   * Exactly as many bytes as `into` hold, filling them in order (a record's pages
   * into the frames they belong in), or a SaveFileError as read() gives. What is
   * buffered is copied; a file's rest is read straight into place, with one readv
   * where the source has it.
   */
  async readInto(into: readonly Uint8Array[], what: string, at: number, whole?: Whole): Promise<void> {
    const views = into.filter((v) => v.byteLength > 0).map(bytesOf);
    const n = views.reduce((sum, v) => sum + v.length, 0);
    // The next byte goes to views[next] at `part`.
    let next = 0;
    let part = 0;
    let got = 0;
    const advance = (count: number): void => {
      got += count;
      part += count;
      while (next < views.length && part >= views[next]!.length) part -= views[next++]!.length;
    };
    const rest = (): Buffer[] => (part === 0 ? views.slice(next) : [views[next]!.subarray(part), ...views.slice(next + 1)]);
    while (next < views.length) {
      if (this.buffered === 0) {
        if (this.pull === null) await this.fill(1);
        else {
          let count = 0;
          try {
            count = this.pullv !== null ? await this.pullv(rest()) : await this.pull(views[next]!, part, views[next]!.length - part);
          } catch (err) {
            this.offset += got;
            this.failed(err);
          }
          if (count === 0) this.ended = true;
          advance(count);
        }
        if (this.ended && this.buffered === 0 && next < views.length) this.truncated(n, what, at, this.offset + got, whole);
        continue;
      }
      const c = this.chunks[0]!;
      const count = Math.min(c.length, views[next]!.length - part);
      c.copy(views[next]!, part, 0, count);
      if (count === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(count);
      this.buffered -= count;
      advance(count);
    }
    this.offset += n;
  }

  private truncated(n: number, what: string, at: number, end: number, whole: Whole = { offset: this.offset, length: n }): never {
    throw new SaveFileError(`truncated: the ${what} at offset ${at} needs ${whole.length} bytes at offset ${whole.offset}, the stream ends at ${end}`, what, at);
  }

  /** True if nothing is left. */
  async atEnd(): Promise<boolean> {
    await this.fill(1);
    return this.buffered === 0;
  }

  /** The bytes pulled in but not read (they belong to whatever follows on the pipe). */
  rest(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
