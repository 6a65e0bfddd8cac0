import { readdirSync, readlinkSync } from 'node:fs';

/** Whether this machine has /proc/PID/fd to count a process's open files (Linux). */
export const procFdMissing: string | null = (() => {
  try {
    readdirSync('/proc/self/fd');
    return null;
  } catch {
    return 'no /proc/self/fd on this system';
  }
})();

/**
 * What process `pid` has open, one target per descriptor as /proc/PID/fd shows it: a
 * path, `socket:[INODE]`, `pipe:[INODE]`, `anon_inode:[eventfd]`... A descriptor
 * closed while this reads is left out.
 */
export function openFiles(pid: number | 'self' = 'self'): string[] {
  const dir = `/proc/${pid}/fd`;
  const out: string[] = [];
  for (const fd of readdirSync(dir)) {
    try {
      out.push(readlinkSync(`${dir}/${fd}`));
    } catch {
      // closed meanwhile (readdir's own descriptor among them)
    }
  }
  return out;
}

/** The files under `dir` that process `pid` has open. */
export function openFilesUnder(dir: string, pid: number | 'self' = 'self'): string[] {
  return openFiles(pid).filter((target) => target.startsWith(`${dir}/`));
}
