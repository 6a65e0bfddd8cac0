import { joined } from '../../src/toolstack/migrate/joined.js';
import test from 'ava';
import type { FileHandle } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { fileSink, writableSink } from '../../src/toolstack/migrate/sinks.js';

test('the file sink goes on after a short writev, from the byte where it stopped', async (t) => {
  const written: number[] = [];
  // A file that takes at most 5 bytes a call, as a writev interrupted by a signal would.
  const fh = {
    writev: async (bufs: Uint8Array[]) => {
      const all = Buffer.concat(bufs).subarray(0, 5);
      written.push(...all);
      return { bytesWritten: all.length, buffers: bufs };
    },
  } as unknown as FileHandle;
  await fileSink(fh)([Uint8Array.of(1, 2, 3), Uint8Array.of(4, 5, 6, 7, 8, 9), Uint8Array.of(10, 11, 12)]);
  t.deepEqual(written, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
});

test('the writable sink waits for drain when the stream is full, and fails when it closes instead', async (t) => {
  const pipe = new PassThrough({ highWaterMark: 4 });
  const sink = writableSink(pipe);
  let done = false;
  const write = Promise.resolve(sink([Buffer.from('0123456789')])).then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  t.false(done, 'held back while the buffer is full');
  t.is(pipe.read()?.toString(), '0123456789');
  await write;
  t.true(done);
  const closing = new PassThrough({ highWaterMark: 1 });
  const held = Promise.resolve(writableSink(closing)([Buffer.from('abc')]));
  closing.destroy();
  await t.throwsAsync(held, { message: /closed while the save was being written/ });
});

test('neighbouring pieces in one buffer go as one view, in order; others stay as they are', (t) => {
  const [a, b] = [new ArrayBuffer(65536), new ArrayBuffer(65536)];
  const page = (buf: ArrayBuffer, i: number): Uint8Array => new Uint8Array(buf, i * 4096, 4096);
  const head = new Uint8Array(16);
  const out = joined([head, page(a, 0), page(a, 1), page(a, 2), page(a, 5), page(a, 3), page(b, 4), page(b, 5)]);
  t.deepEqual(
    out.map((v) => [v.buffer === a ? 'a' : v.buffer === b ? 'b' : 'head', v.byteOffset, v.byteLength]),
    [
      ['head', 0, 16],
      ['a', 0, 3 * 4096],
      ['a', 5 * 4096, 4096],
      ['a', 3 * 4096, 4096],
      ['b', 4 * 4096, 2 * 4096],
    ],
  );
  t.is(out[0], head, 'a piece alone is itself');
});
