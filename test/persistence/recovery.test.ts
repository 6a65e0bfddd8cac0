import test from 'ava';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DamagedStoreError, StorePersistence } from '../../src/host/db/index.js';
import { HEADER_SIZE, newStoreId, type JournalEntry } from '../../src/host/db/journal-codec.js';
import { Journal, journalPath, listJournals } from '../../src/host/db/journal.js';
import { SqliteStore } from '../../src/host/db/sqlite-store.js';
import type { Change } from '../../src/xenstore/store.js';
import { ALL_BYTES, openStore, reload, tempDir } from './helpers.js';

/*
 * These tests write journal files the way a daemon that died before its SQLite worker
 * caught up would have left them, then damage them as a crash, a power cut or a
 * careless hand can.
 */

const set = (path: string, value = path): Change => ({ op: 'set', path, value, perms: 'n0' });
const FIXTURE = new URL('./fixtures/xsj1-state/', import.meta.url).pathname;

/**
 * The state a daemon's first start leaves: an empty database with its identity, its
 * position at the start of journal.1. Returns the identity.
 */
function firstStart(dir: string): string {
  const store = SqliteStore.open(join(dir, 'xenstore.db'));
  const storeId = newStoreId();
  store.setStoreId(storeId);
  store.setPosition({ seq: 1, offset: HEADER_SIZE });
  store.db.close();
  return storeId;
}

/** Write journal.<seq> with one frame per group; returns the file size after each frame. */
function writeJournal(dir: string, storeId: string, seq: number, prevEnd: number, frames: JournalEntry[][]): number[] {
  const journal = Journal.create(dir, seq, prevEnd, 'write', storeId);
  const ends: number[] = [];
  for (const entries of frames) {
    journal.append(entries);
    journal.flush();
    ends.push(journal.size);
  }
  journal.close();
  return ends;
}

/** A daemon killed after writing `count` nodes /n/<i>, one frame each, none applied to SQLite. */
function killedAfter(dir: string, count: number): number[] {
  const id = firstStart(dir);
  return writeJournal(dir, id, 1, 0, [[set('/n', '')], ...Array.from({ length: count }, (_, i) => [set(`/n/${i}`, `value ${i}`)])]);
}

