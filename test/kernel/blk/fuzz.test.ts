/**
 * A guest that writes garbage into its blkif ring: the backend answers each request
 * (BLKIF_RSP_ERROR or EOPNOTSUPP for what it refuses, the right id every time) or,
 * for a producer index that jumps past the ring, closes the device with an error
 * node; the daemon does not fall over and the guest's other disk goes on working.
 *
 * The test plays the guest kernel gone bad: it takes over xvdb's ring in the guest's
 * memory (blkfront's interrupt is masked so it does not consume the answers) and
 * writes requests there itself.
 */
import test from 'ava';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { BLKIF_OP, BLKIF_RSP, BlkifResponseView, FrontRing, SharedRing, SRING_PROTOCOLS, XenbusState } from '../../../src/abi/index.js';
import { until } from '../../helpers/machine.js';
import { attachDisk, backPath, frontPath, machineWithGuest, pattern, readNode, readState, scratchImage } from './helpers.js';

const MiB = 1024 * 1024;

/** One request as raw fields; any of them may be nonsense. */
const request = fc.record({
  op: fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 7, 200),
  indirectOp: fc.constantFrom(0, 1, 2, 3, 9),
  nrSegments: fc.oneof(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0xffff })),
  // Sectors past the end that wrap to ones inside it if cut to 32 or 53 bits, or scaled to bytes in 64.
  sector: fc.oneof(fc.bigInt({ min: 0n, max: 4096n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constantFrom(1n << 32n, (1n << 32n) + 8n, 1n << 44n, 1n << 53n, (1n << 55n) + 16n, 1n << 63n)),
  /** Index into the test's grants (valid, read-only, never granted), or a random ref. */
  grefs: fc.array(fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 0xffffffff })), { minLength: 11, maxLength: 11 }),
  first: fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 11, maxLength: 11 }),
  last: fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 11, maxLength: 11 }),
  noise: fc.uint8Array({ minLength: 112, maxLength: 112 }),
  raw: fc.boolean(),
});

