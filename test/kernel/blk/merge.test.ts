/**
 * blkback's plug: requests taken in one pass of the ring that continue each other on
 * the disk go to the store as one preadv/pwritev, and each is still answered with its
 * own id and status.
 */
import test from 'ava';
import type { BackingStore } from '../../../src/kernel/blk/backing-store.js';
import { attachDisk, machineWithGuest, pattern, readFromDisk, writeToDisk } from './helpers.js';

const MiB = 1024 * 1024;

/** An in-memory disk that records every call (position, bytes, vectors) and fails the ones `fail` picks. */
function countingStore(size: number, fail: (position: number) => boolean = () => false) {
  const disk = new Uint8Array(size);
  const calls: Array<{ op: 'readv' | 'writev' | 'flush'; position: number; bytes: number; vectors: number }> = [];
  const store: BackingStore = {
    path: '/counting',
    kind: 'file',
    sizeBytes: size,
    readOnly: false,
    async readv(buffers, position) {
      calls.push({ op: 'readv', position, bytes: buffers.reduce((n, b) => n + b.length, 0), vectors: buffers.length });
      if (fail(position)) throw new Error('EIO on purpose');
      readFromDisk(disk, buffers, position);
    },
    async writev(buffers, position) {
      calls.push({ op: 'writev', position, bytes: buffers.reduce((n, b) => n + b.length, 0), vectors: buffers.length });
      if (fail(position)) throw new Error('EIO on purpose');
      writeToDisk(disk, buffers, position);
    },
    async flush() {
      calls.push({ op: 'flush', position: 0, bytes: 0, vectors: 0 });
    },
    close: async () => {},
  };
  return { store, disk, calls };
}

test('a 1 MiB read and a 1 MiB write (8 contiguous 128 KiB requests each) go to the file as one call each, and every request is answered', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  t.teardown(() => tm.dispose());
  const { store, disk, calls } = countingStore(8 * MiB);
  tm.m.dom0.blkback.openStore = async () => store;
  const xvda = await attachDisk(tm, kernel, { frontDomid: domid, backDomid: 0, vdev: 51712, target: '/counting' }, 'xvda');
  t.is(xvda.disk.maxRequestBytes, 128 * 1024);
  const data = pattern(MiB, 5);
  await xvda.write(2 * MiB, data);
  t.deepEqual(calls, [{ op: 'writev', position: 2 * MiB, bytes: MiB, vectors: calls[0]!.vectors }], 'one pwritev for the eight requests');
  t.true(calls[0]!.vectors < 256, `adjacent pages are joined into one vector (${calls[0]!.vectors} vectors for 256 pages)`);
  t.deepEqual(disk.subarray(2 * MiB, 3 * MiB), data);
  calls.length = 0;
  t.deepEqual(await xvda.read(2 * MiB, MiB), data);
  t.deepEqual(calls.map((c) => [c.op, c.position, c.bytes]), [['readv', 2 * MiB, MiB]], 'one preadv for the eight requests');
  const back = tm.m.dom0.blkback.devices()[0]!.stats;
  t.like(back, { rdReq: 8, wrReq: 8, errors: 0 }, 'the backend still counts eight requests each way');
  t.like(xvda.info().stats, { reads: 8, writes: 8, errors: 0 }, 'the guest saw eight answers each way');
});

test('requests that do not continue each other, or change direction, are separate calls; a failed merged call fails only the requests it covered', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  t.teardown(() => tm.dispose());
  const { store, calls } = countingStore(8 * MiB, (position) => position === 4 * MiB);
  tm.m.dom0.blkback.openStore = async () => store;
  const xvda = await attachDisk(tm, kernel, { frontDomid: domid, backDomid: 0, vdev: 51712, target: '/counting' }, 'xvda');
  // Issued together: two reads with a gap between them, and a write after them.
  const a = xvda.read(0, 256 * 1024);
  const b = xvda.read(MiB, 256 * 1024);
  const w = xvda.write(256 * 1024, new Uint8Array(128 * 1024));
  await Promise.all([a, b, w]);
  t.deepEqual(
    calls.map((c) => [c.op, c.position, c.bytes]).sort((x, y) => (x[1] as number) - (y[1] as number)),
    [['readv', 0, 256 * 1024], ['writev', 256 * 1024, 128 * 1024], ['readv', MiB, 256 * 1024]],
    'each read of two requests is one call; the write that continues the first read is not merged into it',
  );
  calls.length = 0;
  // A merged read that fails (at 4 MiB), issued with one elsewhere that does not.
  const bad = xvda.read(4 * MiB, 512 * 1024);
  const good = xvda.read(6 * MiB, 128 * 1024);
  const [r1, r2] = await Promise.allSettled([bad, good]);
  t.is(r1.status, 'rejected');
  t.is(r2.status, 'fulfilled');
  t.is(calls.filter((c) => c.position === 4 * MiB).length, 1, 'the four requests at 4 MiB were one call');
  t.is(tm.m.dom0.blkback.devices()[0]!.stats.errors, 4, 'each request the failed call covered was answered with an error');
  t.like(xvda.info().stats, { errors: 4 });
});

test('a barrier issued with contiguous writes around it is not merged: the writes before it are one call that ends first, then the barrier\'s write and its flush, then the writes after it', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  t.teardown(() => tm.dispose());
  const { store, calls } = countingStore(8 * MiB);
  tm.m.dom0.blkback.openStore = async () => store;
  const xvda = await attachDisk(tm, kernel, { frontDomid: domid, backDomid: 0, vdev: 51712, target: '/counting' }, 'xvda');
  const K = 128 * 1024;
  const B = 8192; // a barrier is not indirect: 11 segments at most
  // All in one pass of the ring: two writes, a barrier continuing them, two more continuing that.
  await Promise.all([xvda.write(0, new Uint8Array(2 * K)), xvda.barrier(2 * K, new Uint8Array(B)), xvda.write(2 * K + B, new Uint8Array(2 * K))]);
  t.deepEqual(
    calls.map((c) => [c.op, c.position, c.bytes]),
    [['writev', 0, 2 * K], ['writev', 2 * K, B], ['flush', 0, 0], ['writev', 2 * K + B, 2 * K]],
    'before the barrier, the barrier alone with its flush, after it: three calls, in that order',
  );
  t.like(tm.m.dom0.blkback.devices()[0]!.stats, { wrReq: 5, fReq: 1, errors: 0 });
});
