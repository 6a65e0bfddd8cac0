import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const FIXTURES = join(HERE, 'fixtures');
export const TOOLS = join(HERE, 'tools');

export function fixture(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}

/**
 * Compiles one of tools/*.c with gcc into a cache directory and returns the binary,
 * or null when gcc or the libraries are missing (the live cross-checks then skip;
 * the committed fixtures, produced by the same programs, still run).
 */
export function cOracle(source: string, flags: readonly string[] = []): string | null {
  const src = join(TOOLS, source);
  const key = createHash('sha256').update(readFileSync(src)).update(flags.join(' ')).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'xenemu-ui-xl-oracles');
  const bin = join(dir, `${source.replace(/\.c$/, '')}-${key}`);
  if (existsSync(bin)) return bin;
  try {
    mkdirSync(dir, { recursive: true });
    execFileSync('gcc', ['-O2', '-DHAVE_YAJL_YAJL_VERSION_H', '-o', bin, src, ...flags], { stdio: 'ignore' });
    return bin;
  } catch {
    return null;
  }
}

/** Runs a binary with stdin and returns stdout. */
export function run(bin: string, args: readonly string[], input = ''): string {
  return execFileSync(bin, args, { input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}
