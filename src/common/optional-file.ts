import { readFileSync } from 'node:fs';

/** A settings file's text, or null when there is none (the defaults then apply). */
export function readOptionalFile(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
