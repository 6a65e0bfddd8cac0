import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const OUT = fileURLToPath(new URL('../../.bench-out/', import.meta.url));

/** Compile bench/tools/<name>.c (once, or when the source changed) and return the binary. */
export function cTool(name: string): string {
  const src = fileURLToPath(new URL(`../tools/${name}.c`, import.meta.url));
  const bin = `${OUT}${name}`;
  if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(src).mtimeMs) {
    mkdirSync(OUT, { recursive: true });
    execFileSync('gcc', ['-O2', '-Wall', '-o', bin, src], { stdio: 'inherit' });
  }
  return bin;
}
