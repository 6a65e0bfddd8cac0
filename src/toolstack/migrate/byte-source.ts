/**
 * Exact reads from a stream of chunks (a file's read stream, a socket), keeping count
 * of the offset so every error can say where it is. Nothing past what was asked for is
 * consumed from the caller's point of view: after a migration stream's END, `rest()`
 * gives back the bytes already pulled in, for the xl migration protocol's messages
 * that follow on the same pipe.
 */

import { SaveFileError } from './errors.js';

export class ByteSource {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private readonly iterator: AsyncIterator<Uint8Array>;
  /** Bytes handed out so far: the offset of the next read. */
  offset = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** A source over bytes already in memory. */
  static of(bytes: Uint8Array): ByteSource {
    return new ByteSource(
      (async function* () {
        yield bytes;
      })(),
    );
  }

  private async fill(n: number): Promise<void> {
    while (this.buffered < n && !this.ended) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await this.iterator.next();
      } catch (err) {
        throw new SaveFileError(`reading the stream at offset ${this.offset + this.buffered} failed: ${(err as Error).message}`, 'stream', this.offset + this.buffered);
      }
      if (next.done === true) this.ended = true;
      else if (next.value.length > 0) {
        const b = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
        this.chunks.push(b);
        this.buffered += b.length;
      }
    }
  }

  /**
   * Exactly `n` bytes, or a SaveFileError naming `what` (a record) and its start
   * `at`: the stream ended first.
   */
  async read(n: number, what: string, at: number): Promise<Buffer> {
    if (n === 0) return Buffer.alloc(0);
    await this.fill(n);
    if (this.buffered < n) {
      throw new SaveFileError(`truncated: the ${what} at offset ${at} needs ${n} bytes at offset ${this.offset}, the stream ends at ${this.offset + this.buffered}`, what, at);
    }
    let out: Buffer;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let got = 0;
      while (got < n) {
        const c = this.chunks[0]!;
        const take = Math.min(c.length, n - got);
        c.copy(out, got, 0, take);
        got += take;
        if (take === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(take);
      }
    }
    this.buffered -= n;
    this.offset += n;
    return out;
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
