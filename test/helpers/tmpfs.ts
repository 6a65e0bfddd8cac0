import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmdirSync, writeSync } from 'node:fs';
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

/** Unmount `dir` and remove it; if something still holds it, the error names the processes. */
export function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(`umount ${dir}: ${((err as { stderr?: Buffer }).stderr?.toString() ?? '').trim()}; held by: ${holders(dir).join('; ') || 'no process found'}`);
  }
  rmdirSync(dir);
}

/**
 * The processes with a file, cwd, root or mapping under `dir`, as "pid command: path".
 * Each thread is looked at: a process whose main thread exited still holds its files
 * through the others.
 */
function holders(dir: string): string[] {
  const found: string[] = [];
  const under = (target: string | undefined): boolean => target !== undefined && (target.startsWith(`${dir}/`) || target === dir);
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const tasks = readdirSync(`/proc/${pid}/task`).map((tid) => `/proc/${pid}/task/${tid}`);
      const links = tasks.flatMap((task) => ['cwd', 'root', ...listSafe(`${task}/fd`).map((fd) => `fd/${fd}`)].map((l) => `${task}/${l}`));
      const mapped = readFileSync(`/proc/${pid}/maps`, 'utf8')
        .split('\n')
        .map((line) => (line.includes('/') ? line.slice(line.indexOf('/')) : ''))
        .find(under);
      const held = links.map(readlinkSafe).find(under) ?? mapped;
      if (held) found.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()}: ${held}`);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

function listSafe(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function readlinkSafe(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
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
