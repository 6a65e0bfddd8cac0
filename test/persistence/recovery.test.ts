import test from 'ava';
import { existsSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JournalEntry } from '../../src/host/db/journal-codec.js';
import { Journal, journalPath, listJournals } from '../../src/host/db/journal.js';
import { recover } from '../../src/host/db/recovery.js';
import { SqliteStore } from '../../src/host/db/sqlite-store.js';
import type { Change } from '../../src/xenstore/store.js';
import { ALL_BYTES, openStore, reload, tempDir } from './helpers.js';

/*
 * These tests write journal files the way a daemon that died before its SQLite worker
 * caught up would have left them, then damage them as a crash or a power cut can.
 */

const set = (path: string, value = path): Change => ({ op: 'set', path, value, perms: 'n0' });

/** Write journal.<seq> with one frame per group; returns the file size after each frame. */
function writeJournal(dir: string, seq: number, prevEnd: number, frames: JournalEntry[][]): number[] {
  const journal = Journal.create(dir, seq, prevEnd, 'write');
  const ends: number[] = [];
  for (const entries of frames) {
    journal.append(entries);
    journal.flush();
    ends.push(journal.size);
  }
  journal.close();
  return ends;
}

const paths = (records: Array<{ path: string }>): string[] => records.map((r) => r.path);

test('journal frames SQLite never saw are replayed at the next start', async (t) => {
  const dir = tempDir(t);
  writeJournal(dir, 1, 0, [[set('/a'), set('/a/b', ALL_BYTES)], [{ op: 'rm', path: '/a/b' }, set('/c')]]);
  const { records, store } = await reload(dir);
  t.deepEqual(records, [
    { path: '/a', value: '/a', perms: 'n0' },
    { path: '/c', value: '/c', perms: 'n0' },
  ]);
  t.like(store.recovery, { frames: 2, entries: 4, droppedBytes: 0 });
});

test('a torn tail is dropped and every frame before it is kept, wherever the tear is', async (t) => {
  const dir = tempDir(t);
  const ends = writeJournal(dir, 1, 0, [[set('/one')], [set('/two'), set('/two/x', ALL_BYTES)], [set('/three', 'last')]]);
  const full = readFileSync(journalPath(dir, 1));
  const lastStart = ends[1]!;
  // Every cut inside the last frame: in its length, its CRC, its body.
  for (let cut = lastStart; cut < full.length; cut++) {
    const caseDir = join(dir, `cut${cut}`);
    mkdirSync(caseDir);
    writeFileSync(journalPath(caseDir, 1), full.subarray(0, cut));
    const store = SqliteStore.open(join(caseDir, 'x.db'));
    const report = recover(caseDir, store);
    t.is(report.droppedBytes, cut - lastStart, `cut at ${cut}`);
    t.deepEqual(paths([...store.nodes()]), ['/one', '/two', '/two/x'], `cut at ${cut}`);
    store.db.close();
  }
});

test('a frame with a corrupt byte is dropped with everything after it', async (t) => {
  const dir = tempDir(t);
  const ends = writeJournal(dir, 1, 0, [[set('/keep')], [set('/bad')], [set('/after')]]);
  const bytes = readFileSync(journalPath(dir, 1));
  const at = ends[0]! + 12; // a byte in the second frame's body
  bytes[at] = bytes[at]! ^ 0x01;
  writeFileSync(journalPath(dir, 1), bytes);
  const { records, store } = await reload(dir);
  t.deepEqual(paths(records), ['/keep']);
  t.is(store.recovery.droppedBytes, ends[2]! - ends[0]!);
});

test('the recovered state is committed to SQLite, so the next start has nothing to replay', async (t) => {
  const dir = tempDir(t);
  writeJournal(dir, 1, 0, [[set('/a')]]);
  const first = await reload(dir);
  t.is(first.store.recovery.frames, 1);
  t.false(existsSync(journalPath(dir, 1)), 'replayed journal deleted');
  const second = await reload(dir);
  t.is(second.store.recovery.frames, 0);
  t.deepEqual(second.records, first.records);
});

test('replay continues into the next journal file when it starts where the last one ended', async (t) => {
  const dir = tempDir(t);
  const ends = writeJournal(dir, 1, 0, [[set('/a')], [set('/b')]]);
  writeJournal(dir, 2, ends[1]!, [[set('/c')]]);
  const { records, store } = await reload(dir);
  t.deepEqual(paths(records), ['/a', '/b', '/c']);
  t.is(store.recovery.ignoredFiles, 0);
  t.deepEqual(listJournals(dir), [store.recovery.resumeAt.seq]);
});

test('after a lost tail, a later journal file is not replayed on top of the gap', async (t) => {
  // A power cut without fsync: journal.2 reached the disk, the last frame of journal.1
  // did not. Replaying journal.2 would apply /b/c without /b.
  const dir = tempDir(t);
  const ends = writeJournal(dir, 1, 0, [[set('/a')], [set('/b')]]);
  writeJournal(dir, 2, ends[1]!, [[set('/b/c')]]);
  truncateSync(journalPath(dir, 1), ends[0]!);
  const { records, store } = await reload(dir);
  t.deepEqual(paths(records), ['/a']);
  t.is(store.recovery.ignoredFiles, 1);
});

test('a journal shorter than what SQLite applied leaves SQLite as it is and continues after it', async (t) => {
  // A power cut where SQLite's commit reached the disk and the journal's tail did not.
  const dir = tempDir(t);
  const store = openStore(t, dir);
  store.append([set('/a')]);
  await store.close();
  const seq = store.stats().journalSeq;
  const applied = statSync(journalPath(dir, seq)).size;
  truncateSync(journalPath(dir, seq), 16);
  writeJournal(dir, seq + 1, applied, [[set('/a/b')]]);
  const { records } = await reload(dir);
  t.deepEqual(paths(records), ['/a', '/a/b']);
});

test('a file that is not a journal stops the replay instead of being misread', async (t) => {
  const dir = tempDir(t);
  writeJournal(dir, 1, 0, [[set('/a')]]);
  writeFileSync(journalPath(dir, 2), 'not a journal at all');
  const { records, store } = await reload(dir);
  t.deepEqual(paths(records), ['/a']);
  t.is(store.recovery.ignoredFiles, 1);
  t.deepEqual(listJournals(dir), [store.recovery.resumeAt.seq]);
});

test('SQLite rm removes the subtree only, and rm of / keeps the root', (t) => {
  const dir = tempDir(t);
  const store = SqliteStore.open(join(dir, 'x.db'));
  t.teardown(() => store.db.close());
  const value = Buffer.from('v');
  for (const p of ['/', '/a', '/a/b', '/a/b/c', '/a-b', '/a-b/c', '/a0', '/ab', '/b']) store.set(p, value, 'n0');
  store.rm('/a');
  t.deepEqual(paths([...store.nodes()]), ['/', '/a-b', '/a-b/c', '/a0', '/ab', '/b']);
  store.rm('/a-b/c');
  t.deepEqual(paths([...store.nodes()]), ['/', '/a-b', '/a0', '/ab', '/b']);
  store.rm('/');
  t.deepEqual(paths([...store.nodes()]), ['/']);
});
