import { closeSync, fstatSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { NodeRecord } from '../../xenstore/database.js';
import type { Change } from '../../xenstore/store.js';
import { HEADER_SIZE, type JournalPosition } from './journal-codec.js';
import { Journal, journalPath, listJournals, type Durability, type JournalBatch, type JournalWrite } from './journal.js';
import type { RecoveryReport } from '../../state/last-start.js';
import { openStore } from './recovery.js';
import type { SqliteStore } from './sqlite-store.js';
import { SqliteWriter, type StoreFiles } from './sqlite-writer.js';

export type { Durability, JournalWrite } from './journal.js';
export type { JournalPosition } from './journal-codec.js';
export { DamagedStoreError } from './recovery.js';
export { describeRecovery, type RecoveryReport } from '../../state/last-start.js';
export type { StoreFiles } from './sqlite-writer.js';

export interface PersistenceOptions {
  /** 'write' (default): acknowledged writes survive a daemon crash; 'fsync': also a power cut. */
  durability?: Durability;
  /** Start a new journal file once the current one is this big (bytes). */
  rotateBytes?: number;
  /** Hand journal bytes to the SQLite worker once this many are waiting... */
  handOffBytes?: number;
  /** ...or this many milliseconds after the first of them was flushed. */
  handOffMs?: number;
  /** Start over a damaged store, keeping what can be kept (see openStore); default: refuse. */
  recover?: boolean;
  /**
   * The SQLite worker failed, or a journal rotation did (nothing is lost: see
   * SqliteWriter; a rotation is tried again at the next flush).
   */
  onError?: (err: Error) => void;
  /** How journal bytes are written (write(2)); tests inject failures here. */
  write?: JournalWrite;
}

/**
 * Figures for CONTROL memreport and `host status`. Flat numbers and strings so the
 * host can print them as `key: value` lines.
 */
export type PersistenceStats = {
  /** The journal file being appended to, and its size in bytes. */
  journalSeq: number;
  journalBytes: number;
  /** Journal bytes not yet committed to SQLite (flushed, waiting for or in the worker). */
  unappliedBytes: number;
  /** How far into the journal SQLite is: journal.<appliedSeq>, byte appliedOffset. */
  appliedSeq: number;
  appliedOffset: number;
  /** SQLite transactions and entries the worker applied, and its busy time. */
  sqliteTransactions: number;
  sqliteEntries: number;
  sqliteBusyMs: number;
  /** 'running', 'closed', or 'failed: <why>'. */
  writer: string;
};

type Settings = Required<Omit<PersistenceOptions, 'onError' | 'recover'>>;

/** A failed SQLite writer is started again at a successful flush, at most this often. */
const WRITER_RESTART_MS = 5000;

/**
 * The XenStore's persistence: a journal for durability, SQLite for the state.
 *
 * Each request's changes are appended to the journal buffer; once per turn of the
 * event loop, before any reply goes out, the daemon calls flush(), one write(2). A
 * reply therefore only ever acknowledges a change the kernel already holds, and the
 * request path never touches SQLite. Written journal bytes go to a worker thread in
 * batches (every handOffMs or handOffBytes) and are applied there in large
 * transactions. At start-up, recovery replays into SQLite whatever the worker had not
 * applied, and the store is loaded from SQLite alone.
 *
 * Usage: open(), feed loadRecords() to Database.load (once, at start-up), then
 * append() per request and flush() per turn; close() on shutdown.
 */
export class StorePersistence {
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  /** The start-up connection, kept until the records are loaded. */
  private reader: SqliteStore | null;
  private writer: SqliteWriter;
  /** When the SQLite writer was last started again, and whether its failure was said. */
  private writerRestartedAt = 0;
  private writerFailureReported = false;

  private constructor(
    private readonly files: StoreFiles,
    private readonly options: Settings,
    private readonly onError: (err: Error) => void,
    private journal: Journal,
    resumeAt: JournalPosition,
    reader: SqliteStore,
    private readonly meta: Map<string, string>,
    /** What start-up recovery replayed and dropped. */
    readonly recovery: RecoveryReport,
  ) {
    this.reader = reader;
    this.writer = this.startWriter(resumeAt);
  }

  private get journalDir(): string {
    return this.files.journalDir;
  }

  /**
   * Open the store, recovering after a crash. `location` is a directory to keep
   * everything in (xenstore.db and the journal files), or the two places apart.
   * Missing directories are created.
   */
  static open(location: string | StoreFiles, options: PersistenceOptions = {}): StorePersistence {
    const files = typeof location === 'string' ? { database: join(location, 'xenstore.db'), journalDir: location } : location;
    const opts: Settings = {
      durability: options.durability ?? 'write',
      rotateBytes: options.rotateBytes ?? 16 * 1024 * 1024,
      // Each hand-off costs the request path a latency spike (the worker's SQLite
      // transaction competes for the CPU), so hand off rarely: the journal already
      // holds the data safely, SQLite is only its compacted form.
      handOffBytes: options.handOffBytes ?? 4 * 1024 * 1024,
      handOffMs: options.handOffMs ?? 1000,
      write: options.write ?? writeSync,
    };
    const onError = options.onError ?? (() => {});
    mkdirSync(dirname(files.database), { recursive: true, mode: 0o700 });
    mkdirSync(files.journalDir, { recursive: true, mode: 0o700 });
    const { store, journal, recovery } = openStore(files, {
      recover: options.recover ?? false,
      // prevEnd 0: SQLite's position names this file itself, so no predecessor is checked.
      startJournal: (seq, storeId) => Journal.create(files.journalDir, seq, 0, opts.durability, storeId, opts.write),
    });
    try {
      const meta = store.readMeta();
      return new StorePersistence(files, opts, onError, journal, recovery.resumeAt, store, meta, recovery);
    } catch (err) {
      journal.close();
      store.db.close();
      throw err;
    }
  }

  /**
   * Every stored node, parents first, for Database.load. Streams from SQLite: call it
   * once, at start-up; the start-up connection closes when the iteration ends.
   */
  *loadRecords(): Generator<NodeRecord, void, undefined> {
    const reader = this.reader;
    if (reader === null) throw new Error('store records were already loaded');
    this.reader = null;
    try {
      yield* reader.nodes();
    } finally {
      reader.db.close();
    }
  }

  /** Queue a request's changes (in memory only; flush() makes them durable). */
  append(changes: readonly Change[]): void {
    if (this.closed) throw new Error('store persistence is closed');
    this.journal.append(changes);
  }

  getMeta(key: string): string | undefined {
    return this.meta.get(key);
  }

  /** Set (or with null, delete) a store-level setting; journalled like a change. */
  setMeta(key: string, value: string | null): void {
    if (this.closed) throw new Error('store persistence is closed');
    if (value === null) this.meta.delete(key);
    else this.meta.set(key, value);
    this.journal.append([{ op: 'meta', key, value }]);
  }

  /**
   * Write everything appended so far to the journal (one write(2), plus fdatasync with
   * durability 'fsync'). Call once per turn of the event loop, before any reply to
   * the requests whose changes were appended is sent. Throws if the write fails; the
   * bytes stay queued and nothing they carry may be acknowledged.
   */
  flush(): number {
    const written = this.journal.flush();
    if (written === 0) return 0;
    if (this.writer.failed && Date.now() >= this.writerRestartedAt + WRITER_RESTART_MS) this.restartWriter();
    if (this.journal.size >= this.options.rotateBytes) this.rotate();
    else if (this.journal.unposted >= this.options.handOffBytes) this.handOff();
    else this.timer ??= setTimeout(this.onTimer, this.options.handOffMs);
    return written;
  }

  /** Resolves once SQLite holds everything flushed so far. */
  sync(): Promise<JournalPosition> {
    try {
      this.handOff();
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return this.writer.whenApplied();
  }

  stats(): PersistenceStats {
    const w = this.writer.stats();
    return {
      journalSeq: this.journal.seq,
      journalBytes: this.journal.size,
      unappliedBytes: w.unappliedBytes + this.journal.unposted,
      appliedSeq: w.applied.seq,
      appliedOffset: w.applied.offset,
      sqliteTransactions: w.transactions,
      sqliteEntries: w.entries,
      sqliteBusyMs: Math.round(w.busyMs * 10) / 10,
      writer: w.error !== null ? `failed: ${w.error.message}` : this.closed ? 'closed' : 'running',
    };
  }

  /** Flush, let SQLite apply everything, checkpoint and close. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  /**
   * If the journal still cannot be written, close() rejects with that error after
   * closing everything: the bytes it could not take were never acknowledged.
   */
  private async shutDown(): Promise<void> {
    let unwritten: Error | null = null;
    try {
      this.handOff();
    } catch (err) {
      unwritten = err as Error;
    }
    this.closed = true;
    this.reader?.db.close();
    this.reader = null;
    try {
      await this.writer.close();
    } finally {
      this.journal.close();
    }
    if (unwritten !== null) throw unwritten;
  }

  private startWriter(applied: JournalPosition): SqliteWriter {
    return new SqliteWriter(this.files, applied, (err) => {
      // Said once per failure, not at every restart that fails again (a disk still full).
      if (this.writerFailureReported) return;
      this.writerFailureReported = true;
      this.onError(err);
    });
  }

  /**
   * Start a failed SQLite writer again (its disk was full, say, and the journal could
   * just be written, so there may be space now), from the position SQLite reached. The
   * journal files hold everything since then, as a file is deleted only once applied:
   * the new writer is fed from them, and the journal's buffer is dropped unposted.
   */
  private restartWriter(): void {
    this.writerRestartedAt = Date.now();
    const { applied } = this.writer.stats();
    const batches: JournalBatch[] = [];
    try {
      for (const seq of listJournals(this.journalDir)) {
        if (seq < applied.seq || seq > this.journal.seq) continue;
        const start = seq === applied.seq ? applied.offset : HEADER_SIZE;
        const bytes = readFrom(journalPath(this.journalDir, seq), start, seq === this.journal.seq ? this.journal.size : Infinity);
        if (bytes.length > 0) batches.push({ bytes: bytes.buffer, length: bytes.length, end: { seq, offset: start + bytes.length } });
      }
    } catch (err) {
      // The flush itself succeeded: this is no reason to fail it. Tried again later.
      this.onError(err as Error);
      return;
    }
    this.journal.handOff();
    const writer = this.startWriter(applied);
    for (const batch of batches) writer.post(batch);
    this.writer = writer;
    writer.whenApplied().then(
      () => (this.writerFailureReported = false),
      () => {},
    );
  }

  /**
   * A timer has no caller to throw to. A write that fails here (a full disk) leaves
   * its bytes queued, and the next flush() tries them again and throws to its caller,
   * which holds the answers and reports the failure once (durability.ts); reporting
   * it here too would say it twice. The next successful flush arms the timer again.
   */
  private readonly onTimer = (): void => {
    this.timer = null;
    try {
      this.handOff();
    } catch {
      // reported by the next flush(), see above
    }
  };

  private handOff(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.journal.handOff();
    if (batch !== null) this.writer.post(batch);
  }

  /**
   * Continue in a new journal file. The old one is deleted by the worker once SQLite
   * has applied it; rotation does not wait for that, so a slow worker never stalls
   * the request path. A failure here is not a failed flush (the frame is written),
   * so it is reported and retried at the next flush.
   */
  private rotate(): void {
    this.handOff();
    const old = this.journal;
    try {
      this.journal = Journal.create(this.journalDir, old.seq + 1, old.size, this.options.durability, old.storeId, this.options.write);
    } catch (err) {
      this.onError(err as Error);
      return;
    }
    old.close();
  }
}

/**
 * Bytes `start` to `end` (at most to the end of the file) of a journal file, in an
 * ArrayBuffer of their own (it is transferred to the SQLite worker).
 */
function readFrom(path: string, start: number, end: number): Uint8Array<ArrayBuffer> {
  const fd = openSync(path, 'r');
  try {
    const bytes = new Uint8Array(new ArrayBuffer(Math.max(0, Math.min(end, fstatSync(fd).size) - start)));
    for (let at = 0; at < bytes.length; ) {
      const n = readSync(fd, bytes, at, bytes.length - at, start + at);
      if (n === 0) return bytes.subarray(0, at);
      at += n;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}
