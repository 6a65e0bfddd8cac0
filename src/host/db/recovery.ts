import { readFileSync, statSync, unlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { moveDatabaseAside, moveJournalsAside } from './aside.js';
import { decodeHeader, forEachEntry, HEADER_SIZE, newStoreId, readFrames, type JournalPosition } from './journal-codec.js';
import { scanJournal } from './journal-scan.js';
import { journalPath, listJournals } from './journal.js';
import { SqliteStore } from './sqlite-store.js';
import type { StoreFiles } from './sqlite-writer.js';
import type { RecoveryReport } from '../../state/last-start.js';
import { XenemuError } from '../../common/errors.js';

/** The store is damaged and recovery was not asked to go on. Nothing was changed. */
export class DamagedStoreError extends XenemuError {
  constructor(readonly problems: readonly string[]) {
    super(
      'EIO',
      [
        'the store is damaged; not starting over it:',
        ...problems.map((p) => `  - ${p}`),
        'Run `xenemu host start --recover` to start with what can be kept (the database, and the journal up to the damage);',
        'the files it cannot apply are moved aside, never deleted, and reported.',
      ].join('\n'),
    );
  }
}

export interface OpenOptions<J> {
  /** Go on over damage: keep what can be kept, move the rest aside, report it. */
  readonly recover: boolean;
  /**
   * Start the journal file the daemon appends to. It is created before recovery
   * commits, so the file the database's position names always exists: a missing one
   * means the journal was lost.
   */
  readonly startJournal: (seq: number, storeId: string) => J;
}

/**
 * Open the database, check it and the journal against each other, and bring the
 * database up to date with the journal (see scanJournal for what counts as damage).
 *
 * Replaying into SQLite at start-up, rather than loading SQLite into memory and
 * patching it with the journal, keeps one source to load from, in one ordered scan of
 * the primary key. The replay and the new start position are committed durably, and
 * only then are the old journal files deleted; the daemon appends to a fresh file, so
 * a file is only ever written by one run of the daemon.
 *
 * Damage stops the start (DamagedStoreError) before anything is replayed, moved or
 * deleted (a database from before identities has only been given one), unless
 * `recover` is set: then the database and the replayable prefix are kept, and every
 * file that holds something that could not be applied is moved aside.
 */
export function openStore<J extends { close(): void }>(
  files: StoreFiles,
  options: OpenOptions<J>,
): { store: SqliteStore; journal: J; recovery: RecoveryReport } {
  const at = new Date();
  const problems: string[] = [];
  const movedAside: string[] = [];
  const seqs = listJournals(files.journalDir);

  // rm state.db, or `: > state.db`: SQLite would make a new, empty database of it.
  const dbSize = sizeOf(files.database);
  const wal = sizeOf(files.database + '-wal');
  let fresh = dbSize <= 0;
  if (fresh && (seqs.length > 0 || wal > 0)) {
    const what = [...(seqs.length > 0 ? [`${seqs.length} journal files`] : []), ...(wal > 0 ? [`${basename(files.database)}-wal`] : [])];
    problems.push(`${files.database} is ${dbSize < 0 ? 'missing' : 'empty'}, but ${what.join(' and ')} continue it`);
    if (!options.recover) throw new DamagedStoreError(problems);
    movedAside.push(...moveDatabaseAside(files.database, at));
  }

  let db: OpenDatabase;
  try {
    db = openDatabase(files.database);
  } catch (err) {
    if (!isDamagedDatabase(err)) throw err;
    problems.push(`${files.database} is damaged: ${(err as Error).message}`);
    if (!options.recover) throw new DamagedStoreError(problems);
    movedAside.push(...moveDatabaseAside(files.database, at));
    fresh = true;
    db = openDatabase(files.database);
  }
  const { store, applied } = db;
  let storeId = db.storeId;

  let journal: J | null = null;
  try {
    // A re-created database may take over a journal that holds the store's whole
    // history (journal.1, continuing nothing): replaying it rebuilds everything.
    const origin = fresh && options.recover && seqs[0] === 1 ? decodeHeader(readFileSync(journalPath(files.journalDir, 1))) : null;
    const adopt = origin !== null && origin.prevEnd === 0;
    if (storeId === null) {
      storeId = (adopt ? origin.storeId : null) ?? newStoreId();
      store.setStoreId(storeId);
    }
    const scan = scanJournal(files.journalDir, { applied, storeId, acceptUnnamed: !fresh || adopt });
    problems.push(...scan.problems);
    if (problems.length > 0 && !options.recover) throw new DamagedStoreError(problems);

    const resumeAt = { seq: Math.max(applied.seq, ...seqs) + 1, offset: HEADER_SIZE };
    journal = options.startJournal(resumeAt.seq, storeId);
    let frames = 0;
    let entries = 0;
    store.transaction(true, () => {
      for (const r of scan.replays) {
        readFrames(r.data, r.from, r.to, false, (from, to) => {
          frames++;
          entries += forEachEntry(r.data, from, to, store);
        });
      }
      store.setPosition(resumeAt);
    });
    movedAside.push(...moveJournalsAside(scan.damaged.map((seq) => journalPath(files.journalDir, seq)), files.journalDir, at));
    for (const seq of seqs) if (!scan.damaged.includes(seq)) unlinkSync(journalPath(files.journalDir, seq));
    const recovery = { at: at.toISOString(), storeId, frames, entries, tornBytes: scan.tornBytes, resumeAt, problems, dropped: scan.dropped, movedAside };
    return { store, journal, recovery };
  } catch (err) {
    journal?.close();
    store.db.close();
    throw err;
  }
}

interface OpenDatabase {
  readonly store: SqliteStore;
  readonly applied: JournalPosition;
  readonly storeId: string | null;
}

/** Open the database and read where it stands; closed again if it cannot be read. */
function openDatabase(file: string): OpenDatabase {
  const store = SqliteStore.open(file);
  try {
    return { store, applied: store.applied(), storeId: store.storeId() };
  } catch (err) {
    store.db.close();
    throw err;
  }
}

/** Size of a file in bytes, or -1 if there is none. */
function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return -1;
  }
}

/** SQLite's own word that a file is not (or no longer) a database. */
function isDamagedDatabase(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^SQLITE_(CORRUPT|NOTADB)/.test(code);
}
