/**
 * Direct I/O (O_DIRECT): a program's own buffer of guest pages goes to the ring as it
 * is, so the block layer copies nothing; block-io reads, writes and verifies that way.
 * The copying read/write stays for callers that hand in plain arrays (and counts what
 * it copies). Direct buffers' frames are reused by the next program and go back when
 * the disk goes.
 */
import test from 'ava';
import { patternBytes, runBlockIo, type BlockIoOptions } from '../../../src/kernel/blk/block-io.js';
import { attachDisk, machineWithGuest, pattern, removeVbd, scratchImage } from './helpers.js';
import { until } from '../../helpers/machine.js';

const MiB = 1024 * 1024;

async function setup(t: import('ava').ExecutionContext, bytes: number) {
  const { tm, domid, kernel } = await machineWithGuest();
  const img = scratchImage(bytes);
  t.teardown(async () => {
    await tm.dispose();
    img.dispose();
  });
  const spec = { frontDomid: domid, backDomid: 0, vdev: 51712, target: img.path };
  // Frames free before the disk: its ring, indirect pages, queue and program buffers all come on top.
  const freeFrames = kernel.pageAllocator.free;
  const xvda = await attachDisk(tm, kernel, spec, 'xvda');
  const io = (o: Partial<BlockIoOptions>) => runBlockIo(xvda, { op: 'read', offset: 0, length: bytes, blockSize: MiB, queueDepth: 4, pattern: 'offset', seed: 1, flush: false, ...o }, kernel.clock);
  return { tm, kernel, spec, xvda, freeFrames, io };
}

test('block-io writes, verifies and reads on its own guest pages: the block layer copies no byte; the next run reuses the frames (no new grant); they go back at the unplug', async (t) => {
  const { tm, kernel, spec, xvda, freeFrames, io } = await setup(t, 4 * MiB);
  await io({ op: 'write' });
  const verified = await io({ op: 'verify' });
  t.is(verified.summary.mismatches, 0, 'what the direct writes wrote is on the disk');
  const read = await io({ op: 'read', keepData: true, random: true });
  t.deepEqual(read.data, patternBytes('offset', 1, 0, 4 * MiB), 'direct reads, in any order, hand back the disk\'s bytes');
  t.is(xvda.bytesCopied, 0, 'not one byte copied between an array and the queue\'s pages');

  let grants = 0;
  const grant = kernel.gnttab.grantForeignAccess.bind(kernel.gnttab);
  kernel.gnttab.grantForeignAccess = (...args) => {
    grants++;
    return grant(...args);
  };
  await io({ op: 'write', pattern: 'zero' });
  t.is((await io({ op: 'verify', pattern: 'zero' })).summary.mismatches, 0, 'zeros filled once into reused frames are zeros on the disk');
  t.is(grants, 0, 'the second program got the first one\'s frames, still granted');

  // A plain array through the copying API: counted.
  const data = pattern(MiB, 7);
  await xvda.write(MiB, data);
  t.deepEqual(await xvda.read(MiB, MiB), data);
  t.is(xvda.bytesCopied, 2 * MiB, 'the copying write and read copy their bytes once each');

  await removeVbd(tm.xs, spec);
  // The ring and its indirect pages go when the frontend sees the backend Closed, or its device removed: whichever comes first.
  await until(() => {
    kernel.gnttab.retryDeferred();
    return kernel.pageAllocator.free === freeFrames;
  }, 'every frame of the disk back');
  t.is(kernel.gnttab.deferredCount, 0, 'every grant ended');
  t.is(kernel.pageAllocator.free, freeFrames, 'the direct buffers\' frames went back with the queue\'s');
});

test('direct buffers are bounded by the disk\'s share of guest memory: past it allocBuffer says ENOMEM and block-io falls back to copying; a buffer not from allocBuffer is refused', async (t) => {
  // A 64 MiB guest: each disk's buffers may take 1/8 of it, 8 MiB.
  const { xvda, io } = await setup(t, 12 * MiB);
  t.throws(() => xvda.allocBuffer(9 * MiB), { code: 'ENOMEM' });
  const w = await io({ op: 'write', blockSize: 12 * MiB, queueDepth: 1 });
  t.is(xvda.bytesCopied, 12 * MiB, 'a 12 MiB block went through the copying path');
  t.is((await io({ op: 'verify', blockSize: MiB })).summary.mismatches, 0);
  t.is(w.summary.ios, 1);
  const foreign = { gfns: [1], pages: [new Uint8Array(4096)] };
  await t.throwsAsync(xvda.writeDirect(0, foreign, 4096), { code: 'EINVAL', message: /needs a buffer from this disk's allocBuffer/ });
  const small = xvda.allocBuffer(4096);
  await t.throwsAsync(xvda.readDirect(0, small, 8192), { code: 'EINVAL', message: /a 4096-byte direct buffer for a 8192-byte read/ });
  xvda.freeBuffer(small);
});
