import test from 'ava';
import fc from 'fast-check';
import {
  AbiError,
  BackRing,
  contiguousPages,
  FrontRing,
  RingProtocolError,
  ringNotifyNeeded,
  ringSize,
  SharedRing,
  SRING_PROTOCOLS,
} from '../../src/abi/index.js';

const BLKIF = SRING_PROTOCOLS.blkif.slotBytes;
const TX = SRING_PROTOCOLS.netif_tx.slotBytes;
const RX = SRING_PROTOCOLS.netif_rx.slotBytes;
const CTRL = SRING_PROTOCOLS.xen_netif_ctrl.slotBytes;

test('slot sizes are the layouts.md ones: blkif 112, netif tx 12, rx 8, ctrl 16', (t) => {
  t.deepEqual([BLKIF, TX, RX, CTRL], [112, 12, 8, 16]);
});

// layouts.md §3, the measured __RING_SIZE table: [pages, blkif, netif_tx, netif_rx, netif ctrl].
const RING_SIZES = [
  [1, 32, 256, 256, 128],
  [2, 64, 512, 512, 256],
  [4, 128, 1024, 1024, 512],
  [8, 256, 2048, 2048, 1024],
  [16, 512, 4096, 4096, 2048],
] as const;

for (const [pages, blk, tx, rx, ctrl] of RING_SIZES) {
  test(`__RING_SIZE for ${pages} page(s): blkif ${blk}, netif tx ${tx}, rx ${rx}, ctrl ${ctrl}`, (t) => {
    const bytes = pages * 4096;
    t.is(ringSize(BLKIF, bytes), blk);
    t.is(ringSize(TX, bytes), tx);
    t.is(ringSize(RX, bytes), rx);
    t.is(ringSize(CTRL, bytes), ctrl);
    const mem = contiguousPages(pages);
    t.is(new SharedRing(mem, BLKIF).size, blk, 'a SharedRing over the pages agrees');
    t.is(new SharedRing(mem, TX).size, tx);
  });
}

test('ringSize rounds the quotient down to a power of two, and is 0 when no slot fits', (t) => {
  t.is(ringSize(112, 4096), 32, '36 slots fit, 32 are used');
  t.is(ringSize(100, 64 + 100), 1);
  t.is(ringSize(100, 64 + 99), 0);
  t.throws(() => new SharedRing(new Uint8Array(128), 112), { instanceOf: AbiError, message: /no 112-byte slot/ });
});

test('slot i lives at 64 + (i & (size-1)) * slot, header once at the start of page 0', (t) => {
  const ring = new SharedRing(new Uint8Array(4096), BLKIF);
  t.is(ring.slotOffset(0), 64);
  t.is(ring.slotOffset(1), 176);
  t.is(ring.slotOffset(31), 64 + 31 * 112);
  t.is(ring.slotOffset(32), 64, 'index 32 wraps to slot 0');
  t.is(ring.slotOffset(2 ** 32 - 1), 64 + 31 * 112, 'index 2^32-1 is slot 31');
});

test('SHARED_RING_INIT: producers 0, events 1, pvt and pad zeroed, slots untouched', (t) => {
  const mem = new Uint8Array(4096).fill(0xff);
  const ring = new SharedRing(mem, BLKIF);
  ring.init();
  const dv = new DataView(mem.buffer);
  t.deepEqual([0, 4, 8, 12].map((o) => dv.getUint32(o, true)), [0, 1, 0, 1]);
  t.true(mem.subarray(16, 64).every((b) => b === 0), 'pvt and __pad zeroed');
  t.true(mem.subarray(64).every((b) => b === 0xff), 'entries untouched');
  t.deepEqual([ring.reqProd, ring.reqEvent, ring.rspProd, ring.rspEvent], [0, 1, 0, 1]);
});

