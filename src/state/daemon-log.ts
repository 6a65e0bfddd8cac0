import { appendFileSync, existsSync, statSync } from 'node:fs';
import type { HostConfig } from './host-config.js';
import { configuredLimits, rotateLogFiles, type LogLimits } from '../common/log-files.js';

/**
 * 1 MiB, and the ten old logs libxl keeps of each of its own (xl-NAME.log.1 to .10,
 * qemu-dm-NAME.log.1 to .10): a daemon that logs without end holds at most 11 MiB.
 */
export const DEFAULT_DAEMON_LOG_LIMITS: LogLimits = { maxBytes: 1024 * 1024, backups: 10 };

/** host.yaml's daemon_log_max_kib and daemon_log_backups, defaults for what it leaves out. */
export function daemonLogLimits(config: HostConfig): LogLimits {
  return configuredLimits(config.daemon_log_max_kib, config.daemon_log_backups, DEFAULT_DAEMON_LOG_LIMITS);
}

/**
 * A daemon starts on a log of its own, the last run's kept as daemon.log.1, as
 * libxl_create_logfile rotates an xl or qemu-dm log each time it starts one. Run by
 * whoever starts the daemon, before it opens the log for the daemon's stdout and
 * stderr: the daemon cannot move its own stderr to a new file (Node has no dup2), and
 * a crash's report goes there. Best effort: a log that cannot be rotated is appended to.
 */
export function rotateDaemonLogAtStart(path: string, limits: LogLimits): void {
  try {
    if (existsSync(path)) rotateLogFiles(path, limits.backups);
  } catch {
    // the daemon starts anyway, appending to the old log
  }
}

/**
 * The daemon's log: a line per event, each with its time, written at once (a line a
 * crash follows is on disk). Rotated between two lines, never inside one, once the
 * next would take it past `limits.maxBytes`, so a grep of any one file finds whole
 * lines and the log holds at most (backups + 1) files of maxBytes (or of its longest
 * line). The size is the file's, read at each line: what Node itself writes to stderr
 * (a warning) lands in the same file while it is daemon.log and counts too.
 */
export class DaemonLog {
  private rotateFailed = false;

  constructor(
    readonly path: string,
    /** Settable: the daemon logs before it has read host.yaml. */
    public limits: LogLimits = DEFAULT_DAEMON_LOG_LIMITS,
  ) {}

  /** Write one line. Best effort: a log that cannot be written never takes the daemon down. */
  line(text: string): void {
    const data = stamped(text);
    this.rotateIfFull(Buffer.byteLength(data));
    this.append(data);
  }

  private rotateIfFull(adding: number): void {
    let size: number;
    try {
      size = statSync(this.path).size;
    } catch {
      return; // not there yet: the append creates it
    }
    if (size === 0 || size + adding <= this.limits.maxBytes) return;
    try {
      rotateLogFiles(this.path, this.limits.backups);
      this.rotateFailed = false;
    } catch (err) {
      // Said once per failure, in the log that goes on growing.
      if (!this.rotateFailed) this.append(stamped(`cannot rotate ${this.path}: ${(err as Error).message}`));
      this.rotateFailed = true;
    }
  }

  private append(data: string): void {
    try {
      appendFileSync(this.path, data, { mode: 0o600 });
    } catch {
      // a full disk, a removed state dir: nothing to tell it with
    }
  }
}

function stamped(text: string): string {
  return `${new Date().toISOString()} ${text}\n`;
}
