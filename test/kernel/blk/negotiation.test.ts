/**
 * blkfront's negotiation: the lesser of its limits and the backend's, the original
 * protocol's values for keys a backend does not publish, ring pages enough for the
 * request count, and the dmesg lines saying what it reduced; a frontend that does not
 * wait for InitWait is still served.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { vbdName } from '../../../src/kernel/blk/vbd-name.js';
import { attachDisk, backPath, frontPath, machineWithGuest, pattern, readNode, scratchImage } from './helpers.js';

const MiB = 1024 * 1024;

test('against a backend that publishes only the original keys: 2 ring pages as ring-ref0/1, 64 requests, 11 segments, and the reduction is logged', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  const img = scratchImage(2 * MiB);
  t.teardown(async () => {
    await tm.dispose();
    img.dispose();
  });
  tm.m.dom0.blkback.tunables = { ...tm.m.dom0.blkback.tunables, maxRingPageOrder: 1, maxIndirectSegments: 0, publish: 'original', persistent: false };
  const spec = { frontDomid: domid, backDomid: 0, vdev: 51712, target: img.path };
  const xvda = await attachDisk(tm, kernel, spec, 'xvda');
  const be = backPath(spec);
  const fe = frontPath(spec);
  t.is(await readNode(tm.xs, `${be}/max-ring-pages`), '2');
  t.is(await readNode(tm.xs, `${be}/max-requests`), '64');
  t.is(await readNode(tm.xs, `${be}/max-request-segments`), '11');
  t.is(await readNode(tm.xs, `${be}/max-ring-page-order`), undefined, 'not today\'s keys');
  t.is(await readNode(tm.xs, `${be}/feature-max-indirect-segments`), undefined);
  t.is(await readNode(tm.xs, `${fe}/ring-ref`), undefined, 'a multi-page ring has no plain ring-ref');
  t.truthy(await readNode(tm.xs, `${fe}/ring-ref0`));
  t.truthy(await readNode(tm.xs, `${fe}/ring-ref1`));
  t.is(await readNode(tm.xs, `${fe}/num-ring-pages`), '2');
  t.is(await readNode(tm.xs, `${fe}/ring-page-order`), '1');
  t.is(await readNode(tm.xs, `${fe}/max-requests`), '64');
  t.is(await readNode(tm.xs, `${fe}/max-request-segments`), '11');
  t.is(await readNode(tm.xs, `${fe}/max-request-size`), String(11 * 4096));
  t.is(await readNode(tm.xs, `${fe}/protocol`), 'x86_64-abi');
  const log = kernel.log.lines.join('\n');
  t.regex(log, /xbd0: backend offers: ring pages 2, requests 64, segments 11, request size 45056\n/);
  t.regex(log, /xbd0: reducing to the backend's limits: requests 256 -> 64, segments 33 -> 11, request size 131072 -> 45056/);
  const data = pattern(MiB, 11);
  await xvda.write(0, data);
  t.deepEqual(new Uint8Array(readFileSync(img.path).subarray(0, MiB)), data);
  t.is(xvda.info().maxRequestBytes, 45056);
  t.is(xvda.info().stats.writes, Math.ceil(MiB / 45056), 'requests of at most 11 pages');
});

test('against a backend of the original protocol, which publishes no maxima: the original values, a plain ring-ref, and I/O works', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  const img = scratchImage(MiB);
  t.teardown(async () => {
    await tm.dispose();
    img.dispose();
  });
  tm.m.dom0.blkback.tunables = { ...tm.m.dom0.blkback.tunables, maxRingPageOrder: 0, maxIndirectSegments: 0, publish: 'none', persistent: false };
  const spec = { frontDomid: domid, backDomid: 0, vdev: 51712, target: img.path };
  const xvda = await attachDisk(tm, kernel, spec, 'xvda');
  for (const key of ['max-ring-pages', 'max-requests', 'max-request-segments', 'max-request-size', 'max-ring-page-order', 'feature-max-indirect-segments']) {
    t.is(await readNode(tm.xs, `${backPath(spec)}/${key}`), undefined, key);
  }
  const fe = frontPath(spec);
  t.truthy(await readNode(tm.xs, `${fe}/ring-ref`));
  t.is(await readNode(tm.xs, `${fe}/ring-ref0`), undefined);
  t.is(await readNode(tm.xs, `${fe}/ring-page-order`), '0');
  t.is(await readNode(tm.xs, `${fe}/num-ring-pages`), '1');
  t.is(await readNode(tm.xs, `${fe}/max-requests`), '32');
  t.is(await readNode(tm.xs, `${fe}/max-request-segments`), '11');
  t.regex(
    kernel.log.lines.join('\n'),
    /xbd0: backend offers: ring pages 1 \(not published: the original protocol's\), requests 32 \(not published: the original protocol's\), segments 11 \(not published: the original protocol's\), request size 45056 \(not published: the original protocol's\)/,
  );
  const data = pattern(200 * 1024, 12);
  await xvda.write(8192, data);
  t.deepEqual(await xvda.read(8192, 200 * 1024), data);
});

test('a frontend that does not wait for InitWait still gets served', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  const img = scratchImage(MiB);
  t.teardown(async () => {
    await tm.dispose();
    img.dispose();
  });
  kernel.blkfront.tunables = { skipInitWait: true, persistent: true };
  const spec = { frontDomid: domid, backDomid: 0, vdev: 768, target: img.path };
  const hda = await attachDisk(tm, kernel, spec, 'hda');
  t.regex(kernel.log.lines.join('\n'), /xbd0: hda \(virtual-device 768\)/);
  const data = pattern(64 * 1024, 4);
  await hda.write(4096, data);
  t.deepEqual(await hda.read(4096, 64 * 1024), data);
  t.deepEqual(new Uint8Array(readFileSync(img.path).subarray(4096, 4096 + 64 * 1024)), data);
});

test('disks are named from virtual-device as Linux numbers them', (t) => {
  const names = [51712, 51728, 51713, 768, 769, 5632, 2048, 2064, 2049, 16640, (1 << 28) | (26 << 8), (1 << 28) | (701 << 8) | 3, 202 << 8 | 255].map((v) => vbdName(v)?.name);
  t.deepEqual(names, ['xvda', 'xvdb', 'xvda1', 'hda', 'hda1', 'hdc', 'sda', 'sdb', 'sda1', 'sdq', 'xvdaa', 'xvdzz3', 'xvdp15']);
  t.is(vbdName(0x1234), undefined, 'major 18 is no disk');
});
