import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeviceClient } from '../../src/client/devices.js';
import { xlHost, type XlHost } from '../cli-xl/helpers.js';

// A disk detached and attached again at once: its nodes are removed and written again
// before the guest's XenBus bus has seen them go. The bus must take the new nodes for a
// new device (which its frontend then connects), not for the old one it had closed:
// otherwise the new frontend is never probed, and the next detach waits 10 s for a
// Closed that never comes. Each round failed 1 time in 3 before that. A rarer race is
// left (about 1 round in 40 on a loaded machine, not found yet): at most 2 rounds of 20
// may fail, where the bug this guards against fails ~7.

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
  for (let round = 0; round < 20; round++) {
    await devices.blockAttach('g', { target: img, vdev: 'xvdb', access: 'rw' });
    try {
      await devices.blockDetach('g', 'xvdb', false);
    } catch (err) {
      failed.push(`round ${round}: ${(err as Error).message}`);
      await devices.blockDetach('g', 'xvdb', true);
    }
  }
  t.log(`${failed.length} of 20 detaches failed`, failed);
  t.true(failed.length <= 2, failed.join('\n'));
  // And the disk still works after all that: attached once more, the guest connects it.
  await devices.blockAttach('g', { target: img, vdev: 'xvdb', access: 'rw' });
  const disks = await h.disksConnected('g');
  t.deepEqual(disks.map((d) => d.vdev), ['xvdb']);
});
