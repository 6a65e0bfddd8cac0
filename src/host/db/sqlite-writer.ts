import { Worker } from 'node:worker_threads';
import { comparePositions, type JournalPosition } from './journal-codec.js';
import type { JournalBatch } from './journal.js';

/** Where the store lives: the SQLite database and the directory of journal files. */
export interface StoreFiles {
  readonly database: string;
  readonly journalDir: string;
}

/** Main thread to worker. `bytes` is transferred, never cloned. */
export type ToWorker =
  | { readonly type: 'batch'; readonly bytes: ArrayBuffer; readonly length: number; readonly seq: number; readonly offset: number }
  | { readonly type: 'close' };

/** Worker to main thread, after each SQLite transaction. */
export interface AppliedMessage {
  readonly type: 'applied';
  readonly seq: number;
  readonly offset: number;
  readonly bytes: number;
  readonly entries: number;
  readonly busyMs: number;
}

export interface WriterStats {
  /** The journal position SQLite has reached. */
  readonly applied: JournalPosition;
  /** Journal bytes handed to the worker and not yet committed to SQLite. */
  readonly unappliedBytes: number;
  readonly transactions: number;
  readonly entries: number;
  /** Time the worker spent applying, in milliseconds. */
  readonly busyMs: number;
  readonly error: Error | null;
}

interface Waiter {
  readonly target: JournalPosition;
  resolve(pos: JournalPosition): void;
  reject(err: Error): void;
}

/**
 * The main thread's handle on the SQLite worker (sqlite-worker.ts): it posts journal
 * batches and learns how far SQLite got. The worker is the only writer of the
 * database while the daemon runs. If it fails, nothing is lost (the journal still
 * holds everything since SQLite's position and recovery replays it at the next
 * start), but the journal is no longer retired, so the failure is reported.
 */
export class SqliteWriter {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private applied: JournalPosition;
  private posted: JournalPosition;
  private postedBytes = 0;
  private appliedBytes = 0;
  private transactions = 0;
  private entries = 0;
  private busyMs = 0;
  private error: Error | null = null;
  private waiters: Waiter[] = [];

  constructor(files: StoreFiles, applied: JournalPosition, onError: (err: Error) => void) {
    this.applied = this.posted = applied;
    this.worker = startWorker({ database: files.database, journalDir: files.journalDir });
    this.worker.on('message', (msg: AppliedMessage) => this.onApplied(msg));
    this.exited = new Promise((resolve) => {
      this.worker.on('error', (thrown) => {
        // What the worker threw arrives as a structured clone, not always an Error here.
        // A SqliteError may arrive as its code alone ({ code: 'SQLITE_FULL' }).
        const { message, code } = thrown as { message?: unknown; code?: unknown };
        const err = new Error(`SQLite writer failed: ${String(message ?? code ?? thrown)}`, { cause: thrown });
        this.fail(err);
        onError(err);
      });
      this.worker.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`SQLite writer exited with code ${code}`));
        resolve();
      });
    });
  }

  post(batch: JournalBatch): void {
    const msg: ToWorker = { type: 'batch', bytes: batch.bytes, length: batch.length, seq: batch.end.seq, offset: batch.end.offset };
    this.worker.postMessage(msg, [batch.bytes]);
    this.posted = batch.end;
    this.postedBytes += batch.length;
  }

  /** Resolves once SQLite has everything posted so far. */
  whenApplied(): Promise<JournalPosition> {
    if (this.error !== null) return Promise.reject(this.error);
    if (comparePositions(this.applied, this.posted) >= 0) return Promise.resolve(this.applied);
    return new Promise((resolve, reject) => this.waiters.push({ target: this.posted, resolve, reject }));
  }

  /** Let the worker apply what it has, checkpoint and close the database, and exit. */
  async close(): Promise<void> {
    this.worker.postMessage({ type: 'close' } satisfies ToWorker);
    await this.exited;
    if (this.error !== null) throw this.error;
  }

  /** The worker failed (see error in stats()); checked at every flush, so it allocates nothing. */
  get failed(): boolean {
    return this.error !== null;
  }

  stats(): WriterStats {
    return {
      applied: this.applied,
      unappliedBytes: this.postedBytes - this.appliedBytes,
      transactions: this.transactions,
      entries: this.entries,
      busyMs: this.busyMs,
      error: this.error,
    };
  }

  private onApplied(msg: AppliedMessage): void {
    this.applied = { seq: msg.seq, offset: msg.offset };
    this.appliedBytes += msg.bytes;
    this.transactions++;
    this.entries += msg.entries;
    this.busyMs += msg.busyMs;
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) {
      if (comparePositions(this.applied, w.target) >= 0) w.resolve(this.applied);
      else this.waiters.push(w);
    }
  }

  private fail(err: Error): void {
    this.error ??= err;
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w.reject(this.error);
  }
}

/**
 * Start sqlite-worker: the compiled .js next to this file, or, when running from the
 * TypeScript sources under tsx, the .ts one. Node 20 does not apply the loader hooks
 * that `--import tsx` registered to a worker's entry module, so the worker first
 * registers tsx itself, then imports the entry.
 */
function startWorker(workerData: StoreFiles): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./sqlite-worker.js', here), { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./sqlite-worker.ts', here).href;
  const boot = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData });
}
