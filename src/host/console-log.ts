import { closeSync, fstatSync, openSync, writeSync } from 'node:fs';
import { rotateLogFiles, type LogLimits } from '../common/log-files.js';

/** When a guest's console log is rotated and how many old ones are kept (host.yaml's console_log_*). */
export type ConsoleLogLimits = LogLimits;

/** 1 MiB and three old ones, so a guest that prints without end holds at most 4 MiB of disk. */
export const DEFAULT_CONSOLE_LOG_LIMITS: ConsoleLogLimits = { maxBytes: 1024 * 1024, backups: 3 };

/**
 * One guest's console log, rotated at a size limit in logrotate's manner (NAME.log →
 * NAME.log.1 → NAME.log.2 ..., the oldest dropped). Written synchronously, as
 * xenconsoled writes its logs: the daemon holds no more of a guest's output than one
 * ring's worth, however slow the disk, and a rotation happens between two writes with
 * nothing in flight. The first error (a full disk, a removed directory) is reported
 * once and ends the log; the console runs on without it.
 */
export class ConsoleLog {
  private fd: number;
  private size: number;
  private failed = false;

  /** Opens (appends to) `path`; throws what open(2) throws. */
  constructor(
    readonly path: string,
    private readonly limits: ConsoleLogLimits,
    private readonly report: (why: string) => void,
  ) {
    this.fd = openSync(path, 'a', 0o600);
    this.size = fstatSync(this.fd).size;
  }

  /** False once the log gave up after an error. */
  get open(): boolean {
    return !this.failed && this.fd >= 0;
  }

  write(chunk: Uint8Array): void {
    let rest = chunk;
    while (rest.length > 0 && this.open) {
      if (this.size >= this.limits.maxBytes) this.rotate();
      if (!this.open) return;
      const room = Math.max(1, this.limits.maxBytes - this.size);
      const part = rest.subarray(0, room);
      try {
        let off = 0;
        while (off < part.length) off += writeSync(this.fd, part, off);
      } catch (err) {
        this.fail(`cannot write: ${(err as Error).message}`);
        return;
      }
      this.size += part.length;
      rest = rest.subarray(part.length);
    }
  }

  /** Shift NAME.log.(i) to .(i+1), NAME.log to .1, and start an empty NAME.log. */
  private rotate(): void {
    try {
      closeSync(this.fd);
      this.fd = -1;
      rotateLogFiles(this.path, this.limits.backups);
      this.fd = openSync(this.path, 'a', 0o600);
      this.size = 0;
    } catch (err) {
      this.fail(`cannot rotate: ${(err as Error).message}`);
    }
  }

  private fail(why: string): void {
    if (this.failed) return;
    this.failed = true;
    this.report(why);
    this.close();
  }

  close(): void {
    if (this.fd < 0) return;
    try {
      closeSync(this.fd);
    } catch {
      // already gone
    }
    this.fd = -1;
  }
}
