import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * One command of a golden capture (shared/reference/golden/README.md): the command
 * line as typed into bash, and its exact stdout, stderr and exit status. All texts are
 * byte strings (read as latin1).
 */
export interface GoldenCase {
  file: string;
  command: string;
  stdout: string;
  stderr: string;
  exit: number;
}

const NO_NEWLINE = '\n[stdout had no trailing newline]\n';
const STDERR = '--- stderr ---\n';
const EXIT = /^--- exit status: (\d+) ---$/;

/** Parse a capture: `$ cmd`, stdout, optional `--- stderr ---` and stderr, `--- exit status: N ---`. */
export function parseGolden(text: string, file = ''): GoldenCase[] {
  const cases: GoldenCase[] = [];
  const lines = text.split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (!line.startsWith('$ ')) {
      if (line !== '') throw new Error(`${file}:${i + 1}: expected "$ command", got ${JSON.stringify(line)}`);
      i++;
      continue;
    }
    const command = line.slice(2);
    let body = '';
    let exit: number | undefined;
    for (i++; i < lines.length; i++) {
      const m = EXIT.exec(lines[i]!);
      if (m) {
        exit = Number(m[1]);
        i++;
        break;
      }
      body += `${lines[i]}\n`;
    }
    if (exit === undefined) throw new Error(`${file}: "${command}" has no exit status line`);
    // Where stderr's marker starts; stdout keeps the newline before it.
    const found = body.indexOf(`\n${STDERR}`);
    const split = body.startsWith(STDERR) ? 0 : found < 0 ? -1 : found + 1;
    let stdout = split < 0 ? body : body.slice(0, split);
    const stderr = split < 0 ? '' : body.slice(split + STDERR.length);
    if (stdout.endsWith(NO_NEWLINE)) stdout = stdout.slice(0, -NO_NEWLINE.length);
    cases.push({ file, command, stdout, stderr, exit });
  }
  return cases;
}

/** Every capture file `NN-*.txt` of a directory, in numeric order, optionally filtered. */
export function loadGoldenDir(dir: string, accept: (name: string) => boolean = () => true): Array<{ name: string; cases: GoldenCase[] }> {
  return readdirSync(dir)
    .filter((n) => /^\d\d-.*\.txt$/.test(n) && accept(n))
    .sort()
    .map((name) => ({ name, cases: parseGolden(readFileSync(join(dir, name), 'latin1'), name) }));
}

/**
 * Copies of the workplace's shared/reference/golden captures (01-30 and their README),
 * kept in the repository so the tests need nothing outside the checkout.
 */
export const GOLDEN_DIR = new URL('../fixtures/golden/', import.meta.url).pathname;
