/**
 * The block layer on its own, over a driver that keeps the disk in memory and answers
 * each request when the test says: how a call's requests end (the driver's done
 * callback), and what a failure leaves behind.
 */
import test from 'ava';
import { BlockDevice, BlockIoError, type BlockDriverDisk, type BlockPages, type BlockRequest } from '../../../src/kernel/blk/block-layer.js';
import { VirtualClock } from '../../../src/hypervisor/clock.js';

const PAGE = 4096;

/** A disk of `sectors` 512-byte sectors whose requests wait in `pending` until answered. */
function memoryDisk(sectors: number, maxInFlight: number): BlockDriverDisk & { pending: BlockRequest[]; answer(req: BlockRequest, err?: Error): void } {
  const bytes = new Uint8Array(sectors * 512);
  const pending: BlockRequest[] = [];
  return {
    name: 'xvda',
    vdev: 51712,
    sectorSize: 512,
    sectors,
    readOnly: false,
    features: { flush: true, barrier: false, discard: false },
    maxRequestBytes: 128 * 1024,
    maxInFlight,
    pending,
    submit: (req) => void pending.push(req),
    answer(req, err) {
      pending.splice(pending.indexOf(req), 1);
      if (err === undefined && req.op === 'read') {
        for (let at = 0; at < req.length; at += PAGE) req.buf.pages[req.first + at / PAGE]!.set(bytes.subarray(req.offset + at, req.offset + Math.min(req.length, at + PAGE)));
      }
      req.done(err ?? null);
    },
  };
}

/** Guest frames from a plain map; `failNext` makes the next n allocations fail, as a guest out of memory. */
function framePool(): BlockPages & { failNext: number } {
  const views = new Map<number, Uint8Array>();
  let next = 1;
  const pool = {
    failNext: 0,
    alloc: () => {
      if (pool.failNext > 0) {
        pool.failNext--;
        throw new Error('out of guest memory');
      }
      views.set(next, new Uint8Array(PAGE));
      return next++;
    },
    free: (gfn: number) => void views.delete(gfn),
    page: (gfn: number) => views.get(gfn)!,
    stored: () => {},
  };
  return pool;
}

test('a 1 MiB read is eight requests and one promise, settled only when the last of them is answered', async (t) => {
  const disk = memoryDisk(4096, 32);
  const dev = new BlockDevice(disk, framePool(), new VirtualClock());
  let settled = false;
  const read = dev.read(0, 1 << 20).then(() => (settled = true));
  t.is(disk.pending.length, 8);
  t.deepEqual(
    disk.pending.map((r) => [r.offset, r.length]),
    Array.from({ length: 8 }, (_, i) => [i * 128 * 1024, 128 * 1024]),
  );
  for (const req of [...disk.pending].reverse().slice(0, 7)) disk.answer(req);
  await Promise.resolve();
  t.false(settled, 'seven of eight answered (in reverse order): still waiting');
  disk.answer(disk.pending[0]!);
  await read;
  t.is(dev.info().stats.reads, 8);
  t.is(dev.info().stats.inFlight, 0);
});

test('a failed request fails its call, but only once every request of the call ended', async (t) => {
  const disk = memoryDisk(4096, 32);
  const dev = new BlockDevice(disk, framePool(), new VirtualClock());
  let outcome: unknown = 'pending';
  const read = dev.read(0, 256 * 1024).then(
    () => (outcome = 'ok'),
    (err: unknown) => (outcome = err),
  );
  const [first, second] = disk.pending;
  disk.answer(first!, new BlockIoError('EIO', 'xvda: read failed: backend answered BLKIF_RSP_ERROR (-1)', -1));
  await Promise.resolve();
  t.is(outcome, 'pending', 'the other request still owns its buffer');
  disk.answer(second!);
  await read;
  t.like(outcome, { code: 'EIO' });
  t.is(dev.info().stats.errors, 1);
  t.is(dev.info().stats.reads, 1);
});

test('a queue buffer that cannot be made (ENOMEM) gives its queue slot back', async (t) => {
  const disk = memoryDisk(4096, 1);
  const pages = framePool();
  const dev = new BlockDevice(disk, pages, new VirtualClock());
  t.is(dev.depth, 1);
  pages.failNext = 1;
  await t.throwsAsync(dev.read(0, PAGE), { code: 'ENOMEM' });
  // With the only slot kept by the failed request, this one would wait for it forever.
  const read = dev.read(0, PAGE);
  t.is(dev.info().stats.queued, 0);
  t.is(disk.pending.length, 1);
  disk.answer(disk.pending[0]!);
  t.is((await read).length, PAGE);
});

test('a driver that refuses a request at submit fails that call and frees its slot and buffer', async (t) => {
  const disk = memoryDisk(4096, 1);
  const dev = new BlockDevice(disk, framePool(), new VirtualClock());
  const submit = disk.submit;
  disk.submit = () => {
    throw new BlockIoError('ENODEV', 'xvda: the disk is not connected', null);
  };
  await t.throwsAsync(dev.read(0, PAGE), { code: 'ENODEV' });
  disk.submit = submit;
  const read = dev.read(0, PAGE);
  t.is(disk.pending.length, 1);
  disk.answer(disk.pending[0]!);
  await read;
  t.is(dev.info().stats.inFlight, 0);
  t.is(dev.heldFrames().length, 32, 'one queue buffer of 128 KiB, made once and reused');
});

test('bad arguments reject, as from an async method, and never throw at the call', async (t) => {
  const disk = memoryDisk(4096, 32);
  const dev = new BlockDevice(disk, framePool(), new VirtualClock());
  await t.throwsAsync(() => dev.read(0, -512), { code: 'EINVAL' });
  await t.throwsAsync(() => dev.read(100, 512), { code: 'EINVAL', message: /not aligned to the 512-byte sector size/ });
  await t.throwsAsync(() => dev.write(4096 * 512, new Uint8Array(512)), { code: 'ENOSPC' });
  await t.throwsAsync(() => dev.readDirect(0, { gfns: [1], pages: [new Uint8Array(PAGE)] }, PAGE), { code: 'EINVAL', message: /needs a buffer from this disk's allocBuffer/ });
  t.is(disk.pending.length, 0, 'nothing reached the driver');
});

test('direct buffers: a freed one comes back whole for the same size, under a new object; frames taken for a buffer that fails go back', async (t) => {
  const disk = memoryDisk(4096, 32);
  const pages = framePool();
  const dev = new BlockDevice(disk, pages, new VirtualClock());
  const a = dev.allocBuffer(2 * PAGE);
  dev.freeBuffer(a);
  const b = dev.allocBuffer(2 * PAGE);
  t.deepEqual(b.gfns, a.gfns, 'the same frames');
  t.not(b, a);
  await t.throwsAsync(() => dev.readDirect(0, a, PAGE), { code: 'EINVAL' }, 'the freed object stays dead to whoever kept it');
  dev.freeBuffer(b);
  pages.failNext = 1;
  t.throws(() => dev.allocBuffer(3 * PAGE), { code: 'ENOMEM' });
  t.deepEqual(dev.heldFrames().sort(), [...a.gfns].sort(), 'the two spare frames are still the disk\'s');
  t.deepEqual(dev.allocBuffer(2 * PAGE).gfns, a.gfns, 'and the next buffer gets them');
});
