import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeviceClient } from '../../src/client/devices.js';
import { xlHost, type XlHost } from '../cli-xl/helpers.js';

// A disk detached and attached again at once, many times. Two races made the detach wait
// 10 s for a Closed that never came, and fail:
// - the nodes are removed and written again before the guest's XenBus bus has seen them
//   go; the bus must take the new nodes for a new device (which its frontend then
//   connects), not for the old one it had closed (1 round in 3 failed before 4a72f90);
// - the detach's Closing, written while blkback was still connecting, was overwritten by
//   its Connected, so the frontend never closed (3 rounds in 1,000 before the fix in
//   XenbusDevice.setState; 0 in 8,000 after; test/kernel/xenbus.test.ts has its
//   deterministic test).
// No round may fail.

const ROUNDS = 500;

let h: XlHost;

test.before(async () => {
  h = await xlHost();
});

test.after.always(async () => {
  await h?.dispose();
});

test('attaching and detaching the same disk back to back never leaves the detach waiting', async (t) => {
  const img = join(h.host.paths.home, 'd.img');
  writeFileSync(img, Buffer.alloc(1 << 20));
  const cfg = join(h.host.paths.home, 'g.yaml');
  writeFileSync(cfg, 'name: g\nmemory: 128\n');
  const created = await h.xenemu('create', cfg);
  t.is(created.code, 0, created.stderr);
  await h.until((rows) => rows.some((r) => r.name === 'g' && r.stateFlags.blocked), 'g running');
  const devices = new DeviceClient((await h.client()).rpc);
  const failed: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await devices.blockAttach('g', { target: img, vdev: 'xvdb', access: 'rw' });
    try {
      await devices.blockDetach('g', 'xvdb', false);
    } catch (err) {
      failed.push(`round ${round}: ${(err as Error).message}`);
      await devices.blockDetach('g', 'xvdb', true);
    }
  }
  t.deepEqual(failed, [], `${failed.length} of ${ROUNDS} detaches failed`);
  // And the disk still works after all that: attached once more, the guest connects it.
  await devices.blockAttach('g', { target: img, vdev: 'xvdb', access: 'rw' });
  const disks = await h.disksConnected('g');
  t.deepEqual(disks.map((d) => d.vdev), ['xvdb']);
});
