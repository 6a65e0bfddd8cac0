import { chmodSync, closeSync, fchmodSync, openSync } from 'node:fs';

/**
 * Make sure `path` exists and only its owner can read or write it (0600), before a
 * library that creates files with the umask's mode (SQLite) opens it. SQLite gives
 * its -wal and -shm files the mode of the database file, so those follow.
 */
export function ensurePrivateFile(path: string): void {
  const fd = openSync(path, 'a', 0o600);
  try {
    fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
}

/** Tighten an existing file to 0600; a file that is not there is left so. */
export function makePrivate(path: string): void {
  try {
    chmodSync(path, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
