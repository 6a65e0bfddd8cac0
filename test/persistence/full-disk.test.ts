import test from 'ava';
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { StorePersistence } from '../../src/host/db/index.js';
import { SqliteStore } from '../../src/host/db/sqlite-store.js';
import { HEADER_SIZE } from '../../src/host/db/journal-codec.js';
import type { Change } from '../../src/xenstore/store.js';
import { fill, mountTmpfs, tmpfsProblem, unmount } from '../helpers/tmpfs.js';
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

const sqliteTitle = 'a SQLite writer that failed on a full disk is started again once space returns, and applies what it missed';
// SQLite's own writes have no seam: this one needs a real full file system.
(tmpfsProblem === null ? test : test.skip)(tmpfsProblem === null ? sqliteTitle : `${sqliteTitle} (skipped: ${tmpfsProblem})`, async (t) => {
  const mounted = mountTmpfs('2m');
  if ('problem' in mounted) throw new Error(mounted.problem);
  t.teardown(() => unmount(mounted.dir));
  const dir = join(mounted.dir, 'store');
  const errors: Error[] = [];
  const store = StorePersistence.open(dir, { handOffMs: 1, onError: (err) => errors.push(err) });
  t.teardown(() => store.close().catch(() => {}));
  for (const _ of store.loadRecords());
  const filler = join(mounted.dir, 'filler');
  fill(filler);

  // The journal's first page still has room; SQLite's files do not.
  store.append([set('/a', 'during')]);
  store.flush();
  await eventually(() => store.stats().writer.startsWith('failed'), 'the writer fails');
  t.regex(store.stats().writer, /^failed: SQLite writer failed: SQLITE_/, 'says what SQLite said');

  unlinkSync(filler);
  store.append([set('/b', 'after')]);
  store.flush();
  const end = await store.sync();
  t.is(store.stats().writer, 'running');
  t.deepEqual(end, { seq: store.stats().journalSeq, offset: store.stats().journalBytes }, 'SQLite has everything');
  t.is(errors.length, 1, 'the failure is reported once');
  await store.close();
  // SQLite itself holds both changes (read without the journal recovery would replay).
  const again = SqliteStore.open(join(dir, 'xenstore.db'));
  const values = new Map([...again.nodes()].map((r) => [r.path, r.value]));
  again.db.close();
  t.is(values.get('/a'), 'during');
  t.is(values.get('/b'), 'after');
});

async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (check()) return;
    await after(10);
  }
  throw new Error(`never happened: ${what}`);
}
