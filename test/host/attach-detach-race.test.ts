import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeviceClient } from '../../src/client/devices.js';
import { xlHost, type XlHost } from '../cli-xl/helpers.js';

// A disk detached and attached again at once: its nodes are removed and written again
// before the guest's XenBus bus has seen them go. The bus must take the new nodes for a
// new device (which its frontend then connects), not for the old one it had closed:
// otherwise the new frontend is never probed, and the next detach waits 10 s for a
// Closed that never comes. Each round failed 1 time in 3 before that.

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
  for (let round = 0; round < 20; round++) {
    await devices.blockAttach('g', { target: img, vdev: 'xvdb', access: 'rw' });
    await t.notThrowsAsync(devices.blockDetach('g', 'xvdb', false), `round ${round}`);
  }
  // And the disk still works after all that: attached once more, the guest connects it.
  await devices.blockAttach('g', { target: img, vdev: 'xvdb', access: 'rw' });
  const disks = await h.disksConnected('g');
  t.deepEqual(disks.map((d) => d.vdev), ['xvdb']);
});
