/**
 * The engine under arbitrary requests: random types (0..30), payloads glued together
 * from path fragments, NULs, permission strings and numbers, random transaction ids,
 * from dom0 sockets, a read-only socket and two unprivileged domains. Whatever comes
 * in, the engine must answer each request exactly once (with its req_id and tx_id),
 * answer only with an XS error name when it refuses, never send more than
 * XENSTORE_PAYLOAD_MAX, never throw anything but an XsError internally, and keep its
 * node ownership counts and watch index consistent.
 */
import assert from 'node:assert/strict';
import test from 'ava';
import fc from 'fast-check';
import { encodeMessage, PAYLOAD_MAX, XS_REPLY_ERRNO_NAMES, XsFrameReader, XsType } from '../../src/protocol/xs-wire.js';
import type { ConnectionKind, XsConnection } from '../../src/xenstore/connection.js';
import type { XenStored } from '../../src/xenstore/xenstored.js';
import { newEngine } from '../helpers/engine.js';

const SEED = 0xc0ffee;

const FRAGMENTS = [
  '/', '/', 'a', 'b', 'c', '/a', '/a/b', '/a/b/c', '/local/domain/5', '/local/domain/6', '/local/domain/0', 'data', 'x',
  '@introduceDomain', '@releaseDomain', '@releaseDomain/5', '@', '\0', '\0', '\0', '\0',
  'n0', 'r5', 'b6', 'w5', 'n5', 'b0', 'T', 'F', '0', '1', '5', '6', '7', '31001', '4294967296', '-1',
  'quota', 'set', 'nodes', 'node-size', 'watches', 'check', 'help', 'memreport', 'print',
  '.', ' ', '//', '\xff', 'tok', 'x'.repeat(1030), 'y'.repeat(2100),
];

interface FuzzConn {
  domid: number;
  kind: ConnectionKind;
}

const CONNS: FuzzConn[] = [
  { domid: 0, kind: 'socket' },
  { domid: 0, kind: 'socket' },
  { domid: 5, kind: 'domain' },
  { domid: 6, kind: 'domain' },
  { domid: 0, kind: 'socket-ro' },
];

const KNOWN_TYPES = Object.values(XsType).filter((t) => t !== XsType.WATCH_EVENT && t !== XsType.ERROR);

const pathArb = fc.constantFrom(
  '/a', '/a/b', '/a/b/c', '/a/d', '/', '/local/domain/5/data/x', '/local/domain/5/data', 'data/y', 'data', '/local/domain/6/z',
  '/local/domain/6', '@introduceDomain', '@releaseDomain', '/tool/xenstored', `/a/${'l'.repeat(1020)}`, '/a/bad path',
);
const valueArb = fc.constantFrom('', 'v', 'x\0y', 'z'.repeat(2049));
const permsArb = fc.array(fc.constantFrom('n0', 'r5', 'b6', 'w5', 'n5', 'b0', 'r6', 'n6', 'x1'), { minLength: 1, maxLength: 6 }).map((l) => `${l.join('\0')}\0`);
const domidArb = fc.constantFrom('0', '5', '6', '7', '31001', 'x');
const fragmentsArb = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 7 }).map((parts) => parts.join(''));

