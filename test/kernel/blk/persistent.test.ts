/**
 * feature-persistent: when both ends offer it, the frontend grants each page once and
 * the backend keeps it mapped, so a request after the first makes no grant and no
 * grant map; when either end does not, both fall back to a grant and a mapping per
 * request; the mappings and grants end with the connection.
 */
import test from 'ava';
import type { Kernel } from '../../../src/kernel/kernel.js';
import { attachDisk, machineWithGuest, pattern, removeVbd, scratchImage } from './helpers.js';
import { until } from '../../helpers/machine.js';

const MiB = 1024 * 1024;

/** Count the guest's grants made and dom0's grant maps (pages), by wrapping the two calls. */
function countGrants(guest: Kernel, dom0: Kernel): { grants: number; maps: number } {
  const n = { grants: 0, maps: 0 };
  const grant = guest.gnttab.grantForeignAccess.bind(guest.gnttab);
  guest.gnttab.grantForeignAccess = (...args) => {
    n.grants++;
    return grant(...args);
  };
  const map = dom0.hc.gnttabMapGrantRef.bind(dom0.hc);
  dom0.hc.gnttabMapGrantRef = (ops) => {
    n.maps += ops.length;
    return map(ops);
  };
  return n;
}

async function setup(t: import('ava').ExecutionContext, front: boolean, back: boolean) {
  const { tm, domid, kernel } = await machineWithGuest();
  const img = scratchImage(4 * MiB);
  t.teardown(async () => {
    await tm.dispose();
    img.dispose();
  });
  kernel.blkfront.tunables = { ...kernel.blkfront.tunables, persistent: front };
  tm.m.dom0.blkback.tunables = { ...tm.m.dom0.blkback.tunables, persistent: back };
  const spec = { frontDomid: domid, backDomid: 0, vdev: 51712, target: img.path };
  const unattached = tm.m.hv.get(0).grantTable!.liveHandles().length;
  // Frames free before the disk: its ring, indirect pages, queue and program buffers all come on top.
  const freeFrames = kernel.pageAllocator.free;
  const xvda = await attachDisk(tm, kernel, spec, 'xvda');
  return { tm, kernel, spec, xvda, unattached, freeFrames, count: countGrants(kernel, tm.m.dom0) };
}

test('both ends offer feature-persistent: negotiated; the second 1 MiB write and read make no grant and no grant map; all of it ends at the unplug', async (t) => {
  const { tm, kernel, spec, xvda, unattached, freeFrames, count } = await setup(t, true, true);
  t.true(kernel.blkfront.limits()[0]!.limits!.persistent, 'the frontend uses persistent grants');
  t.like(tm.m.dom0.blkback.devices()[0], { persistent: true });
  const handlesBefore = tm.m.hv.get(0).grantTable!.liveHandles().length;
  const data = pattern(MiB, 3);
  await xvda.write(0, data);
  t.deepEqual(await xvda.read(0, MiB), data);
  const first = { ...count };
  t.true(first.grants > 0 && first.maps > 0, 'the first requests grant and map their pages');
  const kept = tm.m.dom0.blkback.devices()[0]!.persistentGrants;
  t.true(kept > 0 && kept <= first.maps, `${kept} grants stay mapped`);
  t.is(tm.m.hv.get(0).grantTable!.liveHandles().length, handlesBefore + kept, 'the kept mappings are dom0\'s only new ones');
  const again = pattern(MiB, 4);
  await xvda.write(MiB, again);
  t.deepEqual(await xvda.read(MiB, MiB), again);
  t.deepEqual(count, first, 'the same buffers again: no new grant, no new map');
  t.is(tm.m.dom0.blkback.devices()[0]!.persistentGrants, kept);
  await removeVbd(tm.xs, spec);
  t.is(tm.m.hv.get(0).grantTable!.liveHandles().length, unattached, 'the persistent mappings went with the ring\'s');
  // The block layer let go of its buffers while the backend still mapped them: their
  // grants were deferred, and their frames kept until the deferred end succeeds.
  // The ring and its indirect pages go when the frontend sees the backend Closed, or its device removed: whichever comes first.
  await until(() => {
    kernel.gnttab.retryDeferred();
    return kernel.pageAllocator.free === freeFrames;
  }, 'every frame of the disk back');
  t.is(kernel.gnttab.deferredCount, 0, 'every grant ended');
  t.is(kernel.pageAllocator.free, freeFrames, 'and every queue buffer frame went back once its grant ended');
});

for (const [front, back] of [[true, false], [false, true]] as const) {
  test(`only the ${front ? 'frontend' : 'backend'} offers feature-persistent: a grant and a map per request, as before`, async (t) => {
    const { tm, kernel, xvda, count } = await setup(t, front, back);
    t.false(kernel.blkfront.limits()[0]!.limits!.persistent);
    t.like(tm.m.dom0.blkback.devices()[0], { persistent: false, persistentGrants: 0 });
    const handlesBefore = tm.m.hv.get(0).grantTable!.liveHandles().length;
    const data = pattern(MiB, 5);
    await xvda.write(0, data);
    const first = { ...count };
    t.deepEqual(await xvda.read(0, MiB), data);
    t.is(count.grants - first.grants, first.grants, 'the read granted as many pages again');
    t.is(count.maps - first.maps, first.maps, 'and the backend mapped them again');
    t.is(tm.m.hv.get(0).grantTable!.liveHandles().length, handlesBefore, 'nothing stays mapped');
  });
}