/** Every file under `dir` with its bytes: to show that a refused start changed nothing. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, name);
    if (statSync(path).isFile()) files[name] = readFileSync(path).toString('base64');
  }
  return files;
}

function flip(path: string, at: number): void {
  const bytes = readFileSync(path);
  bytes[at] = bytes[at]! ^ 0x01;
  writeFileSync(path, bytes);
}

const paths = (records: Array<{ path: string }>): string[] => records.map((r) => r.path);

test('journal frames SQLite never saw are replayed at the next start', async (t) => {
  const dir = tempDir(t);
  const id = firstStart(dir);
  writeJournal(dir, id, 1, 0, [[set('/a'), set('/a/b', ALL_BYTES)], [{ op: 'rm', path: '/a/b' }, set('/c')]]);
  const { records, store } = await reload(dir);
  t.deepEqual(records, [
    { path: '/a', value: '/a', perms: 'n0' },
    { path: '/c', value: '/c', perms: 'n0' },
  ]);
  t.like(store.recovery, { frames: 2, entries: 4, tornBytes: 0, problems: [], movedAside: [] });
});

test('a torn tail is dropped silently and every frame before it is kept, wherever the tear is', async (t) => {
  const dir = tempDir(t);
  const id = firstStart(dir);
  const ends = writeJournal(dir, id, 1, 0, [[set('/one')], [set('/two'), set('/two/x', ALL_BYTES)], [set('/three', 'last')]]);
  const full = readFileSync(journalPath(dir, 1));
  const lastStart = ends[1]!;
  // Every cut inside the last frame: in its length, its CRC, its body.
  for (let cut = lastStart; cut < full.length; cut++) {
    const caseDir = join(dir, `cut${cut}`);
    mkdirSync(caseDir);
    cpSync(join(dir, 'xenstore.db'), join(caseDir, 'xenstore.db'));
    writeFileSync(journalPath(caseDir, 1), full.subarray(0, cut));
    const { records, store } = await reload(caseDir);
    t.like(store.recovery, { tornBytes: cut - lastStart, problems: [] }, `cut at ${cut}`);
    t.deepEqual(paths(records), ['/one', '/two', '/two/x'], `cut at ${cut}`);
  }
});

test('a corrupt last frame with nothing after it is a torn write, not damage', async (t) => {
  // A power cut can leave the last frame full length with stale or zeroed blocks.
  const dir = tempDir(t);
  const ends = killedAfter(dir, 3);
  flip(journalPath(dir, 1), ends[2]! + 10);
  const { records, store } = await reload(dir);
  t.deepEqual(paths(records), ['/n', '/n/0', '/n/1']);
  t.like(store.recovery, { tornBytes: ends[3]! - ends[2]!, problems: [] });
});

test('one flipped byte in the middle of the journal refuses the start and changes nothing', async (t) => {
  const dir = tempDir(t);
  const ends = killedAfter(dir, 2000);
  // Before: 600 of 2000 acknowledged nodes came back, silently, and the journal was
  // deleted. The flipped frame is /n/600; the 1399 after it still pass their CRCs.
  flip(journalPath(dir, 1), ends[600]! + 12);
  const before = snapshot(dir);
  const err = t.throws(() => StorePersistence.open(dir), { instanceOf: DamagedStoreError });
  t.regex(err!.message, /journal\.1: the frame at byte [0-9]+ is corrupt, and journal data follows it; not applied: [0-9]+ bytes from byte [0-9]+ on, holding 1399 frames \(1399 entries\)/);
  t.regex(err!.message, /--recover/);
  t.deepEqual(snapshot(dir), before, 'a refused start writes, moves and deletes nothing');
});

test('a flipped byte in a frame length is damage too', async (t) => {
  // The length then points past the end of the file, as a torn write's does: the valid
  // frames after it tell them apart.
  const dir = tempDir(t);
  const ends = killedAfter(dir, 100);
  flip(journalPath(dir, 1), ends[50]! + 3);
  t.throws(() => StorePersistence.open(dir), { instanceOf: DamagedStoreError, message: /journal\.1: the frame at byte/ });
});

test('recover keeps the valid prefix, moves the damaged file aside and reports what it dropped', async (t) => {
  const dir = tempDir(t);
  const ends = killedAfter(dir, 2000);
  flip(journalPath(dir, 1), ends[600]! + 12);
  const damaged = readFileSync(journalPath(dir, 1));
  const store = StorePersistence.open(dir, { recover: true });
  const records = [...store.loadRecords()];
  await store.close();
  t.is(records.length, 1 + 600);
  const r = store.recovery;
  t.like(r, { frames: 601, entries: 601, dropped: { frames: 1399, entries: 1399, bytes: damaged.length - ends[600]!, files: 1 } });
  t.is(r.problems.length, 1);
  t.is(r.movedAside.length, 1);
  t.regex(r.movedAside[0]!, /\/damaged-[0-9T:.Z-]+\/journal\.1$/);
  t.deepEqual(readFileSync(r.movedAside[0]!), damaged, 'kept byte for byte');
  // The next start is clean and keeps what was recovered.
  const again = await reload(dir);
  t.deepEqual(again.store.recovery.problems, []);
  t.is(again.records.length, 601);
});

test('a journal whose header is overwritten is damage, not an empty journal', async (t) => {
  const dir = tempDir(t);
  killedAfter(dir, 2000);
  // Before: 0 of 2000 came back, silently.
  writeFileSync(journalPath(dir, 1), 'XXXX', { flag: 'r+' });
  t.throws(() => StorePersistence.open(dir), { instanceOf: DamagedStoreError, message: /journal\.1: not a journal file .* holding 2001 frames/ });
  const store = StorePersistence.open(dir, { recover: true });
  await store.close();
  t.like(store.recovery.dropped, { frames: 2001, entries: 2001, files: 1 });
  t.true(existsSync(store.recovery.movedAside[0]!));
});

test('a newest file cut off inside its header is a torn write', async (t) => {
  const dir = tempDir(t);
  const id = firstStart(dir);
  const ends = writeJournal(dir, id, 1, 0, [[set('/a')]]);
  writeJournal(dir, id, 2, ends[0]!, []);
  truncateSync(journalPath(dir, 2), 7);
  const { records, store } = await reload(dir);
  t.deepEqual(paths(records), ['/a']);
  t.like(store.recovery, { tornBytes: 7, problems: [] });
});

test('after a restart, a deleted or emptied database is detected, not replaced by an empty one', async (t) => {
  for (const damage of ['rm', 'truncate'] as const) {
    const dir = tempDir(t);
    const first = openStore(t, dir);
    first.append([set('/kept')]);
    await first.close();
    await reload(dir); // the restart
    const db = join(dir, 'xenstore.db');
    if (damage === 'rm') rmSync(db);
    else truncateSync(db, 0);
    const before = snapshot(dir);
    t.throws(() => StorePersistence.open(dir), { instanceOf: DamagedStoreError, message: damage === 'rm' ? /xenstore\.db is missing, but 1 journal files continue it/ : /xenstore\.db is empty/ }, damage);
    t.deepEqual(snapshot(dir), before, `${damage}: nothing touched`);
    t.false(existsSync(db) && damage === 'rm', 'no new database made');

    const recovered = StorePersistence.open(dir, { recover: true });
    await recovered.close();
    const r = recovered.recovery;
    t.true(r.problems.some((p) => /belongs to store [0-9a-f]{32}, but the database is store/.test(p)), damage);
    t.true(r.movedAside.some((p) => /damaged-.*\/journal\.[0-9]+$/.test(p)), 'the journal is kept');
    if (damage === 'truncate') t.true(r.movedAside.some((p) => /xenstore\.db\.damaged-[^/]*$/.test(p)), 'the empty database is kept');
  }
});

test('a database lost before its first hand-off is rebuilt by recover from journal.1', async (t) => {
  // journal.1 continuing nothing holds the store's whole history.
  const dir = tempDir(t);
  const id = firstStart(dir);
  writeJournal(dir, id, 1, 0, [[set('/a')], [set('/a/b')]]);
  rmSync(join(dir, 'xenstore.db'));
  t.throws(() => StorePersistence.open(dir), { instanceOf: DamagedStoreError });
  const store = StorePersistence.open(dir, { recover: true });
  const records = [...store.loadRecords()];
  await store.close();
  t.deepEqual(paths(records), ['/a', '/a/b']);
  t.is(store.recovery.storeId, id);
  t.like(store.recovery.dropped, { frames: 0, files: 0 });
});

test('a journal of another store is not replayed into this one', async (t) => {
  const dir = tempDir(t);
  firstStart(dir);
  writeJournal(dir, newStoreId(), 1, 0, [[set('/foreign')]]);
  t.throws(() => StorePersistence.open(dir), { instanceOf: DamagedStoreError, message: /journal\.1: belongs to store [0-9a-f]{32}, but the database is store/ });
});

test('a missing journal file that the database continues in is detected', async (t) => {
  const dir = tempDir(t);
  const store = openStore(t, dir);
  store.append([set('/a')]);
  await store.close();
  rmSync(journalPath(dir, store.stats().journalSeq));
  t.throws(() => StorePersistence.open(dir), { instanceOf: DamagedStoreError, message: /journal\.1 is missing: the database continues in it/ });
});

test('a database put back from an older copy is detected: the journal continues a later state', async (t) => {
  const dir = tempDir(t);
  const store = openStore(t, dir);
  store.append([set('/a')]);
  await store.close();
  const copy = join(dir, 'copy.db');
  cpSync(join(dir, 'xenstore.db'), copy);
  const later = openStore(t, dir); // a restart: the journal moves on to a new file
  later.append([set('/b')]);
  await later.close();
  cpSync(copy, join(dir, 'xenstore.db'));
  t.throws(() => StorePersistence.open(dir), { instanceOf: DamagedStoreError, message: /journal\.1 is missing: the database continues in it/ });
});

test('a damaged database is refused, and moved aside by recover', async (t) => {
  const dir = tempDir(t);
  const store = openStore(t, dir);
  await store.close();
  writeFileSync(join(dir, 'xenstore.db'), Buffer.alloc(8192, 'not sqlite '));
  t.throws(() => StorePersistence.open(dir), { instanceOf: DamagedStoreError, message: /xenstore\.db is damaged: file is not a database/ });
  const recovered = StorePersistence.open(dir, { recover: true });
  await recovered.close();
  const aside = recovered.recovery.movedAside.find((p) => /\/xenstore\.db\.damaged-[^/]*$/.test(p));
  t.true(aside !== undefined && readFileSync(aside).includes('not sqlite'), 'the damaged database is kept');
});

test('replay continues into the next journal file when it starts where the last one ended', async (t) => {
  const dir = tempDir(t);
  const id = firstStart(dir);
  const ends = writeJournal(dir, id, 1, 0, [[set('/a')], [set('/b')]]);
  writeJournal(dir, id, 2, ends[1]!, [[set('/c')]]);
  const { records, store } = await reload(dir);
  t.deepEqual(paths(records), ['/a', '/b', '/c']);
  t.deepEqual(store.recovery.problems, []);
  t.deepEqual(listJournals(dir), [store.recovery.resumeAt.seq]);
});

test('after a lost tail, a later journal file is not replayed on top of the gap, and is kept', async (t) => {
  // A power cut without fsync: journal.2 reached the disk, the last frame of journal.1
  // did not. Replaying journal.2 would apply /b/c without /b.
  const dir = tempDir(t);
  const id = firstStart(dir);
  const ends = writeJournal(dir, id, 1, 0, [[set('/a')], [set('/b')]]);
  writeJournal(dir, id, 2, ends[1]!, [[set('/b/c')]]);
  truncateSync(journalPath(dir, 1), ends[0]!);
  t.throws(() => StorePersistence.open(dir), { instanceOf: DamagedStoreError, message: /journal\.2: does not continue journal\.1/ });
  const store = StorePersistence.open(dir, { recover: true });
  const records = [...store.loadRecords()];
  await store.close();
  t.deepEqual(paths(records), ['/a']);
  t.like(store.recovery.dropped, { frames: 1, entries: 1, files: 1 });
});

test('a journal shorter than what SQLite applied leaves SQLite as it is and continues after it', async (t) => {
  // A power cut where SQLite's commit reached the disk and the journal's tail did not.
  const dir = tempDir(t);
  const store = openStore(t, dir);
  store.append([set('/a')]);
  await store.close();
  const seq = store.stats().journalSeq;
  const applied = statSync(journalPath(dir, seq)).size;
  truncateSync(journalPath(dir, seq), HEADER_SIZE);
  writeJournal(dir, store.recovery.storeId, seq + 1, applied, [[set('/a/b')]]);
  const { records, store: again } = await reload(dir);
  t.deepEqual(paths(records), ['/a', '/a/b']);
  t.deepEqual(again.recovery.problems, []);
});

test('a state dir written by the previous format (XSJ1 journal, no store identity) still recovers', async (t) => {
  const dir = tempDir(t);
  cpSync(FIXTURE, dir, { recursive: true });
  const { records, store } = await reload(dir);
  t.deepEqual(records, [
    { path: '/old', value: '', perms: 'n0' },
    { path: '/old/journal', value: 'only in the journal', perms: 'n0' },
    { path: '/old/second', value: 'x\xff', perms: 'n0' },
  ]);
  t.like(store.recovery, { frames: 2, entries: 3, problems: [] });
  t.is(store.getMeta('toolstack/next-domid'), '7');
  // It now has an identity, and its new journal names it.
  const next = await reload(dir);
  t.is(next.store.recovery.storeId, store.recovery.storeId);
});

test('the database, its WAL, the journal and journal/ are private to their owner', async (t) => {
  const dir = tempDir(t);
  const store = openStore(t, dir);
  store.append([set('/a')]);
  store.flush();
  await store.sync();
  for (const name of ['xenstore.db', 'xenstore.db-wal', 'xenstore.db-shm', `journal.${store.stats().journalSeq}`]) {
    t.is(statSync(join(dir, name)).mode & 0o777, 0o600, name);
  }
  await store.close();
  const sub = tempDir(t);
  await reload({ database: join(sub, 'x.db'), journalDir: join(sub, 'journal') });
  t.is(statSync(join(sub, 'journal')).mode & 0o777, 0o700);
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