/** A payload shaped like a real request of this type (often valid), or glued fragments. */
function payloadFor(type: number): fc.Arbitrary<string> {
  let shaped: fc.Arbitrary<string>;
  switch (type) {
    case XsType.READ:
    case XsType.DIRECTORY:
    case XsType.GET_PERMS:
    case XsType.MKDIR:
    case XsType.RM:
      shaped = pathArb.map((p) => `${p}\0`);
      break;
    case XsType.WRITE:
      shaped = fc.tuple(pathArb, valueArb).map(([p, v]) => `${p}\0${v}`);
      break;
    case XsType.SET_PERMS:
      shaped = fc.tuple(pathArb, permsArb).map(([p, l]) => `${p}\0${l}`);
      break;
    case XsType.WATCH:
      shaped = fc.tuple(pathArb, fc.constantFrom('t1', 't2', ''), fc.constantFrom('', '0\0', '1\0', '2\0')).map(([p, t, d]) => `${p}\0${t}\0${d}`);
      break;
    case XsType.UNWATCH:
      shaped = fc.tuple(pathArb, fc.constantFrom('t1', 't2', '')).map(([p, t]) => `${p}\0${t}\0`);
      break;
    case XsType.TRANSACTION_START:
      shaped = fc.constant('\0');
      break;
    case XsType.TRANSACTION_END:
      shaped = fc.constantFrom('T\0', 'F\0', 'T\0', 'T');
      break;
    case XsType.INTRODUCE:
      shaped = fc.tuple(domidArb, fc.constantFrom('1', '2', '-1'), fc.constantFrom('1', '3')).map(([d, g, e]) => `${d}\0${g}\0${e}\0`);
      break;
    case XsType.SET_TARGET:
    case XsType.SET_FEATURE:
      shaped = fc.tuple(domidArb, fc.constantFrom('0', '5', '1', '7')).map(([a, b]) => `${a}\0${b}\0`);
      break;
    case XsType.DIRECTORY_PART:
      shaped = fc.tuple(pathArb, fc.constantFrom('0', '2', '99999')).map(([p, o]) => `${p}\0${o}\0`);
      break;
    case XsType.CONTROL:
      shaped = fc.constantFrom('check\0', 'help\0', 'quota\0', 'quota\x005\0', 'watches\0', 'memreport\0', 'quota\0set\0nodes\x0020\0', 'print\0x\0', 'log\0on\0');
      break;
    case XsType.GET_QUOTA:
      shaped = fc.constantFrom('\0', 'nodes\0', '5\0nodes\0', 'watches\0');
      break;
    case XsType.SET_QUOTA:
      shaped = fc.constantFrom('5\0nodes\x003\0', 'watches\x001\0', '5\0permissions\x002\0', 'transactions\x001\0', '6\0nodes\x000\0');
      break;
    default:
      shaped = domidArb.map((d) => `${d}\0`);
  }
  return fc.oneof({ arbitrary: shaped, weight: 5 }, { arbitrary: fragmentsArb, weight: 1 });
}

const requestArb = fc
  .oneof({ arbitrary: fc.constantFrom(...KNOWN_TYPES), weight: 8 }, { arbitrary: fc.integer({ min: 0, max: 30 }), weight: 1 })
  .chain((type) =>
    fc.record({
      conn: fc.nat(CONNS.length - 1),
      type: fc.constant(type),
      payload: payloadFor(type),
      tx: fc.oneof({ arbitrary: fc.constant(0), weight: 8 }, { arbitrary: fc.integer({ min: 1, max: 3 }), weight: 4 }, { arbitrary: fc.integer({ min: 0, max: 0xffffffff }), weight: 1 }),
      reqId: fc.integer({ min: 0, max: 0xffffffff }),
    }),
  );

interface Sink {
  conn: XsConnection;
  replies: Array<{ type: number; reqId: number; txId: number; payload: Buffer }>;
  closed: boolean;
}

function setup(): { xs: XenStored; sinks: Sink[] } {
  const xs = newEngine();
  const sinks = CONNS.map((spec) => {
    const sink: Sink = { conn: undefined as unknown as XsConnection, replies: [], closed: false };
    sink.conn = xs.connect(spec.domid, spec.kind, {
      deliver: (frame) => {
        const msgs = new XsFrameReader(1 << 20).push(frame);
        assert.equal(msgs.length, 1, 'one frame per delivery');
        const m = msgs[0]!;
        assert.ok(m.payload.length <= PAYLOAD_MAX, `a ${m.payload.length}-byte message`);
        if (m.type === XsType.WATCH_EVENT) {
          assert.equal(m.reqId, 0);
          assert.equal(m.txId, 0);
          const parts = m.payload.toString('latin1').split('\0');
          assert.equal(parts.length, 3, 'event is <path>|<token>|');
          assert.equal(parts[2], '');
          assert.ok(parts[0]!.length > 0, 'event path is not empty');
        } else {
          sink.replies.push({ type: m.type, reqId: m.reqId, txId: m.txId, payload: Buffer.from(m.payload) });
        }
      },
      close: () => {
        sink.closed = true;
      },
    });
    return sink;
  });
  // Give the domains something they may touch.
  const root = sinks[0]!.conn;
  let id = 1;
  const ask = (type: number, payload: string) => xs.handle(root, { type, reqId: id++, txId: 0, payload: Buffer.from(payload, 'latin1') });
  ask(XsType.MKDIR, '/local/domain/5/data\0');
  ask(XsType.SET_PERMS, '/local/domain/5\0n5\0');
  ask(XsType.SET_PERMS, '/local/domain/5/data\0n5\0');
  ask(XsType.MKDIR, '/local/domain/6\0');
  ask(XsType.SET_PERMS, '/local/domain/6\0n6\0r5\0');
  ask(XsType.WRITE, '/a/b\0v');
  ask(XsType.SET_PERMS, '/a\0b0\0');
  sinks[0]!.replies.length = 0;
  return { xs, sinks };
}

