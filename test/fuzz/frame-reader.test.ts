/**
 * XsFrameReader under arbitrary input: however a byte stream is cut into chunks, the
 * reader yields the same messages as when it gets the stream in one push; it never
 * throws; and a header announcing more than XENSTORE_PAYLOAD_MAX stops it for good.
 */
import assert from 'node:assert/strict';
import test from 'ava';
import fc from 'fast-check';
import { encodeMessage, HEADER_SIZE, PAYLOAD_MAX, XsFrameReader, type XsMessage } from '../../src/protocol/xs-wire.js';

const SEED = 0x5eed;

interface Plain {
  type: number;
  reqId: number;
  txId: number;
  payload: string;
}

/** Copy a message out of the reader's buffers (payloads are views, valid until the next push). */
function plain(m: XsMessage): Plain {
  return { type: m.type, reqId: m.reqId, txId: m.txId, payload: m.payload.toString('hex') };
}

/** Feed `bytes` cut at `cuts` (offsets, any order, duplicates allowed). */
function feed(reader: XsFrameReader, bytes: Buffer, cuts: number[]): Plain[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Plain[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    // Each chunk is a fresh copy that is then scribbled over, as a socket's buffer would be.
    const chunk = Buffer.from(bytes.subarray(prev, p));
    const got = reader.push(chunk);
    out.push(...got.map(plain));
    chunk.fill(0xee);
    prev = p;
  }
  return out;
}

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const messageArb = fc.record({
  type: u32,
  reqId: u32,
  txId: u32,
  payload: fc.oneof(
    { arbitrary: fc.uint8Array({ maxLength: 64 }), weight: 8 },
    { arbitrary: fc.uint8Array({ minLength: PAYLOAD_MAX - 8, maxLength: PAYLOAD_MAX }), weight: 1 },
  ),
});
const cutsArb = fc.array(fc.nat(), { maxLength: 40 });

test('frame reader: any split of a valid stream gives the messages of one push', (t) => {
  fc.assert(
    fc.property(fc.array(messageArb, { maxLength: 12 }), cutsArb, (msgs, cuts) => {
      const stream = Buffer.concat(msgs.map((m) => encodeMessage(m.type, m.reqId, m.txId, Buffer.from(m.payload))));
      const want = msgs.map((m) => ({ type: m.type, reqId: m.reqId, txId: m.txId, payload: Buffer.from(m.payload).toString('hex') }));
      const whole = new XsFrameReader();
      assert.deepEqual(feed(whole, stream, []), want);
      const split = new XsFrameReader();
      assert.deepEqual(feed(split, stream, cuts), want);
      assert.equal(split.bufferedBytes, 0);
      assert.equal(split.oversized, null);
    }),
    { seed: SEED, numRuns: 300 },
  );
  t.pass();
});

test('frame reader: arbitrary bytes never throw and split the same way', (t) => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        // Mostly-valid streams with garbage spliced in: headers with small lengths are likely.
        fc.array(fc.oneof(fc.uint8Array({ maxLength: 20 }), fc.constant(new Uint8Array([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0]))), { maxLength: 20 }).map(
          (parts) => new Uint8Array(Buffer.concat(parts.map((p) => Buffer.from(p)))),
        ),
      ),
      cutsArb,
      (bytes, cuts) => {
        const stream = Buffer.from(bytes);
        const whole = new XsFrameReader();
        const split = new XsFrameReader();
        const a = feed(whole, stream, []);
        const b = feed(split, stream, cuts);
        assert.deepEqual(b, a);
        assert.deepEqual(split.oversized, whole.oversized);
        if (whole.oversized === null) assert.equal(split.bufferedBytes, whole.bufferedBytes);
        // What was consumed is exactly the messages' frames, in order.
        const consumed = a.reduce((n, m) => n + HEADER_SIZE + m.payload.length / 2, 0);
        if (whole.oversized === null) assert.equal(consumed + whole.bufferedBytes, stream.length);
      },
    ),
    { seed: SEED, numRuns: 500 },
  );
  t.pass();
});

test('frame reader: an oversize header stops the reader for good', (t) => {
  fc.assert(
    fc.property(
      fc.array(messageArb, { maxLength: 4 }),
      fc.record({ type: u32, reqId: u32, txId: u32, len: fc.integer({ min: PAYLOAD_MAX + 1, max: 0xffffffff }) }),
      fc.array(messageArb, { maxLength: 4 }),
      cutsArb,
      (before, bad, after, cuts) => {
        const header = Buffer.alloc(HEADER_SIZE);
        header.writeUInt32LE(bad.type, 0);
        header.writeUInt32LE(bad.reqId, 4);
        header.writeUInt32LE(bad.txId, 8);
        header.writeUInt32LE(bad.len, 12);
        const frames = (ms: typeof before) => ms.map((m) => encodeMessage(m.type, m.reqId, m.txId, Buffer.from(m.payload)));
        const stream = Buffer.concat([...frames(before), header, Buffer.alloc(Math.min(bad.len, 64), 0x41), ...frames(after)]);
        const reader = new XsFrameReader();
        const got = feed(reader, stream, cuts);
        assert.equal(got.length, before.length, 'only the messages before the bad header');
        assert.deepEqual(reader.oversized, { ...bad });
        // Nothing more comes out, even a perfectly valid message.
        assert.deepEqual(reader.push(encodeMessage(2, 1, 0, 'x\0')), []);
      },
    ),
    { seed: SEED, numRuns: 300 },
  );
  t.pass();
});

test('frame reader: the length limit is the constructor\'s', (t) => {
  const small = new XsFrameReader(8);
  t.is(small.push(encodeMessage(2, 1, 0, '12345678')).length, 1);
  t.deepEqual(small.push(encodeMessage(2, 2, 0, '123456789')), []);
  t.is(small.oversized?.len, 9);
  const exact = new XsFrameReader();
  t.is(exact.push(encodeMessage(2, 1, 0, Buffer.alloc(PAYLOAD_MAX))).length, 1);
  t.is(exact.oversized, null);
});

test('frame reader: a zero-length payload is a whole message at once', (t) => {
  const reader = new XsFrameReader();
  const frame = encodeMessage(21, 7, 0, '');
  t.deepEqual(reader.push(frame.subarray(0, 15)), []);
  const got = reader.push(frame.subarray(15));
  t.is(got.length, 1);
  t.is(got[0]!.payload.length, 0);
  t.is(reader.bufferedBytes, 0);
});
