import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

// Commands reach the daemon's internals only through the control socket: nothing on
// the CLI side (commands/, src/client, src/cli, src/compat, src/ui) imports src/host.
// What both sides share (the state dir, its lock, host.yaml, last-start.json) lives
// in src/state; the wire types in src/protocol.

const REPO = new URL('../../', import.meta.url).pathname;
const CLI_SIDE = ['commands', 'src/client', 'src/cli', 'src/compat', 'src/ui'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

test('no CLI-side module imports src/host', (t) => {
  const found: string[] = [];
  for (const dir of CLI_SIDE) {
    for (const file of sources(join(REPO, dir))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/(?:from\s+|import\()\s*'([^']+)'/g)) {
        if (/(^|\/)host\//.test(m[1]!) && !m[1]!.startsWith('./')) found.push(`${relative(REPO, file)}: ${m[1]}`);
      }
    }
  }
  t.deepEqual(found, []);
});
