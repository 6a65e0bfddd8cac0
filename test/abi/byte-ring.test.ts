import test from 'ava';
import fc from 'fast-check';
import {
  ConsoleRingBackend,
  ConsoleRingGuest,
  RingProtocolError,
  XENSTORE_CONNECTION,
  XENSTORE_ERROR,
  XENSTORE_SERVER_FEATURE,
  XenstoreRingGuest,
  XenstoreRingServer,
} from '../../src/abi/index.js';

// Raw offsets from layouts.md §2 (xenstore) and §8 (console), written out on purpose.

/** A one-direction test harness: raw offsets, writer and reader of that direction. */
interface Direction {
  name: string;
  size: number;
  dataOffset: number;
  consOffset: number;
  prodOffset: number;
  make(mem: Uint8Array): { write(b: Uint8Array): number; read(max?: number): Uint8Array; space(): number; available(): number };
}

const directions: Direction[] = [
  {
    name: 'xenstore req (guest -> server)',
    size: 1024,
    dataOffset: 0,
    consOffset: 2048,
    prodOffset: 2052,
    make(mem) {
      const g = new XenstoreRingGuest(mem);
      const s = new XenstoreRingServer(mem);
      return { write: (b) => g.write(b), read: (m) => s.read(m), space: () => g.requestSpace(), available: () => s.requestAvailable() };
    },
  },
  {
    name: 'xenstore rsp (server -> guest)',
    size: 1024,
    dataOffset: 1024,
    consOffset: 2056,
    prodOffset: 2060,
    make(mem) {
      const g = new XenstoreRingGuest(mem);
      const s = new XenstoreRingServer(mem);
      return { write: (b) => s.write(b), read: (m) => g.read(m), space: () => s.responseSpace(), available: () => g.responseAvailable() };
    },
  },
  {
    name: 'console in (backend -> guest)',
    size: 1024,
    dataOffset: 0,
    consOffset: 3072,
    prodOffset: 3076,
    make(mem) {
      const g = new ConsoleRingGuest(mem);
      const b = new ConsoleRingBackend(mem);
      return { write: (x) => b.write(x), read: (m) => g.read(m), space: () => b.inputSpace(), available: () => g.inputAvailable() };
    },
  },
  {
    name: 'console out (guest -> backend)',
    size: 2048,
    dataOffset: 1024,
    consOffset: 3080,
    prodOffset: 3084,
    make(mem) {
      const g = new ConsoleRingGuest(mem);
      const b = new ConsoleRingBackend(mem);
      return { write: (x) => g.write(x), read: (m) => b.read(m), space: () => g.outputSpace(), available: () => b.outputAvailable() };
    },
  },
];

function bytes(n: number, seed = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed * 7 + 1) & 0xff);
}

function setIndices(mem: Uint8Array, d: Direction, cons: number, prod: number): void {
  const dv = new DataView(mem.buffer, mem.byteOffset);
  dv.setUint32(d.consOffset, cons >>> 0, true);
  dv.setUint32(d.prodOffset, prod >>> 0, true);
}

function indices(mem: Uint8Array, d: Direction): { cons: number; prod: number } {
  const dv = new DataView(mem.buffer, mem.byteOffset);
  return { cons: dv.getUint32(d.consOffset, true), prod: dv.getUint32(d.prodOffset, true) };
}

