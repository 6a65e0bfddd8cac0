/**
 * Tearing a disk down. A backend stopped while its hotplug step is still opening the
 * image (the kernel's domain destroyed, the daemon stopping): the store that opens
 * afterwards is closed at once, not left to the garbage collector (Node's DEP0137,
 * "Closing a FileHandle object on garbage collection"). A frontend closing at an unplug
 * says so before it frees what it published.
 */
import test from 'ava';
import { XenbusState } from '../../../src/abi/index.js';
import type { BackingStore } from '../../../src/kernel/blk/backing-store.js';
import { until } from '../../helpers/machine.js';
import { addVbd, attachDisk, frontPath, machineWithGuest, removeVbd, runHotplug, scratchImage, stateAtEachUnbind } from './helpers.js';

test('a store that finishes opening after its backend stopped is closed, not kept or leaked', async (t) => {
  const { tm, domid } = await machineWithGuest();
  t.teardown(() => tm.dispose());
  let closes = 0;
  const store: BackingStore = {
    path: '/slow',
    kind: 'file',
    sizeBytes: 1024 * 1024,
    readOnly: false,
    readv: async () => {},
    writev: async () => {},
    flush: async () => {},
    close: async () => {
      closes++;
    },
  };
  let finishOpen: (() => void) | null = null;
  const blkback = tm.m.dom0.blkback;
  blkback.openStore = () => new Promise<BackingStore>((resolve) => (finishOpen = () => resolve(store)));
  const spec = { frontDomid: domid, backDomid: 0, vdev: 51712, target: '/slow' };
  await addVbd(tm.xs, spec);
  await runHotplug(tm.xs, spec);
  await until(async () => finishOpen !== null, 'blkback opens the store');
  blkback.stopAll();
  finishOpen!();
  await until(async () => closes > 0, 'the store opened after the stop is closed');
  t.is(closes, 1);
  t.deepEqual(blkback.devices(), [], 'and no device is served');
});

test('at an unplug, blkfront writes Closed before it frees the event channel it published: a backend still acting on its Initialised never binds a freed port', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  t.teardown(() => tm.dispose());
  const img = scratchImage(1024 * 1024);
  t.teardown(img.dispose);
  const spec = { frontDomid: domid, backDomid: 0, vdev: 51712, target: img.path };
  await attachDisk(tm, kernel, spec, 'xvda');
  const stateAtUnbind = stateAtEachUnbind(tm, kernel, `${frontPath(spec)}/state`);
  await removeVbd(tm.xs, spec);
  t.deepEqual(stateAtUnbind, [String(XenbusState.Closed)]);
});
