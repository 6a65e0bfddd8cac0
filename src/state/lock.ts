import type BetterSqlite3 from 'better-sqlite3';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensurePrivateFile } from './private-file.js';

type DatabaseClass = typeof BetterSqlite3;

/** The longest pause between two attempts while waiting for the lock. */
const MAX_RETRY_PAUSE_MS = 50;

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
   *
   * Each attempt either gets the lock or holds nothing: it does not wait inside
   * SQLite, and a failed attempt closes its connection. Waiting in SQLite's busy
   * handler deadlocked: in locking_mode EXCLUSIVE a failed BEGIN EXCLUSIVE keeps the
   * SHARED lock it got, so when two waiters took SHARED in the same instant after
   * the holder let go, one sat on PENDING waiting for the other's SHARED to go, and
   * the other kept SHARED waiting for PENDING to go, until both timed out (10
   * concurrent `host start`: ~2% of the CLIs failed after 30 s). The pauses between
   * attempts grow and are jittered, so contenders do not retry in lockstep.
   */
  static async acquire(path: string, waitMs = 0): Promise<FileLock | null> {
    const { default: Database } = await import('better-sqlite3');
    ensurePrivateFile(path);
    const deadline = Date.now() + waitMs;
    for (let pause = 1; ; pause = Math.min(pause * 2, MAX_RETRY_PAUSE_MS)) {
      const lock = FileLock.tryAcquire(Database, path);
      if (lock !== null) return lock;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await sleep(Math.min(left, pause * (0.5 + Math.random())));
    }
  }

  private static tryAcquire(Database: DatabaseClass, path: string): FileLock | null {
    const db = new Database(path, { timeout: 0 });
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
