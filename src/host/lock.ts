import type BetterSqlite3 from 'better-sqlite3';
import { ensurePrivateFile } from './private-file.js';

/**
 * An exclusive, process-lifetime lock on a file. It is an fcntl lock taken through
 * SQLite (better-sqlite3 is already a dependency; Node has no flock): the kernel drops
 * it when the holder exits, even by SIGKILL, so a crashed daemon never leaves a stale
 * lock behind and no pid-file guessing is needed.
 */
export class FileLock {
  private constructor(private db: BetterSqlite3.Database | null) {}

  /**
   * Take the lock, waiting up to `waitMs`; null if another process holds it then.
   * SQLite's busy handler does the waiting (it sleeps and retries).
   */
  static async acquire(path: string, waitMs = 0): Promise<FileLock | null> {
    const { default: Database } = await import('better-sqlite3');
    ensurePrivateFile(path);
    const db = new Database(path, { timeout: waitMs });
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE');
      return new FileLock(db);
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code === 'SQLITE_BUSY') return null;
      throw err;
    }
  }

  release(): void {
    this.db?.close();
    this.db = null;
  }
}
