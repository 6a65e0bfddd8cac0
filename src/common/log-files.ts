import { renameSync, rmSync } from 'node:fs';

/** When a log (or a capture) is rotated and how many old ones are kept (host.yaml's console_log_*, daemon_log_*, capture_*). */
export interface LogLimits {
  /** A file reaching this size is rotated: NAME becomes NAME.1. */
  maxBytes: number;
  /** Rotated logs kept (.1 the newest); 0 keeps none, the log starts over. */
  backups: number;
}

/** Limits from a config's KiB and count, each default where the config leaves it out. */
export function configuredLimits(maxKiB: number | undefined, backups: number | undefined, defaults: LogLimits): LogLimits {
  return { maxBytes: maxKiB !== undefined ? maxKiB * 1024 : defaults.maxBytes, backups: backups ?? defaults.backups };
}

/**
 * Rotate `path` as libxl_create_logfile (tools/libs/light/libxl_utils.c) rotates xl's
 * and qemu-dm's logs: the oldest (`path`.`backups`) goes, each `path`.i becomes
 * `path`.(i+1), `path` becomes `path`.1; one missing on the way is skipped (libxl's
 * logrename takes ENOENT as done). The next write starts an empty `path`. Throws what
 * rename(2) throws otherwise, leaving the files as far as they got.
 */
export function rotateLogFiles(path: string, backups: number): void {
  if (backups === 0) {
    rmSync(path, { force: true });
    return;
  }
  rmSync(`${path}.${backups}`, { force: true });
  for (let i = backups - 1; i >= 1; i--) renameIfThere(`${path}.${i}`, `${path}.${i + 1}`);
  renameIfThere(path, `${path}.1`);
}

function renameIfThere(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
