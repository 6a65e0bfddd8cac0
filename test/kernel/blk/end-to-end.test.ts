/**
 * A disk end to end: blkfront in a guest, blkback in dom0, a real image file between
 * them; the bytes the guest writes through the ring are in the file, and the bytes in
 * the file come back through the ring.
 */
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { XenbusState } from '../../../src/abi/index.js';
import { attachDisk, backPath, frontPath, machineWithGuest, pattern, readNode, readState, scratchImage } from './helpers.js';

const MiB = 1024 * 1024;

test('a pattern written through the ring is in the image, and the image read through the ring is what the host wrote', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  const img = scratchImage(8 * MiB);
  t.teardown(async () => {
    await tm.dispose();
    img.dispose();
  });
  const spec = { frontDomid: domid, backDomid: 0, vdev: 51712, target: img.path };
  const xvda = await attachDisk(tm, kernel, spec, 'xvda');
  t.is(xvda.sizeBytes, 8 * MiB);
  t.is(await readState(tm.xs, frontPath(spec)), XenbusState.Connected);
  t.is(await readState(tm.xs, backPath(spec)), XenbusState.Connected);

  // 1 MiB at an odd 4 KiB offset: several 128 KiB requests, indirect descriptors.
  const data = pattern(MiB, 1);
  await xvda.write(12 * 4096, data);
  const file = readFileSync(img.path);
  t.deepEqual(new Uint8Array(file.subarray(12 * 4096, 12 * 4096 + MiB)), data);
  t.true(file.subarray(0, 12 * 4096).every((b) => b === 0), 'nothing before it was touched');

  const host = pattern(300 * 512, 2);
  const fileNow = readFileSync(img.path);
  fileNow.set(host, 5 * MiB + 512 * 7);
  writeFileSync(img.path, fileNow);
  t.deepEqual(await xvda.read(5 * MiB + 512 * 7, 300 * 512), host, 'sector-granular read of what the host wrote');

  const st = xvda.info().stats;
  t.is(st.bytesWritten, MiB);
  t.is(st.bytesRead, 300 * 512);
  t.is(st.errors, 0);
  t.is(st.inFlight, 0);
  t.is(kernel.gnttab.deferredCount, 0, 'every data grant ended');
  t.is(xvda.info().queueDepth, 64, 'a 64 MiB guest gives a disk\'s queue an eighth of its memory: 64 slots of 128 KiB, not the ring\'s 256');
  t.is(await readNode(tm.xs, `${frontPath(spec)}/ring-page-order`), '3', '256 requests need 8 ring pages');
  t.is(await readNode(tm.xs, `${backPath(spec)}/max-ring-page-order`), '4');
});
