/**
 * The durability barrier: no answer, on any socket, goes out before the journal write
 * that holds the change it acknowledges.
 *
 * Everything that changes what the daemon persists (xenstored's changes, the
 * toolstack's domain records and domid counter) is appended to the journal buffer;
 * `flush()` writes that buffer with one write(2). The xenstored socket server calls
 * `flush()` itself once per turn, right before it writes the turn's replies; the
 * control server awaits `durable()` after a method's result is final. Both go through
 * here, so there is one place that knows whether the journal can be written, holds
 * answers while it cannot, and retries.
 *
 * When a write fails (ENOSPC, EDQUOT, EIO) the unwritten bytes stay queued in the
 * journal (see Journal.flush), the answers that wait for them are held, and a timer
 * tries again with a growing but bounded interval until the write succeeds; then the
 * held answers go out. Meanwhile `failure` lets the servers refuse new changes up
 * front instead of holding them too. The failure and the recovery are logged once
 * each, not per retry.
 */

/** The journal write: throws (with the errno in `code`) when it cannot be written. */
export type JournalFlush = () => void;

/** Why the journal cannot be written, as the servers report it to clients. */
export interface JournalFailure {
  /** The errno name (ENOSPC, EDQUOT, EIO, ...); EIO when the error carried none. */
  readonly code: string;
  readonly message: string;
  /** When the first write of this failure failed (ms since the epoch). */
  readonly since: number;
}

export interface BarrierOptions {
  /** Where the journal lives, for messages ("no space left on device in DIR"). */
  journalDir: string;
  log: (line: string) => void;
  /** First retry after this many ms; the interval doubles up to retryMaxMs. */
  retryMs?: number;
  retryMaxMs?: number;
}

const RETRY_MS = 100;
const RETRY_MAX_MS = 2000;

export class DurabilityBarrier {
  private failed: JournalFailure | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryDelay: number;
  private retries = 0;
  /** Called once a flush has succeeded (answers waiting for the journal). */
  private waiters: Array<() => void> = [];
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly flushJournal: JournalFlush,
    private readonly options: BarrierOptions,
  ) {
    this.retryDelay = options.retryMs ?? RETRY_MS;
  }

  /** Why the journal cannot be written now, or null when it can. */
  get failure(): JournalFailure | null {
    return this.failed;
  }

  /** One line for `host status`: 'ok', or what fails since when. */
  get health(): string {
    const f = this.failed;
    if (f === null) return 'ok';
    return `failing since ${new Date(f.since).toISOString()} (${this.retries} retries): ${f.message}`;
  }

  /**
   * Write everything appended so far. True when it is in the journal (answers may go
   * out); false when the write failed or an earlier failure is not over yet: the
   * caller holds its answers and registers with `whenWritable`.
   */
  flush(): boolean {
    // While failing, only the retry timer writes: one failing syscall per interval,
    // not one per request that comes in.
    if (this.failed !== null) return false;
    return this.tryFlush();
  }

  /** Resolves once everything appended before this call (and at the end of this turn) is in the journal. */
  durable(): Promise<void> {
    return new Promise((resolve) => this.whenWritable(resolve));
  }

  /**
   * Call `then` after the next successful flush, which at the earliest happens at the
   * end of this turn (process.nextTick, after the promise continuations queued now:
   * a change a method makes on its way to its result is in that flush).
   */
  whenWritable(then: () => void): void {
    this.waiters.push(then);
    this.schedule();
  }

  /** Something changed outside a request: flush it at the end of this turn. */
  schedule(): void {
    if (this.scheduled || this.failed !== null || this.closed) return;
    this.scheduled = true;
    process.nextTick(this.onTick);
  }

  /** Stop retrying (shutdown); held answers are dropped with their connections. */
  close(): void {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.waiters = [];
  }

  private readonly onTick = (): void => {
    this.scheduled = false;
    if (this.failed === null && this.tryFlush()) this.release();
  };

  private tryFlush(): boolean {
    try {
      this.flushJournal();
    } catch (err) {
      this.fail(err as NodeJS.ErrnoException);
      return false;
    }
    if (this.failed !== null) this.recover();
    return true;
  }

  private release(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const then of waiting) then();
  }

  private fail(err: NodeJS.ErrnoException): void {
    if (this.failed === null) {
      const code = typeof err.code === 'string' ? err.code : 'EIO';
      this.failed = { code, message: describe(code, err, this.options.journalDir), since: Date.now() };
      this.options.log(`journal: cannot write: ${this.failed.message}; holding the answers that wait for it and refusing new changes until it can be written (retrying)`);
    } else {
      this.retries++;
    }
    this.armRetry();
  }

  private recover(): void {
    const f = this.failed!;
    this.failed = null;
    this.options.log(`journal: written again after ${((Date.now() - f.since) / 1000).toFixed(1)} s and ${this.retries} retries (${f.code}); releasing held answers`);
    this.retries = 0;
    this.retryDelay = this.options.retryMs ?? RETRY_MS;
  }

  private armRetry(): void {
    if (this.retryTimer !== null || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.tryFlush()) this.release();
    }, this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, this.options.retryMaxMs ?? RETRY_MAX_MS);
  }
}

/** "no space left on device (ENOSPC) in /state/journal" */
function describe(code: string, err: Error, dir: string): string {
  const plain: Record<string, string> = {
    ENOSPC: 'no space left on device',
    EDQUOT: 'disk quota exceeded',
    EIO: 'input/output error',
    EROFS: 'read-only file system',
    EFBIG: 'file too large',
  };
  const what = plain[code] ?? err.message;
  return `${what} (${code}) in ${dir}`;
}
