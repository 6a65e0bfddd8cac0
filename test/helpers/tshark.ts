import { execFileSync, spawnSync } from 'node:child_process';

/** Null when tshark runs here, else why the tests that read captures with it are skipped. */
export const tsharkMissing: string | null = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0 ? null : 'tshark is not installed (apt-get install tshark)';

/**
 * tshark's reading of a capture: one row per frame with the fields asked for
 * (`-T fields -e ...`, tab-separated), after an optional display filter. It fails the
 * test (throws with tshark's message) on a file tshark cannot read.
 */
export function tsharkFields(file: string, fields: string[], filter?: string): string[][] {
  const args = ['-r', file, '-T', 'fields', ...fields.flatMap((f) => ['-e', f]), ...(filter !== undefined ? ['-Y', filter] : [])];
  const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return out.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}