for (const d of directions) {
  test(`${d.name}: bytes land at data[prod & ${d.size - 1}] and only prod moves on write`, (t) => {
    const mem = new Uint8Array(4096);
    const ring = d.make(mem);
    setIndices(mem, d, 5, 5);
    t.is(ring.write(Uint8Array.of(0xaa, 0xbb)), 2);
    t.is(mem[d.dataOffset + 5], 0xaa);
    t.is(mem[d.dataOffset + 6], 0xbb);
    t.deepEqual(indices(mem, d), { cons: 5, prod: 7 });
    t.deepEqual([...ring.read()], [0xaa, 0xbb]);
    t.deepEqual(indices(mem, d), { cons: 7, prod: 7 });
  });

  test(`${d.name}: a message wraps correctly from every start position`, (t) => {
    const mem = new Uint8Array(4096);
    const ring = d.make(mem);
    const msg = bytes(d.size - 1);
    for (let start = 0; start < d.size; start++) {
      setIndices(mem, d, start, start);
      if (ring.write(msg) !== msg.length) return t.fail(`write at ${start}`);
      const got = ring.read();
      if (got.length !== msg.length || !got.every((b, i) => b === msg[i])) return t.fail(`bytes differ at start ${start}`);
      const { cons, prod } = indices(mem, d);
      if (cons !== start + msg.length || prod !== cons) return t.fail(`indices at start ${start}`);
    }
    t.pass();
  });

  test(`${d.name}: a full ring takes nothing more until the reader consumes`, (t) => {
    const mem = new Uint8Array(4096);
    const ring = d.make(mem);
    setIndices(mem, d, 100, 100);
    t.is(ring.write(bytes(d.size + 10)), d.size, 'only size bytes fit');
    t.is(ring.space(), 0);
    t.is(ring.available(), d.size);
    t.is(ring.write(Uint8Array.of(1)), 0);
    t.is(ring.read(1).length, 1);
    t.is(ring.space(), 1);
    t.is(ring.write(Uint8Array.of(1, 2)), 1);
    t.is(ring.read().length, d.size);
    t.is(ring.read().length, 0, 'empty ring reads nothing');
  });

  test(`${d.name}: a 4096-byte message crosses in several fills`, (t) => {
    const mem = new Uint8Array(4096);
    const ring = d.make(mem);
    setIndices(mem, d, 1000, 1000);
    const msg = bytes(4096, 3);
    const received: number[] = [];
    let sent = 0;
    let fills = 0;
    while (received.length < msg.length) {
      const n = ring.write(msg.subarray(sent));
      sent += n;
      if (n > 0) fills++;
      received.push(...ring.read(700));
    }
    t.deepEqual(Uint8Array.from(received), msg);
    t.true(fills >= 4096 / d.size, `${fills} fills`);
  });

  test(`${d.name}: indices wrap at 2^32`, (t) => {
    const mem = new Uint8Array(4096);
    const ring = d.make(mem);
    const start = 2 ** 32 - 300;
    setIndices(mem, d, start, start);
    const msg = bytes(Math.min(1000, d.size), 9);
    t.is(ring.write(msg), msg.length);
    t.deepEqual(indices(mem, d), { cons: start, prod: (start + msg.length) >>> 0 });
    t.is(ring.available(), msg.length);
    t.deepEqual(ring.read(), msg);
    t.deepEqual(indices(mem, d), { cons: 700, prod: 700 });
  });

  test(`${d.name}: indices claiming more than ${d.size} unread bytes are a RINGIDX error, and nothing moves`, (t) => {
    const mem = new Uint8Array(4096);
    const ring = d.make(mem);
    for (const [cons, prod] of [
      [0, d.size + 1],
      [10, 9], // cons ahead of prod: prod - cons wraps to 2^32 - 1
      [2 ** 32 - 5, d.size], // across the wrap, size + 5 unread
    ] as const) {
      setIndices(mem, d, cons, prod);
      const before = Uint8Array.from(mem);
      const e = t.throws(() => ring.read(), { instanceOf: RingProtocolError });
      t.is(e?.code, 'RINGIDX');
      t.throws(() => ring.write(Uint8Array.of(1)), { instanceOf: RingProtocolError });
      t.throws(() => ring.space(), { instanceOf: RingProtocolError });
      t.deepEqual(mem, before, 'the page is untouched');
    }
    // Exactly size unread bytes is a full ring, not an error.
    setIndices(mem, d, 2 ** 32 - 5, d.size - 5);
    t.is(ring.available(), d.size);
  });

  test(`${d.name}: any interleaving of chunked writes and reads transfers the exact stream (fast-check)`, (t) => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 2 ** 32 - 3 * d.size, max: 2 ** 32 - 1 })),
        fc.integer({ min: 0, max: 3 * 4096 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: d.size + 100 })), { minLength: 1, maxLength: 60 }),
        (start, length, ops) => {
          const mem = new Uint8Array(4096);
          const ring = d.make(mem);
          setIndices(mem, d, start, start);
          const src = bytes(length, start & 0xff);
          const out: Uint8Array[] = [];
          let sent = 0;
          for (const [isWrite, n] of ops) {
            if (isWrite) sent += ring.write(src.subarray(sent, sent + n));
            else out.push(ring.read(n));
            const unread = ring.available();
            if (unread > d.size || unread + ring.space() !== d.size) return false;
          }
          // Drain: keep writing what is left and reading everything.
          while (sent < src.length || ring.available() > 0) {
            sent += ring.write(src.subarray(sent));
            out.push(ring.read());
          }
          const got = Buffer.concat(out);
          return got.equals(Buffer.from(src)) && indices(mem, d).prod === ((start + length) >>> 0);
        },
      ),
      { numRuns: 300 },
    );
    t.pass();
  });
}

test('xenstore: the two directions are independent', (t) => {
  const mem = new Uint8Array(4096);
  const g = new XenstoreRingGuest(mem);
  const s = new XenstoreRingServer(mem);
  t.is(g.write(new TextEncoder().encode('request')), 7);
  t.is(s.write(new TextEncoder().encode('reply!')), 6);
  t.is(new TextDecoder().decode(g.read()), 'reply!');
  t.is(new TextDecoder().decode(s.read()), 'request');
  t.deepEqual([g.reqCons, g.reqProd, g.rspCons, g.rspProd], [7, 7, 6, 6]);
});

