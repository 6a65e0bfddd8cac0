/**
 * No XenStore connection's reader stops for good. Whatever sizes of request the
 * toolstack's in-process connection is given, each gets exactly one reply, in order
 * (E2BIG for the oversized ones); whatever bytes a client receives, every request it
 * made either is still answerable or has failed: none is left waiting on a reader
 * that stopped.
 */
import assert from 'node:assert/strict';
import test from 'ava';
import fc from 'fast-check';
import { XsClient, type XsTransport } from '../../src/protocol/xs-client.js';
import { engineTransport } from '../../src/kernel/engine-transport.js';
import { encodeMessage, PAYLOAD_MAX, XsFrameReader, XsType } from '../../src/protocol/xs-wire.js';
import { newEngine } from '../helpers/engine.js';

const SEED = 0x3d9e;

const sizeArb = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 64 }), weight: 4 },
  { arbitrary: fc.integer({ min: PAYLOAD_MAX - 4, max: PAYLOAD_MAX + 4 }), weight: 2 },
  { arbitrary: fc.integer({ min: PAYLOAD_MAX + 1, max: 3 * PAYLOAD_MAX }), weight: 1 },
);

test('in-process connection: every request gets one reply, in order, oversized ones E2BIG', (t) => {
  const xs = newEngine();
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom(XsType.READ, XsType.WRITE, XsType.DIRECTORY), sizeArb), { minLength: 1, maxLength: 20 }), (requests) => {
      const transport = engineTransport(xs);
      const reader = new XsFrameReader();
      const replies: Array<{ reqId: number; error: string | null }> = [];
      transport.attach(
        (chunk) => {
          for (const m of reader.push(chunk)) replies.push({ reqId: m.reqId, error: m.type === XsType.ERROR ? m.payload.toString('latin1') : null });
        },
        () => {},
      );
      requests.forEach(([type, size], i) => {
        // A path under /tool, padded to the size asked for (NULs and all).
        const payload = Buffer.alloc(size, 0x61);
        Buffer.from(`/tool/f${i}/`).copy(payload);
        transport.write(encodeMessage(type, i + 1, 0, payload));
      });
      transport.close();
      assert.equal(reader.oversized, null);
      assert.deepEqual(
        replies.map((r) => r.reqId),
        requests.map((_, i) => i + 1),
      );
      requests.forEach(([, size], i) => {
        if (size > PAYLOAD_MAX) assert.equal(replies[i]!.error, 'E2BIG\0');
      });
    }),
    { seed: SEED, numRuns: 200 },
  );
  t.pass();
});

test('client: whatever bytes arrive, no request waits on a reader that stopped', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 5 }),
      fc.array(
        fc.oneof(
          fc.uint8Array({ maxLength: 40 }),
          // Whole frames, some of them announcing more than a payload may hold.
          fc.record({ reqId: fc.integer({ min: 0, max: 6 }), len: sizeArb }).map(({ reqId, len }) => {
            const h = new Uint8Array(encodeMessage(XsType.READ, reqId, 0, Buffer.alloc(Math.min(len, 64))));
            new DataView(h.buffer).setUint32(12, len, true);
            return h;
          }),
        ),
        { maxLength: 12 },
      ),
      async (inFlight, chunks) => {
        let deliver: (chunk: Buffer) => void = () => {};
        const client = new XsClient({ write: () => {}, attach: (onData) => (deliver = onData), close: () => {} } satisfies XsTransport);
        const settled: boolean[] = [];
        const requests = Array.from({ length: inFlight }, (_, i) => {
          settled[i] = false;
          return client.read(`/r${i}`).then(
            () => (settled[i] = true),
            () => (settled[i] = true),
          );
        });
        let stopped = false;
        const watch = new XsFrameReader();
        for (const c of chunks) {
          deliver(Buffer.from(c));
          if (!stopped) {
            watch.push(Buffer.from(c));
            stopped = watch.oversized !== null;
          }
        }
        await new Promise((r) => setImmediate(r));
        // Once the client's reader had to stop, every request has failed, and so does a new one.
        if (stopped) {
          assert.ok(settled.every(Boolean));
          await assert.rejects(client.read('/later'));
        }
        client.close();
        await Promise.all(requests);
      },
    ),
    { seed: SEED, numRuns: 300 },
  );
  t.pass();
});
