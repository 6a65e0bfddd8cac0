/**
 * A guest that writes garbage into its netif tx ring: netback answers every request
 * it consumed (NETIF_RSP_OKAY, ERROR, or NULL for an extra slot, with the request's
 * id) or, for what Linux netback treats as fatal (too many slots, a fragment across
 * its page, a chain past the producer, a req_prod jump), closes that vif with an error
 * node. Either way the daemon stays up and the guest's other vif carries frames on.
 *
 * The test plays the guest kernel gone bad: it takes over vif 1's tx ring in the
 * guest's memory (netfront's tx interrupt masked, so it does not consume the answers).
 */
import test from 'ava';
import fc from 'fast-check';
import { FrontRing, NETIF_RSP, readTxResponse, SharedRing, SRING_PROTOCOLS, writeTxRequest, XenbusState } from '../../../src/abi/index.js';
import type { Kernel } from '../../../src/kernel/kernel.js';
import { until, type TestMachine } from '../../helpers/machine.js';
import { machineWithGuest, readNode, readState } from '../blk/helpers.js';
import { attachVif, collect, frame, removeVif, vifBack, vifFront, type VifNodes } from './helpers.js';

/** One slot as raw fields; any of them may be nonsense. */
const slot = fc.record({
  gref: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) }),
  offset: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 64 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) }),
  /** Mostly none, more_data, csum flags; now and then anything (extra_info, unknown bits). */
  flags: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(0, 1, 2, 4) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) }),
  size: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 1600 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) }),
});

interface Ring {
  front: FrontRing;
  sring: SharedRing;
  src: NonNullable<ReturnType<Kernel['intr']['sourceOf']>>;
}

async function takeOver(tm: TestMachine, kernel: Kernel, s: VifNodes): Promise<Ring> {
  const fe = vifFront(s);
  const ref = Number(await readNode(tm.xs, `${fe}/tx-ring-ref`));
  const sring = new SharedRing([kernel.page(kernel.gnttab.entry(ref).frame)], SRING_PROTOCOLS.netif_tx.slotBytes);
  const front = new FrontRing(sring, sring.reqProd);
  front.rspCons = sring.rspProd;
  const port = Number(await readNode(tm.xs, `${fe}/event-channel-tx`));
  kernel.intr.maskPort(port);
  return { front, sring, src: kernel.intr.sourceOf(port)! };
}

test('garbage tx requests get an answer each with their id, or close only that vif with an error node; the other vif carries on', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  t.teardown(() => tm.dispose());
  const good: VifNodes = { frontDomid: domid, backDomid: 0, devid: 0, mac: '00:16:3e:00:00:10' };
  const bad: VifNodes = { frontDomid: domid, backDomid: 0, devid: 1, mac: '00:16:3e:00:00:11' };
  const ok = await attachVif(tm, kernel, good);
  await attachVif(tm, kernel, bad);
  let ring = await takeOver(tm, kernel, bad);
  // Grants the garbage may name: two writable pages, one read-only, one ended.
  const gfns = kernel.pageAllocator.allocMany(4);
  const grants = [kernel.gnttab.grantForeignAccess(0, gfns[0]!, false), kernel.gnttab.grantForeignAccess(0, gfns[1]!, false), kernel.gnttab.grantForeignAccess(0, gfns[2]!, true)];
  const ended = kernel.gnttab.grantForeignAccess(0, gfns[3]!, false);
  kernel.gnttab.endForeignAccess(ended);
  grants.push(ended);
  const seen: Record<string, number> = {};
  const errorNode = `/local/domain/0/error/backend/vif/${domid}/1/error`;
  let nextId = 1;

  await fc.assert(
    fc.asyncProperty(fc.array(slot, { minLength: 1, maxLength: 24 }), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 4 }), async (slots, dice, lies) => {
      // Now and then a req_prod past the ring; the last slot's more_data is cleared unless the chain is to lie.
      const jump = dice === 0;
      const lie = lies === 0;
      const ids = new Set<number>();
      for (const [i, s] of slots.entries()) {
        const id = nextId++ & 0xffff;
        const flags = i === slots.length - 1 && !lie ? s.flags & ~4 : s.flags;
        ids.add(id);
        const r = ring.front.nextRequest();
        writeTxRequest(r.view, r.offset, { gref: s.gref < 4 ? grants[s.gref]! : s.gref, offset: s.offset, flags, id, size: s.size });
      }
      ring.front.pushRequests();
      if (jump) ring.sring.reqProd = (ring.front.rspCons + 5000) >>> 0;
      kernel.intr.signal(ring.src);
      const be = vifBack(bad);
      await until(async () => ring.sring.rspProd === ring.sring.reqProd || (await readState(tm.xs, be)) === XenbusState.Closing, 'answers or a close', 1_000_000);
      if ((await readState(tm.xs, be)) === XenbusState.Closing) {
        seen.closed = (seen.closed ?? 0) + 1;
        if (!/^71 /.test((await readNode(tm.xs, errorNode)) ?? '')) throw new Error(`error node: ${await readNode(tm.xs, errorNode)}`);
        // Start over with a fresh vif 1.
        await removeVif(tm.xs, bad);
        await tm.xs.rm(errorNode).catch(() => {});
        await until(() => !kernel.netfront.devices().some((d) => d.devid === 1), 'vif 1 gone from the guest bus');
        await attachVif(tm, kernel, bad);
        ring = await takeOver(tm, kernel, bad);
      } else {
        if (jump) return false;
        let answers = 0;
        for (let r = ring.front.takeResponse(); r !== undefined; r = ring.front.takeResponse()) {
          const rsp = readTxResponse(r.view, r.offset);
          if (!ids.has(rsp.id) || ![NETIF_RSP.OKAY, NETIF_RSP.ERROR, NETIF_RSP.NULL].includes(rsp.status as 0)) throw new Error(`bad answer ${JSON.stringify(rsp)} for ${[...ids]}`);
          seen[rsp.status] = (seen[rsp.status] ?? 0) + 1;
          answers++;
        }
        if (answers !== slots.length) throw new Error(`answers ${answers} of ${slots.length} ${JSON.stringify(seen)}`);
      }
      // The other vif, its backend and the machine carry on.
      const atHost = collect(ok.link);
      const f = frame(300, 'ff:ff:ff:ff:ff:ff', good.mac, nextId);
      if (!ok.nic.send(f)) return false;
      await until(() => atHost.length === 1, 'a frame on the good vif', 1_000_000);
      return atHost[0]!.every((b, i) => b === f[i]);
    }),
    { numRuns: 40, seed: 20261206 },
  );
  t.log(JSON.stringify(seen));
  t.true((seen[NETIF_RSP.OKAY] ?? 0) > 0 && (seen[NETIF_RSP.ERROR] ?? 0) > 0 && (seen.closed ?? 0) > 0, `the garbage reached every outcome: ${JSON.stringify(seen)}`);
  t.is(await readState(tm.xs, vifBack(good)), XenbusState.Connected);
  t.is(tm.m.dom0.state, 'running');
});