// The notify rule: "notify iff the peer's event index lies in (old, new]". Rows from the
// situations ring.h's comments describe.
const NOTIFY_ROWS: Array<[string, number, number, number, boolean]> = [
  ['first push after SHARED_RING_INIT (event 1)', 0, 1, 1, true],
  ['first push of a batch after init', 0, 5, 1, true],
  ['peer asked for the next one (event = old + 1)', 7, 8, 8, true],
  ['event at the last pushed index', 5, 8, 8, true],
  ['event inside the pushed range', 5, 8, 6, true],
  ['peer still busy: event not re-armed (event <= old)', 5, 6, 5, false],
  ['peer far behind re-arming', 5, 6, 1, false],
  ['peer batches: event beyond new', 5, 6, 8, false],
  ['nothing pushed (old == new)', 5, 5, 5, false],
  ['nothing pushed, event armed', 5, 5, 6, false],
  ['range wraps 2^32, event before the wrap', 2 ** 32 - 2, 2, 2 ** 32 - 1, true],
  ['range wraps 2^32, event at 0', 2 ** 32 - 2, 2, 0, true],
  ['range wraps 2^32, event at new', 2 ** 32 - 2, 2, 2, true],
  ['range wraps 2^32, event beyond', 2 ** 32 - 2, 2, 3, false],
  ['range wraps 2^32, event = old', 2 ** 32 - 2, 2, 2 ** 32 - 2, false],
];

for (const [name, oldProd, newProd, event, notify] of NOTIFY_ROWS) {
  test(`notify rule: ${name} -> ${notify ? 'notify' : 'no notify'}`, (t) => {
    t.is(ringNotifyNeeded(oldProd, newProd, event), notify);
  });
}

test('notify rule equals "event in (old, new]" for any indices (fast-check)', (t) => {
  const u32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
  fc.assert(
    fc.property(u32, fc.integer({ min: 0, max: 4096 }), fc.integer({ min: -5000, max: 5000 }), (oldProd, pushed, d) => {
      const newProd = (oldProd + pushed) >>> 0;
      const event = (oldProd + d) >>> 0;
      return ringNotifyNeeded(oldProd, newProd, event) === (d > 0 && d <= pushed);
    }),
  );
  t.pass();
});

test('front/back: push notifies only when the peer re-armed, final check re-arms at cons + 1', (t) => {
  const sring = new SharedRing(new Uint8Array(4096), BLKIF);
  const front = FrontRing.init(sring);
  const back = new BackRing(sring);

  for (let i = 0; i < 3; i++) front.nextRequest();
  t.true(front.pushRequestsAndCheckNotify(), 'first push: req_event is 1');
  t.is(back.unconsumedRequests(), 3);
  while (back.takeRequest()) back.nextResponse();
  t.is(back.reqCons, 3);

  t.false(back.finalCheckForRequests(), 'nothing left: go idle');
  t.is(sring.reqEvent, 4, 'req_event = req_cons + 1');
  front.nextRequest();
  t.true(front.pushRequestsAndCheckNotify(), 'the backend sleeps: notify');
  front.nextRequest();
  t.false(front.pushRequestsAndCheckNotify(), 'the backend was already woken: no second notify');
  t.true(back.finalCheckForRequests(), 'work pending: do not sleep');
  t.is(sring.reqEvent, 4, 'final check with work leaves req_event alone');

  t.true(back.pushResponsesAndCheckNotify(), 'rsp_event is 1 from init');
  t.is(front.unconsumedResponses(), 3);
  while (front.takeResponse()) {
    /* consume */
  }
  t.false(front.finalCheckForResponses());
  t.is(sring.rspEvent, 4);
  t.is(front.freeRequests(), 32 - 2, 'two requests still outstanding');
});

test('the ring fills at size outstanding requests', (t) => {
  const sring = new SharedRing(new Uint8Array(4096), BLKIF);
  const front = FrontRing.init(sring);
  for (let i = 0; i < 32; i++) front.nextRequest();
  t.true(front.isFull());
  t.is(front.freeRequests(), 0);
  t.throws(() => front.nextRequest(), { instanceOf: RangeError, message: /full/ });
});