test('xenstore: readInto fills a caller buffer and returns the count', (t) => {
  const mem = new Uint8Array(4096);
  const g = new XenstoreRingGuest(mem);
  const s = new XenstoreRingServer(mem);
  g.write(bytes(40));
  const dst = new Uint8Array(16);
  t.is(s.readInto(dst), 16);
  t.deepEqual(dst, bytes(40).subarray(0, 16));
  t.is(s.requestAvailable(), 24);
});

test('xenstore: server features only accumulate; error and connection words sit at 2064/2068/2072', (t) => {
  const mem = new Uint8Array(4096);
  const dv = new DataView(mem.buffer);
  const g = new XenstoreRingGuest(mem);
  const s = new XenstoreRingServer(mem);
  s.advertiseFeatures(XENSTORE_SERVER_FEATURE.RECONNECTION);
  s.advertiseFeatures(XENSTORE_SERVER_FEATURE.ERROR);
  t.is(dv.getUint32(2064, true), 3);
  t.is(g.serverFeatures, 3);
  s.setError(XENSTORE_ERROR.RINGIDX);
  t.is(dv.getUint32(2072, true), 2);
  t.is(g.error, XENSTORE_ERROR.RINGIDX);
});

test('xenstore: a RINGIDX error is something the server can report through the error word', (t) => {
  const mem = new Uint8Array(4096);
  const dv = new DataView(mem.buffer);
  const s = new XenstoreRingServer(mem);
  s.advertiseFeatures(XENSTORE_SERVER_FEATURE.ERROR);
  dv.setUint32(2052, 5000, true); // a guest claiming 5000 unread request bytes
  try {
    s.read();
    t.fail('read accepted bad indices');
  } catch (e) {
    t.true(e instanceof RingProtocolError);
    const err = e as RingProtocolError;
    t.is(err.code, 'RINGIDX');
    t.is(err.prod, 5000);
    t.is(err.cons, 0);
    t.is(err.size, 1024);
    t.regex(err.message, /xenstore req/);
    s.setError(XENSTORE_ERROR.RINGIDX);
  }
  t.is(dv.getUint32(2072, true), XENSTORE_ERROR.RINGIDX);
});

test('xenstore: reconnection empties both queues and then reports CONNECTED', (t) => {
  const mem = new Uint8Array(4096);
  const dv = new DataView(mem.buffer);
  const g = new XenstoreRingGuest(mem);
  const s = new XenstoreRingServer(mem);
  dv.setUint32(2048, 77, true);
  dv.setUint32(2052, 77, true);
  g.write(bytes(10));
  s.write(bytes(20));
  g.requestReconnect();
  t.is(dv.getUint32(2068, true), XENSTORE_CONNECTION.RECONNECT);
  s.completeReconnect();
  t.deepEqual([2048, 2052, 2056, 2060, 2068].map((o) => dv.getUint32(o, true)), [0, 0, 0, 0, XENSTORE_CONNECTION.CONNECTED]);
  t.is(s.requestAvailable(), 0);
  t.is(g.responseAvailable(), 0);
});

test('console: out wraps at 2048 and in at 1024 (different masks)', (t) => {
  const mem = new Uint8Array(4096);
  const dv = new DataView(mem.buffer);
  const g = new ConsoleRingGuest(mem);
  const b = new ConsoleRingBackend(mem);
  dv.setUint32(3080, 2047, true);
  dv.setUint32(3084, 2047, true);
  g.write(Uint8Array.of(1, 2));
  t.is(mem[1024 + 2047], 1, 'out[2047]');
  t.is(mem[1024 + 0], 2, 'out[0]: wrapped at 2048, not 1024');
  dv.setUint32(3072, 1023, true);
  dv.setUint32(3076, 1023, true);
  b.write(Uint8Array.of(3, 4));
  t.is(mem[1023], 3, 'in[1023]');
  t.is(mem[0], 4, 'in[0]: wrapped at 1024');
  t.deepEqual([...b.read()], [1, 2]);
  t.deepEqual([...g.read()], [3, 4]);
  t.deepEqual([g.inCons, g.inProd, g.outCons, g.outProd], [1025, 1025, 2049, 2049]);
});

test('rings work on a page inside a larger buffer, and refuse misaligned or short memory', (t) => {
  const big = new ArrayBuffer(3 * 4096);
  const pageView = new Uint8Array(big, 4096, 4096);
  const g = new XenstoreRingGuest(pageView);
  g.write(Uint8Array.of(9));
  t.is(new Uint8Array(big)[4096], 9);
  t.throws(() => new XenstoreRingGuest(new Uint8Array(big, 2, 4000)), { message: /aligned/ });
  t.throws(() => new ConsoleRingGuest(new Uint8Array(3000)), { message: /do not fit/ });
});
