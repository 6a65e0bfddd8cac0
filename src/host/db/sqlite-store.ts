import Sqlite from 'better-sqlite3';
import type { NodeRecord } from '../../xenstore/database.js';
import { ensurePrivateFile, makePrivate } from '../../state/private-file.js';
import { forEachEntry, readFrames, type EntryVisitor, type JournalPosition } from './journal-codec.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS nodes (
    path TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    perms TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;
  -- How far into the journal the tables are: one row, updated with every batch.
  CREATE TABLE IF NOT EXISTS journal_applied (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    seq INTEGER NOT NULL,
    offset INTEGER NOT NULL
  );
  INSERT OR IGNORE INTO journal_applied VALUES (0, 0, 0);
  -- The store's identity, which every journal file names (see journal-codec.ts).
  CREATE TABLE IF NOT EXISTS store_identity (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    store_id TEXT NOT NULL
  );
`;

/** Rows per query while loading: big enough to amortise the query, small enough to stream. */
const LOAD_PAGE = 8192;

/**
 * The SQLite side of the store: the `nodes`, `meta` and `journal_applied` tables and
 * the statements that apply journal entries to them. Used by the worker (the steady
 * state) and by recovery on the main thread (start-up), so both apply entries the
 * same way.
 */
export class SqliteStore implements EntryVisitor {
  private readonly upsert: Sqlite.Statement<[string, string | Buffer, string]>;
  private readonly removeExact: Sqlite.Statement<[string]>;
  private readonly removeBelow: Sqlite.Statement<[string, string]>;
  private readonly removeAll: Sqlite.Statement<[]>;
  private readonly metaPut: Sqlite.Statement<[string, string]>;
  private readonly metaDelete: Sqlite.Statement<[string]>;
  private readonly setApplied: Sqlite.Statement<[number, number]>;

  private constructor(readonly db: Sqlite.Database) {
    this.upsert = db.prepare(
      'INSERT INTO nodes (path, value, perms) VALUES (?, ?, ?) ON CONFLICT (path) DO UPDATE SET value = excluded.value, perms = excluded.perms',
    );
    this.removeExact = db.prepare('DELETE FROM nodes WHERE path = ?');
    // Everything below /a has the prefix "/a/", and in byte order those paths are the
    // ones between "/a/" and "/a0" ('0' follows '/'); siblings like /a-b and /a0 are not.
    this.removeBelow = db.prepare('DELETE FROM nodes WHERE path > ? AND path < ?');
    this.removeAll = db.prepare("DELETE FROM nodes WHERE path <> '/'");
    this.metaPut = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    this.metaDelete = db.prepare('DELETE FROM meta WHERE key = ?');
    this.setApplied = db.prepare('UPDATE journal_applied SET seq = ?, offset = ? WHERE id = 0');
  }

  /**
   * Open (creating if needed) the database `file`. WAL with synchronous=NORMAL: a
   * commit reaches the kernel but is not fsynced, which is enough because the journal
   * holds everything not yet applied; transactions that must reach the disk say so.
   */
  static open(file: string): SqliteStore {
    ensurePrivateFile(file);
    for (const side of ['-wal', '-shm']) makePrivate(file + side);
    const db = new Sqlite(file);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.exec(SCHEMA);
      return new SqliteStore(db);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  applied(): JournalPosition {
    return this.db.prepare('SELECT seq, offset FROM journal_applied WHERE id = 0').get() as JournalPosition;
  }

  /** The store's identity, or null in a database written before identities existed. */
  storeId(): string | null {
    const row = this.db.prepare('SELECT store_id FROM store_identity WHERE id = 0').get() as { store_id: string } | undefined;
    return row?.store_id ?? null;
  }

  /** Give the store its identity, durably: journal files naming it are written next. */
  setStoreId(id: string): void {
    this.transaction(true, () => this.db.prepare('INSERT OR REPLACE INTO store_identity VALUES (0, ?)').run(id));
  }

  /**
   * Run `fn` in one transaction. With `durable`, the commit is fsynced: used before
   * journal files are deleted, since with synchronous=NORMAL a power cut may take
   * back commits the deleted journal was the only other copy of.
   */
  transaction<T>(durable: boolean, fn: () => T): T {
    if (!durable) return this.db.transaction(fn).immediate();
    this.db.pragma('synchronous = FULL');
    try {
      return this.db.transaction(fn).immediate();
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  /** Apply the frames in `buf` (already checked, or from memory); returns the entry count. */
  applyFrames(buf: Buffer): number {
    let entries = 0;
    readFrames(buf, 0, buf.length, false, (from, to) => {
      entries += forEachEntry(buf, from, to, this);
    });
    return entries;
  }

  setPosition(pos: JournalPosition): void {
    this.setApplied.run(pos.seq, pos.offset);
  }

  set(path: string, value: Buffer, perms: string): void {
    // Values are raw bytes, but nearly all are short ASCII (numbers, states, paths).
    // Those are stored as TEXT, the same bytes: better-sqlite3 returns a BLOB as a
    // freshly allocated Buffer, and skipping that halves the time to load the store.
    this.upsert.run(path, isPlainAscii(value) ? value.toString('latin1') : value, perms);
  }

  rm(path: string): void {
    if (path === '/') {
      // Like the engine: removing the root removes its children, not the root.
      this.removeAll.run();
      return;
    }
    this.removeExact.run(path);
    this.removeBelow.run(`${path}/`, `${path}0`);
  }

  putMeta(key: string, value: string): void {
    this.metaPut.run(key, value);
  }

  deleteMeta(key: string): void {
    this.metaDelete.run(key);
  }

  readMeta(): Map<string, string> {
    const rows = this.db.prepare('SELECT key, value FROM meta').raw().all() as Array<[string, string]>;
    return new Map(rows);
  }

  /**
   * Every node in path order, which puts parents before children (a parent's path is
   * a prefix of its children's). Read in pages inside one read transaction, so the
   * rows form one snapshot even if the worker commits meanwhile. A page per native
   * call loads 1M nodes in about 60% of the time iterate() takes (a call per row), and
   * never holds more than a page of rows.
   */
  *nodes(): Generator<NodeRecord, void, undefined> {
    const page = this.db.prepare(`SELECT path, value, perms FROM nodes WHERE path > ? ORDER BY path LIMIT ${LOAD_PAGE}`).raw();
    this.db.exec('BEGIN');
    try {
      let after = '';
      for (;;) {
        const rows = page.all(after) as Array<[string, string | Buffer, string]>;
        for (const [path, value, perms] of rows) {
          yield { path, value: typeof value === 'string' ? value : value.toString('latin1'), perms };
        }
        if (rows.length < LOAD_PAGE) return;
        after = rows[rows.length - 1]![0];
      }
    } finally {
      this.db.exec('COMMIT');
    }
  }

  /** Checkpoint the WAL into the database file and close. */
  close(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
  }
}

/** Bytes 0x01-0x7f only: TEXT of these bytes reads back as the same latin1 string. */
function isPlainAscii(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0 || b > 0x7f) return false;
  }
  return true;
}