test('RING_REQUEST_PROD_OVERFLOW: a frontend claiming more than size requests is a protocol error', (t) => {
  const sring = new SharedRing(new Uint8Array(4096), BLKIF);
  FrontRing.init(sring);
  const back = new BackRing(sring, 2 ** 32 - 10);
  sring.reqProd = (2 ** 32 - 10 + 32) >>> 0;
  t.is(back.unconsumedRequests(), 32, 'exactly size is a full ring');
  sring.reqProd = (2 ** 32 - 10 + 33) >>> 0;
  const e = t.throws(() => back.unconsumedRequests(), { instanceOf: RingProtocolError });
  t.is(e?.code, 'RING_REQUEST_PROD_OVERFLOW');
  t.throws(() => back.takeRequest(), { instanceOf: RingProtocolError });
  t.throws(() => back.finalCheckForRequests(), { instanceOf: RingProtocolError });
  t.true(back.requestProdOverflow(sring.reqProd));
  t.false(back.requestConsOverflow(back.reqCons + 31));
  t.true(back.requestConsOverflow(back.reqCons + 32), 'RING_REQUEST_CONS_OVERFLOW');
});

test('RING_RESPONSE_PROD_OVERFLOW: a backend claiming more than size responses is a protocol error', (t) => {
  const sring = new SharedRing(new Uint8Array(4096), TX);
  const front = FrontRing.init(sring);
  sring.rspProd = 257;
  const e = t.throws(() => front.unconsumedResponses(), { instanceOf: RingProtocolError });
  t.is(e?.code, 'RING_RESPONSE_PROD_OVERFLOW');
  sring.rspProd = 256;
  t.is(front.unconsumedResponses(), 256);
});

test('requests and responses travel through the slots in place, across the 2^32 index wrap', (t) => {
  const sring = new SharedRing(new Uint8Array(4096), BLKIF);
  sring.init();
  const start = 2 ** 32 - 40;
  sring.reqProd = start;
  sring.rspProd = start;
  const front = new FrontRing(sring, start);
  const back = new BackRing(sring, start);
  let nextId = 1n;
  const completed: bigint[] = [];
  for (let round = 0; round < 10; round++) {
    for (let i = 0; i < 7; i++) {
      const s = front.nextRequest();
      s.view.setUint8(s.offset, 0); // blkif operation
      s.view.setBigUint64(s.offset + 8, nextId++, true); // blkif id @8
    }
    front.pushRequests();
    for (let s = back.takeRequest(); s; s = back.takeRequest()) {
      const id = s.view.getBigUint64(s.offset + 8, true);
      const r = back.nextResponse();
      r.view.setBigUint64(r.offset, id, true); // blkif_response id @0
      r.view.setInt16(r.offset + 10, 0, true); // status @10
    }
    back.pushResponses();
    for (let r = front.takeResponse(); r; r = front.takeResponse()) completed.push(r.view.getBigUint64(r.offset, true));
  }
  t.deepEqual(completed, Array.from({ length: 70 }, (_, i) => BigInt(i + 1)));
  t.is(front.rspCons, (start + 70) >>> 0);
  t.true(front.rspCons < 100, 'the indices wrapped');
});

test('a 4-page blkif ring: slot 72 straddles pages 1 and 2 and is still one DataView range', (t) => {
  const pages = contiguousPages(4);
  const sring = new SharedRing(pages, BLKIF);
  t.is(sring.size, 128);
  const slot = sring.slot(72);
  t.is(slot.offset, 8128);
  slot.view.setBigUint64(slot.offset + 64, 0x0102030405060708n, true); // bytes 8192..8199: page 2
  t.is(pages[2]![0], 0x08);
  t.is(pages[2]![7], 0x01);
  t.is(sring.bytes?.byteLength, 4 * 4096);
  t.true(sring.zeroCopy);
});

test('pages of the wrong size are refused with a reason', (t) => {
  t.throws(() => new SharedRing([new Uint8Array(4096), new Uint8Array(100)], BLKIF), { instanceOf: AbiError, message: /page 1 has 100 bytes/ });
  t.throws(() => new SharedRing([], BLKIF), { instanceOf: AbiError, message: /no pages/ });
});

/** Four pages that are not adjacent: each its own buffer, in an order unrelated to memory. */
function scatteredPages(n: number): Uint8Array[] {
  return Array.from({ length: n }, () => new Uint8Array(4096));
}

