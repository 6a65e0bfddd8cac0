import test from 'ava';
import { readFileSync } from 'node:fs';
import { XenbusState } from '../../src/abi/index.js';
import type { FaultSpec } from '../../src/faults/registry.js';
import { until } from '../helpers/machine.js';
import { attachDisk, backPath, frontPath, machineWithGuest, pattern, readNode, readState, scratchImage } from '../kernel/blk/helpers.js';

const KiB = 1024;

async function guestWithDisk() {
  const g = await machineWithGuest();
  const img = scratchImage(1024 * KiB);
  const spec = { frontDomid: g.domid, backDomid: 0, vdev: 51712, target: img.path };
  const xvda = await attachDisk(g.tm, g.kernel, spec, 'xvda');
  const add = (s: Partial<FaultSpec> & Pick<FaultSpec, 'kind'>) =>
    g.tm.m.faults.add({ target: { domid: g.domid, name: 'g' }, probability: 1, count: null, durationMs: null, seed: 1, options: {}, ...s });
  return { ...g, img, spec, xvda, add, dispose: async () => { await g.tm.dispose(); img.dispose(); } };
}

test('disk-error fails the requests touching its sectors with BLKIF_RSP_ERROR and leaves the image as it was; the rest of the disk works', async (t) => {
  const g = await guestWithDisk();
  t.teardown(g.dispose);
  const fault = g.add({ kind: 'disk-error', options: { vdev: 'xvda', sectors: '16-23' } });
  const data = pattern(4 * KiB, 3);
  await t.throwsAsync(g.xvda.write(8 * KiB, data), { message: /I\/O error|EIO|error/i });
  t.true(readFileSync(g.img.path).subarray(8 * KiB, 12 * KiB).every((b) => b === 0), 'nothing reached the image');
  await g.xvda.write(16 * KiB, data);
  t.deepEqual(await g.xvda.read(16 * KiB, 4 * KiB), data, 'outside the range: served');
  t.true(fault.fired >= 1);
  const back = g.tm.m.dom0.blkback.devices().find((d) => d.node.endsWith('/51712'))!;
  t.true(back.stats.errors >= 1, 'the backend counts the failures');
  g.tm.m.faults.clear(fault.id);
  await g.xvda.write(8 * KiB, data);
  t.deepEqual(new Uint8Array(readFileSync(g.img.path).subarray(8 * KiB, 12 * KiB)), data, 'cleared: the same write lands');
});

test('disk-error on another vdev or another domain leaves this disk alone', async (t) => {
  const g = await guestWithDisk();
  t.teardown(g.dispose);
  const other = g.add({ kind: 'disk-error', options: { vdev: 'xvdb' } });
  await g.xvda.write(0, pattern(4 * KiB, 1));
  t.is(other.fired, 0);
});

test('disk-slow holds each request\'s I/O for its delay, and the data is right', async (t) => {
  const g = await guestWithDisk();
  t.teardown(g.dispose);
  // The kernels' clock timers do not hold the event loop open (the daemon's sockets do): this does.
  const keepAlive = setInterval(() => {}, 1000);
  t.teardown(() => clearInterval(keepAlive));
  const fault = g.add({ kind: 'disk-slow', options: { delayMs: 30 } });
  const data = pattern(8 * KiB, 5);
  const started = process.hrtime.bigint();
  await g.xvda.write(0, data);
  t.true(process.hrtime.bigint() - started >= 30_000_000n, 'at least the delay');
  t.deepEqual(await g.xvda.read(0, 8 * KiB), data);
  t.true(fault.fired >= 2);
});

test('backend-die: the backend writes its error node and goes Closing, and the guest\'s blkfront lets the disk go', async (t) => {
  const g = await guestWithDisk();
  t.teardown(g.dispose);
  const fault = g.add({ kind: 'backend-die', count: 1, options: { vdev: 'xvda' } });
  await until(async () => (await readState(g.tm.xs, backPath(g.spec))) === XenbusState.Closing, 'backend Closing');
  // xenbus_dev_error's node: error/<the device's node> in the backend domain's home.
  t.is(await readNode(g.tm.xs, `/local/domain/0/error/${backPath(g.spec).slice('/local/domain/0/'.length)}/error`), `5 xenemu fault ${fault.id}: backend-die`);
  await until(async () => (await readState(g.tm.xs, frontPath(g.spec))) >= XenbusState.Closing, 'frontend closing');
  t.is(fault.fired, 1);
  t.is(g.tm.m.faults.size, 0, 'it happens once');
});
