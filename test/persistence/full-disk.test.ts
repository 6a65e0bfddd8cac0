import test from 'ava';
import { StorePersistence } from '../../src/host/db/index.js';
import { HEADER_SIZE } from '../../src/host/db/journal-codec.js';
import type { Change } from '../../src/xenstore/store.js';
import { FillableDisk, openStore, reload, tempDir } from './helpers.js';

const set = (path: string, value: string): Change => ({ op: 'set', path, value, perms: 'n0' });

/** Resolves after `ms` of real time: the hand-off timer has to get its chance to fire. */
const after = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('a full disk fails the flush, not the process: the hand-off timer leaves it to the next flush and the bytes wait for space', async (t) => {
  const dir = tempDir(t);
  const disk = new FillableDisk();
  const errors: Error[] = [];
  const store = openStore(t, dir, { write: disk.write, handOffMs: 5, onError: (err) => errors.push(err) });
  store.append([set('/a', 'written')]);
  store.flush(); // arms the hand-off timer
  disk.full = true;
  store.append([set('/b', 'waits')]);
  t.throws(() => store.flush(), { code: 'ENOSPC' });
  // Before, this timer's Journal.flush threw ENOSPC uncaught and took the daemon down.
  await after(50);
  t.true(disk.refused >= 2, 'the timer tried too');
  t.deepEqual(errors, [], 'said once, by the flush that failed, not again by the timer');
  t.throws(() => store.flush(), { code: 'ENOSPC' });

  disk.full = false;
  store.flush();
  await store.close();
  const { records } = await reload(dir);
  const values = new Map(records.map((r) => [r.path, r.value]));
  t.is(values.get('/a'), 'written');
  t.is(values.get('/b'), 'waits', 'the queued change is written once space returns');
});

test('closing on a full disk rejects with the write error after closing everything', async (t) => {
  const dir = tempDir(t);
  const disk = new FillableDisk();
  // Not openStore: its teardown would close again and see the same rejection.
  const store = StorePersistence.open(dir, { write: disk.write });
  store.append([set('/a', 'kept')]);
  store.flush();
  disk.full = true;
  store.append([set('/b', 'never acknowledged')]);
  await t.throwsAsync(store.close(), { code: 'ENOSPC' });
  const { records } = await reload(dir);
  const values = new Map(records.map((r) => [r.path, r.value]));
  t.is(values.get('/a'), 'kept');
  t.false(values.has('/b'));
});

test('a rotation that cannot write its new file is retried at a later flush, not stuck on the half-made file', async (t) => {
  const dir = tempDir(t);
  const disk = new FillableDisk();
  const errors: Error[] = [];
  const store = openStore(t, dir, { write: disk.write, rotateBytes: 64, onError: (err) => errors.push(err) });
  // The frame fits; journal.2's header (HEADER_SIZE bytes) does not.
  disk.refuseIf = (length) => length === HEADER_SIZE;
  store.append([set('/a', 'x'.repeat(100))]);
  store.flush();
  t.is(errors.length, 1);
  t.is(store.stats().journalSeq, 1, 'still appending to journal.1');
  disk.refuseIf = null;
  store.append([set('/b', 'y'.repeat(100))]);
  store.flush();
  t.is(store.stats().journalSeq, 2, 'rotated once the header could be written');
  await store.close();
  const { records } = await reload(dir);
  t.deepEqual(records.filter((r) => r.path !== '/').map((r) => r.path).sort(), ['/a', '/b']);
});
