/**
 * Disks of every shape, served from dom0 or from a driver domain: 4096-byte sectors,
 * a copy between two disks through two rings, flush and barrier, read-only disks,
 * a failed hotplug script, an unplug with requests in flight.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { XenbusState } from '../../../src/abi/index.js';
import { BlockIoError } from '../../../src/kernel/blk/block-layer.js';
import { until, yamlConfig } from '../../helpers/machine.js';
import { addVbd, attachDisk, backPath, frontPath, machineWithGuest, pattern, readNode, readState, removeVbd, runHotplug, scratchImage } from './helpers.js';

const MiB = 1024 * 1024;

test('a disk of 4096-byte sectors: sectors count 4 KiB units, I/O must be 4 KiB aligned, and aligned I/O lands', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  const img = scratchImage(4 * MiB);
  t.teardown(async () => {
    await tm.dispose();
    img.dispose();
  });
  const spec = { frontDomid: domid, backDomid: 0, vdev: 51712, target: img.path, sectorSize: 4096 };
  const xvda = await attachDisk(tm, kernel, spec, 'xvda');
  t.is(await readNode(tm.xs, `${backPath(spec)}/sector-size`), '4096');
  t.is(await readNode(tm.xs, `${backPath(spec)}/sectors`), String((4 * MiB) / 4096));
  t.is(xvda.info().sectorSize, 4096);
  await t.throwsAsync(xvda.write(512, new Uint8Array(4096)), { instanceOf: BlockIoError, message: /not aligned to the 4096-byte sector size/ });
  const data = pattern(3 * 4096, 7);
  await xvda.write(3 * 4096, data);
  t.deepEqual(new Uint8Array(readFileSync(img.path).subarray(3 * 4096, 6 * 4096)), data);
  t.deepEqual(await xvda.read(3 * 4096, 3 * 4096), data);
});

test('a copy from one disk to another through two rings is identical, and flush and barrier complete', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  const src = scratchImage(pattern(2 * MiB, 3), 'a.img');
  const dst = scratchImage(2 * MiB, 'b.img');
  t.teardown(async () => {
    await tm.dispose();
    src.dispose();
    dst.dispose();
  });
  const a = await attachDisk(tm, kernel, { frontDomid: domid, backDomid: 0, vdev: 51712, target: src.path, mode: 'r' }, 'xvda');
  const b = await attachDisk(tm, kernel, { frontDomid: domid, backDomid: 0, vdev: 51728, target: dst.path }, 'xvdb');
  t.true(a.info().readOnly);
  await t.throwsAsync(a.write(0, new Uint8Array(512)), { code: 'EROFS' });
  const chunk = 256 * 1024;
  for (let at = 0; at < 2 * MiB; at += chunk) await b.write(at, await a.read(at, chunk));
  await b.flush();
  await b.barrier(0, pattern(4096, 9));
  t.deepEqual(readFileSync(dst.path).subarray(4096), readFileSync(src.path).subarray(4096));
  t.deepEqual(new Uint8Array(readFileSync(dst.path).subarray(0, 4096)), pattern(4096, 9));
  t.like(b.info().stats, { flushes: 1, barriers: 1, errors: 0 });
  const back = tm.m.dom0.blkback.devices().find((d) => d.node.endsWith('/51728'))!;
  t.like(back.stats, { fReq: 2, rdReq: 0, errors: 0 });
  t.is(back.stats.wrSect, (2 * MiB + 4096) / 512);
});

test('the backend\'s interrupt source is a filter (its work runs on a taskqueue); the frontend\'s is an interrupt thread', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  const img = scratchImage(MiB);
  t.teardown(async () => {
    await tm.dispose();
    img.dispose();
  });
  await attachDisk(tm, kernel, { frontDomid: domid, backDomid: 0, vdev: 51712, target: img.path }, 'xvda');
  t.is(tm.m.dom0.intr.sources().find((s) => s.name === 'xbbd0')?.handlerKind, 'filter');
  t.is(kernel.intr.sources().find((s) => s.name === 'xbd0')?.handlerKind, 'ithread');
});

test('a failed hotplug script fails the device with its message, and the frontend is not left waiting', async (t) => {
  const { tm, domid } = await machineWithGuest();
  const img = scratchImage(MiB);
  t.teardown(async () => {
    await tm.dispose();
    img.dispose();
  });
  const spec = { frontDomid: domid, backDomid: 0, vdev: 51712, target: img.path };
  await addVbd(tm.xs, spec);
  await runHotplug(tm.xs, spec, { error: '/dev/loop7 does not exist' });
  await until(async () => (await readState(tm.xs, frontPath(spec))) === XenbusState.Closed, 'frontend closed');
  await until(async () => (await readState(tm.xs, backPath(spec))) === XenbusState.Closed, 'backend closed after the frontend');
  t.is(await readNode(tm.xs, `/local/domain/0/error/backend/vbd/${domid}/51712/error`), '19 hotplug script failed: /dev/loop7 does not exist');
});

test('a target that cannot be opened read-write fails the device with an error node naming it', async (t) => {
  const { tm, domid } = await machineWithGuest();
  const spec = { frontDomid: domid, backDomid: 0, vdev: 51712, target: '/nonexistent/disk.img' };
  t.teardown(() => tm.dispose());
  await addVbd(tm.xs, spec);
  await runHotplug(tm.xs, spec);
  await until(async () => (await readState(tm.xs, backPath(spec))) === XenbusState.Closing, 'backend closing');
  t.regex((await readNode(tm.xs, `/local/domain/0/error/backend/vbd/${domid}/51712/error`)) ?? '', /^19 opening backend: \/nonexistent\/disk.img: ENOENT/);
});

test('an unplug with requests in flight: each finishes or fails cleanly, what finished is in the file, and no grant or mapping is left', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  const img = scratchImage(16 * MiB);
  t.teardown(async () => {
    await tm.dispose();
    img.dispose();
  });
  const spec = { frontDomid: domid, backDomid: 0, vdev: 51712, target: img.path };
  const handlesBefore = tm.m.hv.get(0).grantTable!.liveHandles().length;
  const xvda = await attachDisk(tm, kernel, spec, 'xvda');
  const chunk = 128 * 1024;
  const writes = Array.from({ length: 128 }, (_, i) => xvda.write(i * chunk, pattern(chunk, 100 + i)));
  const unplug = removeVbd(tm.xs, spec);
  const results = await Promise.allSettled(writes);
  await unplug;
  const file = readFileSync(img.path);
  let ok = 0;
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') {
      ok++;
      t.deepEqual(new Uint8Array(file.subarray(i * chunk, (i + 1) * chunk)), pattern(chunk, 100 + i), `write ${i} is in the file`);
    } else {
      t.true(r.reason instanceof BlockIoError && r.reason.code === 'ENODEV', String(r.reason));
    }
  });
  t.true(ok > 0, 'requests already on the ring were served before the backend closed');
  await until(() => tm.m.dom0.blkback.devices().length === 0 && kernel.blkfront.limits().length === 0, 'both ends detached');
  t.is(kernel.blocks.find('xvda'), undefined);
  t.is(tm.m.hv.get(0).grantTable!.liveHandles().length, handlesBefore, 'dom0 maps nothing of the guest beyond its rings');
  t.is(kernel.gnttab.deferredCount, 0, 'every grant ended');
});

test('a driver domain serves a guest\'s disk: its back bus, its grant mappings, its event channel; dom0 only wrote the nodes', async (t) => {
  const { tm, domid: guest, kernel } = await machineWithGuest();
  const img = scratchImage(2 * MiB);
  t.teardown(async () => {
    await tm.dispose();
    img.dispose();
  });
  const dd = await tm.m.toolstack.create(yamlConfig('name: dd\nmemory: 64\ntype: hvm\n'));
  await until(() => tm.m.toolstack.kernel(dd.domid)?.state === 'running', 'driver domain running');
  const ddKernel = tm.m.toolstack.kernel(dd.domid)!;
  const dom0Handles = tm.m.hv.get(0).grantTable!.liveHandles().length;
  const spec = { frontDomid: guest, backDomid: dd.domid, vdev: 51712, target: img.path };
  const xvda = await attachDisk(tm, kernel, spec, 'xvda');
  const data = pattern(512 * 1024, 5);
  await xvda.write(MiB, data);
  t.deepEqual(new Uint8Array(readFileSync(img.path).subarray(MiB, MiB + 512 * 1024)), data);
  t.is(ddKernel.blkback.devices().length, 1);
  t.is(tm.m.dom0.blkback.devices().length, 0, 'dom0 serves nothing');
  t.is(tm.m.hv.get(0).grantTable!.liveHandles().length, dom0Handles, 'dom0 mapped nothing of the disk');
  t.true(tm.m.hv.get(dd.domid).grantTable!.liveHandles().length >= 1, 'the driver domain maps the ring');
  t.is(ddKernel.intr.sources().find((s) => s.name === 'xbbd0')?.handlerKind, 'filter');
});

test('a guest destroyed with requests in flight: the backend finishes them, lets go when its node goes, and the guest\'s memory is freed', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  const img = scratchImage(8 * MiB);
  t.teardown(async () => {
    await tm.dispose();
    img.dispose();
  });
  const spec = { frontDomid: domid, backDomid: 0, vdev: 51712, target: img.path };
  const xvda = await attachDisk(tm, kernel, spec, 'xvda');
  const writes = Array.from({ length: 32 }, (_, i) => xvda.write(i * 128 * 1024, pattern(128 * 1024, i)).catch(() => 'failed'));
  await tm.m.toolstack.destroy(domid);
  // libxl removes the backend's directory of a destroyed domain's devices.
  await tm.xs.rm(`/local/domain/0/backend/vbd/${domid}`);
  await until(() => tm.m.dom0.blkback.devices().length === 0, 'the backend detached');
  await Promise.race([Promise.allSettled(writes), new Promise((r) => setImmediate(r))]);
  await until(() => !tm.m.hv.dying.has(domid), 'nothing of the guest is mapped any more');
  t.is(tm.m.dom0.state, 'running');
  t.is(tm.m.hv.get(0).grantTable!.liveHandles().length, 0, 'dom0 maps nothing of it');
});

test('a cdrom is served read-only: info says VDISK_CDROM | VDISK_READONLY and writes are refused', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  const img = scratchImage(pattern(MiB, 8));
  t.teardown(async () => {
    await tm.dispose();
    img.dispose();
  });
  const spec = { frontDomid: domid, backDomid: 0, vdev: 5632, target: img.path, deviceType: 'cdrom' as const, mode: 'r' as const };
  const hdc = await attachDisk(tm, kernel, spec, 'hdc');
  t.is(await readNode(tm.xs, `${backPath(spec)}/info`), '5');
  t.true(hdc.info().readOnly);
  t.regex(kernel.log.lines.join('\n'), /xbd0: hdc: 1048576 bytes \(2048 512-byte sectors\), read-only, cdrom/);
  t.deepEqual(await hdc.read(4096, 4096), pattern(MiB, 8).subarray(4096, 8192));
  await t.throwsAsync(hdc.write(0, new Uint8Array(512)), { code: 'EROFS' });
});

test('an empty cdrom drive (params "") connects with no medium: 0 sectors, VDISK_CDROM | VDISK_REMOVABLE | VDISK_READONLY', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  t.teardown(() => tm.dispose());
  const spec = { frontDomid: domid, backDomid: 0, vdev: 5632, target: '', deviceType: 'cdrom' as const, mode: 'r' as const };
  const hdc = await attachDisk(tm, kernel, spec, 'hdc');
  t.is(await readState(tm.xs, backPath(spec)), XenbusState.Connected);
  t.is(await readNode(tm.xs, `${backPath(spec)}/info`), '7');
  t.is(await readNode(tm.xs, `${backPath(spec)}/sectors`), '0');
  t.is(hdc.sizeBytes, 0);
  t.true(hdc.info().readOnly);
  await t.throwsAsync(hdc.read(0, 512));
});

test('an empty params on a disk (not a cdrom) still fails the device with an error node', async (t) => {
  const { tm, domid } = await machineWithGuest();
  t.teardown(() => tm.dispose());
  const spec = { frontDomid: domid, backDomid: 0, vdev: 51712, target: '' };
  await addVbd(tm.xs, spec);
  await runHotplug(tm.xs, spec);
  const error = `/local/domain/0/error/backend/vbd/${domid}/51712/error`;
  await until(async () => (await tm.xs.read(error).then(() => true, () => false)), 'the error node');
  t.regex((await tm.xs.read(error)).toString(), /no params/);
});