test('scattered pages make a ring too: in-page slots in place, straddling slots through a bounce', (t) => {
  const pages = scatteredPages(4);
  const sring = new SharedRing(pages, BLKIF);
  t.false(sring.zeroCopy);
  t.is(sring.bytes, null);
  t.is(sring.size, 128);
  const front = FrontRing.init(sring);
  const straddling = [...Array(128).keys()].filter((i) => {
    const start = 64 + i * BLKIF;
    return Math.floor(start / 4096) !== Math.floor((start + BLKIF - 1) / 4096);
  });
  t.deepEqual(straddling, [72, 109], 'slot 36 starts exactly at 4096; boundaries 1 and 2 are straddled');
  front.reqProdPvt = 72;
  front.rspCons = 72;
  sring.reqProd = 72;
  sring.rspProd = 72;
  const s = front.nextRequest();
  for (let b = 0; b < BLKIF; b++) s.view.setUint8(s.offset + b, b + 1);
  t.is(pages[1]![4096 - 64], 0, 'not in the page before the push');
  front.pushRequests();
  // Slot 72 covers ring bytes 8128..8239: the last 64 bytes of page 1, the first 48 of page 2.
  t.deepEqual([...pages[1]!.subarray(4032)], Array.from({ length: 64 }, (_, b) => b + 1));
  t.deepEqual([...pages[2]!.subarray(0, 48)], Array.from({ length: 48 }, (_, b) => b + 65));
  const back = new BackRing(new SharedRing(pages, BLKIF), 72);
  const r = back.takeRequest()!;
  t.is(r.view.getUint8(r.offset), 1);
  t.is(r.view.getUint8(r.offset + 111), 112);
});

test('a scattered ring and an adjacent ring over the same bytes agree through wrap-around', (t) => {
  const adjacent = contiguousPages(4);
  const scattered = scatteredPages(4);
  const rings = [adjacent, scattered].map((pages) => {
    const sring = new SharedRing(pages, BLKIF);
    const start = 2 ** 32 - 50;
    sring.init();
    sring.reqProd = start;
    sring.rspProd = start;
    return { pages, sring, front: new FrontRing(sring, start), back: new BackRing(new SharedRing(pages, BLKIF), start) };
  });
  let id = 0n;
  for (let round = 0; round < 9; round++) {
    for (const { front } of rings) {
      for (let i = 0; i < 29; i++) {
        const s = front.nextRequest();
        s.view.setUint8(s.offset, i % 3); // operation
        s.view.setUint8(s.offset + 1, 11); // nr_segments
        s.view.setBigUint64(s.offset + 8, id + BigInt(i), true); // id
        s.view.setUint32(s.offset + 24 + 10 * 8, i * 7, true); // seg[10].gref: bytes 104..107
      }
      front.pushRequestsAndCheckNotify();
    }
    id += 29n;
    for (const { back } of rings) {
      for (let s = back.takeRequest(); s; s = back.takeRequest()) {
        const reqId = s.view.getBigUint64(s.offset + 8, true);
        const gref = s.view.getUint32(s.offset + 104, true);
        const r = back.nextResponse();
        r.view.setBigUint64(r.offset, reqId, true);
        r.view.setUint8(r.offset + 8, 0);
        r.view.setInt16(r.offset + 10, gref === 0 ? 0 : -1, true);
      }
      back.pushResponsesAndCheckNotify();
    }
    const got = rings.map(({ front }) => {
      const ids: bigint[] = [];
      for (let r = front.takeResponse(); r; r = front.takeResponse()) ids.push(r.view.getBigUint64(r.offset, true));
      return ids;
    });
    t.deepEqual(got[0], got[1]);
    t.is(got[0]!.length, 29);
  }
  const flat = (pages: Uint8Array[]): number[] => pages.flatMap((p) => [...p]);
  t.deepEqual(flat(rings[1]!.pages), flat(rings[0]!.pages), 'the same bytes in both rings, header included');
  t.true(rings[0]!.front.rspCons < 300, 'the indices wrapped past 2^32');
});