test('engine fuzz: one well-formed reply per request, invariants hold', (t) => {
  let requests = 0;
  fc.assert(
    fc.property(fc.array(requestArb, { minLength: 1, maxLength: 80, size: 'large' }), (reqs) => {
      const { xs, sinks } = setup();
      for (const r of reqs) {
        const sink = sinks[r.conn]!;
        if (sink.closed) continue;
        requests++;
        const before = sink.replies.length;
        xs.handle(sink.conn, { type: r.type, reqId: r.reqId, txId: r.tx, payload: Buffer.from(r.payload, 'latin1') });
        if (sink.closed) continue;
        assert.equal(sink.replies.length, before + 1, `exactly one reply to type ${r.type}`);
        const reply = sink.replies[before]!;
        assert.equal(reply.reqId, r.reqId);
        const ignoresTx = r.type === XsType.WATCH || r.type === XsType.UNWATCH;
        assert.equal(reply.txId, ignoresTx ? 0 : r.tx);
        if (reply.type === XsType.ERROR) {
          const name = reply.payload.toString('latin1');
          assert.ok(name.endsWith('\0') && (XS_REPLY_ERRNO_NAMES as readonly string[]).includes(name.slice(0, -1)), `error payload ${name}`);
        } else {
          assert.equal(reply.type, r.type, 'a success answers with the request type');
        }
        assert.ok(xs.db.verifyCounts(), 'node ownership counts');
      }
      // The read-only socket never changed anything it may not.
      assert.ok(sinks[4]!.replies.every((rep) => rep.type !== XsType.WRITE && rep.type !== XsType.RM && rep.type !== XsType.SET_PERMS));
      // Tear down: every watch and transaction goes with its connection.
      for (const s of sinks) xs.disconnect(s.conn);
      assert.equal(xs.watches.size, 0, 'watch index empty after all connections left');
      assert.equal(xs.connections.size, 0);
    }),
    { seed: SEED, numRuns: 600 },
  );
  t.log(`${requests} requests`);
  t.pass();
});

test('engine fuzz: raw frames through a frame reader, split anywhere', (t) => {
  // The same requests, framed, concatenated and cut at random points, as a socket
  // transport would feed them. Replies must come back in request order.
  fc.assert(
    fc.property(fc.array(requestArb, { minLength: 1, maxLength: 30 }), fc.array(fc.nat(), { maxLength: 20 }), (reqs, cuts) => {
      const { xs, sinks } = setup();
      const sink = sinks[2]!;
      const stream = Buffer.concat(reqs.map((r) => encodeMessage(r.type, r.reqId, r.tx, r.payload)));
      const reader = new XsFrameReader();
      const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
      let prev = 0;
      let handled = 0;
      for (const p of [...points, stream.length]) {
        for (const m of reader.push(Buffer.from(stream.subarray(prev, p)))) {
          if (sink.closed) break;
          xs.handle(sink.conn, m);
          handled++;
        }
        prev = p;
      }
      // A transport stops reading at an oversized header (and closes the connection).
      const firstTooBig = reqs.findIndex((r) => Buffer.byteLength(r.payload, 'latin1') > PAYLOAD_MAX);
      const sent = firstTooBig < 0 ? reqs : reqs.slice(0, firstTooBig);
      assert.equal(reader.oversized !== null, firstTooBig >= 0);
      if (!sink.closed) {
        assert.equal(handled, sent.length);
        assert.deepEqual(sink.replies.map((r) => r.reqId), sent.map((r) => r.reqId));
      }
      assert.ok(xs.db.verifyCounts());
    }),
    { seed: SEED, numRuns: 150 },
  );
  t.pass();
});
