import { readFileSync, unlinkSync } from 'node:fs';
import { decodeHeader, forEachEntry, HEADER_SIZE, readFrames, type JournalPosition } from './journal-codec.js';
import { journalPath, listJournals } from './journal.js';
import type { SqliteStore } from './sqlite-store.js';

/** What recovery found, for the daemon's start-up log. */
export interface RecoveryReport {
  /** Journal frames and entries that SQLite did not have yet and now has. */
  readonly frames: number;
  readonly entries: number;
  /** Bytes after the last good frame: a write torn by a crash, never acknowledged. */
  readonly droppedBytes: number;
  /** Journal files after the stop that could not be a continuation (power cut only). */
  readonly ignoredFiles: number;
  /** Where the new journal starts (journal.<seq>, first frame). */
  readonly resumeAt: JournalPosition;
}

/**
 * Bring SQLite up to date with the journal, then retire the journal files.
 *
 * SQLite holds every node as of its `applied` position; the journal files hold every
 * acknowledged change, in order, from (at least) there on. Replaying them into SQLite
 * at start-up, rather than loading SQLite into memory and patching it with the
 * journal, keeps one source to load from and keeps the load a single ordered scan of
 * the primary key: no sort of a million paths in JavaScript. The replay is whatever
 * the worker had not applied at the crash, normally a few milliseconds of writes.
 *
 * The replay stops at the first torn or corrupt frame, and at any file that does not
 * continue exactly where the replay got to (see prevEnd in journal-codec.ts), so the
 * result is always a prefix of the acknowledged history, never a mix. The journal
 * is not truncated in place: the replay and the new start position are committed to
 * SQLite durably, and then every old journal file is deleted; the daemon appends to a
 * fresh file, so a file is only ever written by one run of the daemon.
 */
export function recover(dir: string, store: SqliteStore): RecoveryReport {
  const applied = store.applied();
  const seqs = listJournals(dir);
  let frames = 0;
  let entries = 0;
  let droppedBytes = 0;
  let ignoredFiles = 0;
  const resumeAt = { seq: Math.max(applied.seq, ...seqs) + 1, offset: HEADER_SIZE };

  store.transaction(true, () => {
    let pos = applied;
    let stopped = false;
    for (const seq of seqs) {
      if (seq < applied.seq) continue; // applied and durable already; deleted below
      if (stopped) {
        ignoredFiles++;
        continue;
      }
      const data = readFileSync(journalPath(dir, seq));
      const header = decodeHeader(data);
      let start = -1;
      if (header !== null && header.seq === seq) {
        if (seq === pos.seq) start = pos.offset;
        else if (seq === pos.seq + 1 && header.prevEnd === pos.offset) start = HEADER_SIZE;
      }
      if (start < 0) {
        stopped = true;
        ignoredFiles++;
        continue;
      }
      // A file shorter than the applied position lost its tail in a power cut after
      // SQLite had it: nothing to replay, and SQLite's position stands.
      const end = readFrames(data, start, data.length, true, (from, to) => {
        frames++;
        entries += forEachEntry(data, from, to, store);
      });
      pos = { seq, offset: end };
      if (end < data.length) {
        droppedBytes = data.length - end;
        stopped = true;
      }
    }
    store.setPosition(resumeAt);
  });

  for (const seq of seqs) unlinkSync(journalPath(dir, seq));
  return { frames, entries, droppedBytes, ignoredFiles, resumeAt };
}
