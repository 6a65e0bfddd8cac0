/**
 * Many requests in flight to one store at once, completed out of order: each answer
 * carries its own request's id, so each read gets its own bytes; and each request is
 * one vectored call over its segments' bytes in place.
 */
import test from 'ava';
import type { BackingStore } from '../../../src/kernel/blk/backing-store.js';
import { machineSources } from '../../../src/host/stats-service.js';
import { attachDisk, machineWithGuest, pattern } from './helpers.js';

/** A store whose reads wait until the test lets them finish, and say which position they read. */
function heldStore(path: string): BackingStore & { held: Array<{ position: number; bytes: number; finish(): void }> } {
  const held: Array<{ position: number; bytes: number; finish(): void }> = [];
  return {
    path,
    kind: 'file',
    sizeBytes: 1024 * 1024,
    readOnly: false,
    held,
    readv(buffers, position) {
      return new Promise<void>((resolve) => {
        held.push({
          position,
          bytes: buffers.reduce((n, b) => n + b.length, 0),
          finish: () => {
            let at = position;
            // Each 4 KiB of the disk has its own bytes, however the vectors split it.
            for (const b of buffers) {
              for (let i = 0; i < b.length; i += 4096) b.set(pattern(Math.min(4096, b.length - i), at + i), i);
              at += b.length;
            }
            resolve();
          },
        });
      });
    },
    writev: async () => {},
    flush: async () => {},
    close: async () => {},
  };
}

test('eight reads in flight at once, finished in reverse order, each get their own bytes; one readv per request; their grants released in one batch', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  t.teardown(() => tm.dispose());
  const store = heldStore('/held');
  tm.m.dom0.blkback.openStore = async () => store;
  // Grants made per request and released at completion: without persistent grants (see persistent.test.ts).
  kernel.blkfront.tunables = { ...kernel.blkfront.tunables, persistent: false };
  const xvda = await attachDisk(tm, kernel, { frontDomid: domid, backDomid: 0, vdev: 51712, target: '/held' }, 'xvda');
  const finished: number[] = [];
  const reads = Array.from({ length: 8 }, (_, i) => xvda.read(i * 65536, 32768).then((data) => {
    finished.push(i);
    return data;
  }));
  for (let turn = 0; store.held.length < 8 && turn < 100_000; turn++) await new Promise((r) => setImmediate(r));
  t.is(store.held.length, 8, 'all eight are in the store at once');
  t.deepEqual(store.held.map((h) => h.bytes), new Array(8).fill(32768), 'each request is one readv over all of its 8 pages');
  const locks = kernel.gnttab.refs.lock.acquisitions;
  for (const h of [...store.held].reverse()) h.finish();
  const data = await Promise.all(reads);
  t.is(kernel.gnttab.refs.lock.acquisitions - locks, 1, 'the 64 data grants of the 8 answers went back under one acquisition of the grant list lock');
  t.is(kernel.gnttab.deferredCount, 0);
  data.forEach((d, i) => t.deepEqual(d, new Uint8Array(Buffer.concat(Array.from({ length: 8 }, (_, p) => pattern(4096, i * 65536 + p * 4096))))));
  t.deepEqual(finished, [7, 6, 5, 4, 3, 2, 1, 0], 'answered in the order the store finished');
});

test('xentop\'s VBD rows of a domain carry the counters of the backend serving it, and only those', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  t.teardown(() => tm.dispose());
  const store = heldStore('/held');
  tm.m.dom0.blkback.openStore = async () => store;
  const xvda = await attachDisk(tm, kernel, { frontDomid: domid, backDomid: 0, vdev: 51712, target: '/held' }, 'xvda');
  await xvda.write(0, new Uint8Array(8192));
  await xvda.write(8192, new Uint8Array(4096));
  const read = xvda.read(0, 1024);
  for (let turn = 0; store.held.length < 1 && turn < 100_000; turn++) await new Promise((r) => setImmediate(r));
  store.held[0]!.finish();
  await read;
  // What `top` reads: one row per VBD of the domain, with the backend's counters.
  const vbds = (id: number) => machineSources(tm.m).devices(id).vbds;
  t.deepEqual(vbds(domid), [{ backend: 'BlkBack', dev: 51712, error: false, oo: 0, rd: 1, wr: 2, rsect: 2, wsect: 24 }]);
  t.deepEqual(vbds(domid + 1), []);
  t.like(xvda.info().stats, { reads: 1, writes: 2, bytesRead: 1024, bytesWritten: 12288, inFlight: 0, errors: 0 });
  t.is(xvda.info().stats.latencyUs.reduce((a, b) => a + b, 0), 3, 'every request in the latency histogram');
});