test('SharedArrayBuffer-backed rings behave the same', (t) => {
  const sring = new SharedRing(contiguousPages(1, true), RX);
  const front = FrontRing.init(sring);
  const back = new BackRing(sring);
  front.nextRequest();
  t.true(front.pushRequestsAndCheckNotify());
  t.is(back.unconsumedRequests(), 1);
});

test('a backend cannot produce more responses than it consumed requests', (t) => {
  const sring = new SharedRing(new Uint8Array(4096), BLKIF);
  const front = FrontRing.init(sring);
  const back = new BackRing(sring);
  front.nextRequest();
  front.pushRequests();
  t.throws(() => back.nextResponse(), { instanceOf: RangeError, message: /already has its response/ });
  back.takeRequest();
  t.notThrows(() => back.nextResponse());
  t.throws(() => back.nextResponse(), { instanceOf: RangeError });
});

test('getting a slot allocates nothing: each index gets the RingSlot made for it at construction', (t) => {
  for (const pages of [contiguousPages(4), scatteredPages(4)]) {
    const sring = new SharedRing(pages, BLKIF);
    for (const i of [0, 5, 72, 109, 127]) {
      t.is(sring.slot(i), sring.slot(i + sring.size), `slot ${i} and ${i + sring.size} are one object`);
      t.is(sring.slotForWrite(i), sring.slot(i));
    }
  }
});

test('any slot size, any page count: a scattered ring writes the same bytes an adjacent one does', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 600 }),
      fc.integer({ min: 2, max: 8 }),
      fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 12 }),
      (slotBytes, nPages, start, batches) => {
        const rings = [contiguousPages(nPages), scatteredPages(nPages)].map((pages) => {
          const sring = new SharedRing(pages, slotBytes);
          sring.init();
          sring.reqProd = start;
          sring.rspProd = start;
          return { pages, front: new FrontRing(sring, start), back: new BackRing(new SharedRing(pages, slotBytes), start) };
        });
        let stamp = 1;
        for (const n of batches) {
          for (const { front, back } of rings) {
            const seed = stamp;
            for (let i = 0; i < Math.min(n, front.freeRequests()); i++) {
              const s = front.nextRequest();
              for (let b = 0; b < slotBytes; b++) s.view.setUint8(s.offset + b, (seed + i * 7 + b) & 0xff);
            }
            front.pushRequests();
            for (let s = back.takeRequest(); s; s = back.takeRequest()) {
              // Echo the request's first and last bytes, swapped, into the response.
              const first = s.view.getUint8(s.offset);
              const last = s.view.getUint8(s.offset + slotBytes - 1);
              const r = back.nextResponse();
              r.view.setUint8(r.offset, last);
              r.view.setUint8(r.offset + slotBytes - 1, first);
            }
            back.pushResponses();
            while (front.takeResponse()) {
              /* consume */
            }
          }
          stamp += n;
        }
        const [a, b] = rings.map((r) => Buffer.concat(r.pages));
        return a!.equals(b!);
      },
    ),
    { numRuns: 150 },
  );
  t.pass();
});

test('RING_COPY_REQUEST: the copy keeps what the frontend wrote, whatever it writes afterwards', (t) => {
  for (const pages of [contiguousPages(4), scatteredPages(4)]) {
    const sring = new SharedRing(pages, BLKIF);
    const front = new FrontRing(sring, 72);
    const back = new BackRing(sring, 72);
    sring.reqProd = 72;
    sring.rspProd = 72;
    const s = front.nextRequest(); // slot 72 straddles pages 1 and 2
    for (let b = 0; b < BLKIF; b++) s.view.setUint8(s.offset + b, b);
    front.pushRequests();
    const copy = new Uint8Array(BLKIF);
    back.copyRequest(back.reqCons, copy);
    const again = front.request(72);
    again.view.setUint8(again.offset + 100, 0xee); // the frontend changes it after the copy
    front.pushRequests();
    t.deepEqual([...copy], Array.from({ length: BLKIF }, (_, b) => b));
    t.throws(() => back.copyRequest(72, new Uint8Array(16)), { instanceOf: RangeError, message: /112-byte slot into 16 bytes/ });
  }
});
