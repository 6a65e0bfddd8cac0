import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

// Commands reach the daemon's internals only through the control socket: nothing on
// the CLI side (commands/, src/client, src/cli, src/compat, src/ui) imports src/host.
// What both sides share (the state dir, its lock, host.yaml, last-start.json) lives
// in src/state; the wire types in src/protocol. Below them, nothing imports the
// CLI's presentation layers: the daemon builds libxl's data (src/toolstack/libxl),
// src/ui only prints it.

const REPO = new URL('../../', import.meta.url).pathname;
const CLI_SIDE = ['commands', 'src/client', 'src/cli', 'src/compat', 'src/ui'];
const BELOW_UI = ['src/protocol', 'src/toolstack', 'src/host', 'src/hypervisor', 'src/kernel', 'src/xenstore', 'src/abi', 'src/state', 'src/common', 'src/faults', 'src/net'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every import in `dirs` whose specifier matches `forbidden`, as "file: specifier". */
function importsMatching(dirs: readonly string[], forbidden: RegExp): string[] {
  const found: string[] = [];
  for (const dir of dirs) {
    for (const file of sources(join(REPO, dir))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/(?:from\s+|import\()\s*'([^']+)'/g)) {
        if (forbidden.test(m[1]!) && !m[1]!.startsWith('./')) found.push(`${relative(REPO, file)}: ${m[1]}`);
      }
    }
  }
  return found;
}

test('no CLI-side module imports src/host', (t) => {
  t.deepEqual(importsMatching(CLI_SIDE, /(^|\/)host\//), []);
});

test('the daemon and the layers below it import nothing from src/ui, src/cli, src/compat or commands/', (t) => {
  t.deepEqual(importsMatching(BELOW_UI, /(^|\/)(ui|cli|compat|commands)\//), []);
});