test('garbage requests get an answer each, with their id; a req_prod jump closes only that device; the other disk is unaffected', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  const imgA = scratchImage(4 * MiB, 'a.img');
  const imgB = scratchImage(4 * MiB, 'b.img');
  t.teardown(async () => {
    await tm.dispose();
    imgA.dispose();
    imgB.dispose();
  });
  const specA = { frontDomid: domid, backDomid: 0, vdev: 51712, target: imgA.path };
  const specB = { frontDomid: domid, backDomid: 0, vdev: 51728, target: imgB.path };
  const xvda = await attachDisk(tm, kernel, specA, 'xvda');
  await attachDisk(tm, kernel, specB, 'xvdb');

  // Take over xvdb's ring: its pages through the grants blkfront made, its port masked.
  const fe = frontPath(specB);
  const order = Number(await readNode(tm.xs, `${fe}/ring-page-order`));
  const refs = await Promise.all(Array.from({ length: 2 ** order }, async (_, i) => Number(await readNode(tm.xs, `${fe}/ring-ref${i}`))));
  const pages = refs.map((ref) => kernel.page(kernel.gnttab.entry(ref).frame));
  const sring = new SharedRing(pages, SRING_PROTOCOLS.blkif.slotBytes);
  const front = new FrontRing(sring, sring.reqProd);
  front.rspCons = sring.rspProd;
  const port = Number(await readNode(tm.xs, `${fe}/event-channel`));
  kernel.intr.maskPort(port);
  const src = kernel.intr.sourceOf(port)!;
  // Grants the garbage may name: two writable pages, one read-only, one ended.
  const gfns = kernel.pageAllocator.allocMany(4);
  const grants = [kernel.gnttab.grantForeignAccess(0, gfns[0]!, false), kernel.gnttab.grantForeignAccess(0, gfns[1]!, false), kernel.gnttab.grantForeignAccess(0, gfns[2]!, true)];
  const ended = kernel.gnttab.grantForeignAccess(0, gfns[3]!, false);
  kernel.gnttab.endForeignAccess(ended);
  grants.push(ended);

  let nextId = 1n;
  // Well-formed one-page writes: only the one inside the disk is done; those past its end
  // are refused however the sector would wrap if cut to 32 or 53 bits.
  const wellFormed = [0n, 8184n, 8185n, 8192n, 1n << 32n, (1n << 32n) + 8n, 1n << 53n, (1n << 55n) + 16n, 1n << 63n];
  const firstId = nextId;
  for (const sector of wellFormed) {
    const slot = front.nextRequest();
    const v = slot.view;
    const o = slot.offset;
    v.setUint8(o, BLKIF_OP.WRITE);
    v.setUint8(o + 1, 1);
    v.setBigUint64(o + 8, nextId++, true);
    v.setBigUint64(o + 16, sector, true);
    v.setUint32(o + 24, grants[0]!, true);
    v.setUint8(o + 28, 0);
    v.setUint8(o + 29, 7);
  }
  front.pushRequests();
  kernel.intr.signal(src);
  const answered = (front.rspCons + wellFormed.length) >>> 0;
  await until(() => sring.rspProd === answered, 'answers to the well-formed writes', 1_000_000);
  // Answered as they end: refusals at once, the writes done after their I/O.
  const statuses: number[] = [];
  for (let slot = front.takeResponse(); slot !== undefined; slot = front.takeResponse()) {
    const rsp = new BlkifResponseView(slot.view, slot.offset);
    statuses[Number(rsp.id - firstId)] = rsp.status;
  }
  t.deepEqual(statuses, [BLKIF_RSP.OKAY, BLKIF_RSP.OKAY, ...wellFormed.slice(2).map(() => BLKIF_RSP.ERROR)]);

  const seen: Record<number, number> = {};
  await fc.assert(
    fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 8 }), async (reqs) => {
      const ids: bigint[] = [];
      // A read or write that starts past the disk's 8192 sectors is refused, however far past (up to 2^64 - 1).
      const pastEnd = new Set<bigint>();
      for (const r of reqs) {
        const slot = front.nextRequest();
        const v = slot.view;
        const o = slot.offset;
        if (r.raw) for (let i = 0; i < 112; i++) v.setUint8(o + i, r.noise[i]!);
        else {
          v.setUint8(o, r.op);
          if (r.op === BLKIF_OP.INDIRECT) {
            v.setUint8(o + 1, r.indirectOp);
            v.setUint16(o + 2, r.nrSegments & 0xffff, true);
            for (let i = 0; i < 8; i++) v.setUint32(o + 28 + 4 * i, r.grefs[i]! < 4 ? grants[r.grefs[i]!]! : r.grefs[i]!, true);
          } else {
            v.setUint8(o + 1, r.nrSegments & 0xff);
            for (let i = 0; i < 11; i++) {
              v.setUint32(o + 24 + 8 * i, r.grefs[i]! < 4 ? grants[r.grefs[i]!]! : r.grefs[i]!, true);
              v.setUint8(o + 28 + 8 * i, r.first[i]!);
              v.setUint8(o + 29 + 8 * i, r.last[i]!);
            }
          }
          v.setBigUint64(o + 16, r.sector, true);
        }
        const id = nextId++;
        v.setBigUint64(o + 8, id, true);
        if (!r.raw && (r.op === BLKIF_OP.READ || r.op === BLKIF_OP.WRITE) && r.sector >= 8192n) pastEnd.add(id);
        ids.push(id);
      }
      front.pushRequests();
      kernel.intr.signal(src);
      const want = (front.rspCons + reqs.length) >>> 0;
      await until(() => sring.rspProd === want, `${reqs.length} responses`, 1_000_000);
      const got: bigint[] = [];
      for (let slot = front.takeResponse(); slot !== undefined; slot = front.takeResponse()) {
        const rsp = new BlkifResponseView(slot.view, slot.offset);
        if (![BLKIF_RSP.OKAY, BLKIF_RSP.ERROR, BLKIF_RSP.EOPNOTSUPP].includes(rsp.status as 0)) return false;
        if (pastEnd.has(rsp.id) && rsp.status !== BLKIF_RSP.ERROR) return false;
        got.push(rsp.id);
        seen[rsp.status] = (seen[rsp.status] ?? 0) + 1;
      }
      return got.length === ids.length && [...got].sort().join() === [...ids].sort().join();
    }),
    { numRuns: 40, seed: 20261205 },
  );
  t.is(await readState(tm.xs, backPath(specB)), XenbusState.Connected, 'garbage requests alone do not close the device');
  t.true(seen[BLKIF_RSP.OKAY]! > 0 && seen[BLKIF_RSP.ERROR]! > 0 && seen[BLKIF_RSP.EOPNOTSUPP]! > 0, `the garbage reached every answer: ${JSON.stringify(seen)}`);

  // A producer index far past the ring: the backend stops serving it and says why.
  sring.reqProd = (front.rspCons + 100_000) >>> 0;
  kernel.intr.signal(src);
  // Closing, or already Closed if the frontend answered it before this looks.
  await until(async () => {
    const state = await readState(tm.xs, backPath(specB));
    return state === XenbusState.Closing || state === XenbusState.Closed;
  }, 'xvdb closed by the backend', 1_000_000);
  t.regex((await readNode(tm.xs, `/local/domain/0/error/backend/vbd/${domid}/51728/error`)) ?? '', /^71 frontend provided bogus ring requests: /);

  // The other disk, its backend and the daemon's machine carry on.
  const data = pattern(256 * 1024, 77);
  await xvda.write(MiB, data);
  t.deepEqual(await xvda.read(MiB, 256 * 1024), data);
  t.deepEqual(new Uint8Array(readFileSync(imgA.path).subarray(MiB, MiB + 256 * 1024)), data);
  t.is(await readState(tm.xs, backPath(specA)), XenbusState.Connected);
  t.is(tm.m.dom0.blkback.devices().find((d) => d.node.endsWith('/51712'))!.stats.errors, 0);
  t.is(tm.m.dom0.state, 'running');
});
