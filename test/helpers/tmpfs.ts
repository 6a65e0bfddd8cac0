import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmdirSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Small real file systems for full-disk tests: a tmpfs mounted on a new directory.
 * Mounting needs root; `tmpfsProblem` says up front whether it works here, so a test
 * can be skipped with the reason in its title instead of passing silently.
 */

/** Mount a tmpfs of `size` (mount's syntax: 16m) at a new directory; its path, or why not. */
export function mountTmpfs(size: string): { dir: string } | { problem: string } {
  const dir = mkdtempSync(join(tmpdir(), 'xe-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
    return { dir };
  } catch (err) {
    rmdirSync(dir);
    return { problem: `cannot mount a tmpfs here (${((err as { stderr?: Buffer }).stderr?.toString() || (err as Error).message).trim()})` };
  }
}

export function unmount(dir: string): void {
  execFileSync('umount', [dir]);
  rmdirSync(dir);
}

/** Why no tmpfs can be mounted here, or null when one can. */
export const tmpfsProblem: string | null = (() => {
  const probe = mountTmpfs('1m');
  if ('problem' in probe) return probe.problem;
  unmount(probe.dir);
  return null;
})();

/** Fill the file system `path` is on to the last block: write until ENOSPC. */
export function fill(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}
