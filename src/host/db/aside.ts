import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { basename, join } from 'node:path';

/*
 * Files recovery could not apply are moved out of the way and kept, never deleted:
 * they hold acknowledged history that someone may want to read back. Nothing is ever
 * overwritten: a name already taken is an error, not a loss.
 */

/** Journal files go to `<journalDir>/damaged-<time>/`; returns where each went. */
export function moveJournalsAside(paths: readonly string[], journalDir: string, at: Date): string[] {
  if (paths.length === 0) return [];
  const dir = join(journalDir, `damaged-${stamp(at)}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return paths.map((from) => rename(from, join(dir, basename(from))));
}

/**
 * The database's files (state.db, -wal, -shm, those that exist) become
 * `state.db.damaged-<time>` and its -wal and -shm: SQLite's suffixes are kept so that
 * the sqlite3 shell opens the moved database with its WAL.
 */
export function moveDatabaseAside(database: string, at: Date): string[] {
  const moved: string[] = [];
  for (const suffix of ['', '-wal', '-shm']) {
    if (existsSync(database + suffix)) moved.push(rename(database + suffix, `${database}.damaged-${stamp(at)}${suffix}`));
  }
  return moved;
}

/** The time in a file name: ISO 8601 without colons. */
function stamp(at: Date): string {
  return at.toISOString().replace(/:/g, '-');
}

function rename(from: string, to: string): string {
  if (existsSync(to)) throw new Error(`cannot move ${from} aside: ${to} already exists`);
  renameSync(from, to);
  return to;
}
