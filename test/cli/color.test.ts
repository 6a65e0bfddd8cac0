import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Colour follows chalk's detection of the process's own streams (FORCE_COLOR, TERM=dumb,
// a terminal or a pipe) plus NO_COLOR, which chalk 5 does not read; each case runs in a
// process of its own, since chalk decides when it loads.

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(REPO, 'bin/run.js');
const ESC = '\x1b[';

/** The environment of a case: nothing of ours or the runner's about colour. */
function envWith(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' };
  for (const k of ['FORCE_COLOR', 'NO_COLOR', 'COLORTERM', 'CI', 'NODE_DISABLE_COLORS']) delete env[k];
  return { ...env, ...extra };
}

const PRINT_LEVELS = "import('./src/ui/color.ts').then((m) => process.stdout.write(m.colorLevel('stdout') + ' ' + m.colorLevel('stderr')))";

/** colorLevel for stdout and stderr, with both on pipes or (tty) both on a terminal. */
function levels(extra: NodeJS.ProcessEnv, tty = false): string {
  const node = `${process.execPath} --import tsx -e "${PRINT_LEVELS}"`;
  const r = tty
    ? spawnSync('script', ['-qec', node, '/dev/null'], { cwd: REPO, env: envWith(extra), encoding: 'utf8' })
    : spawnSync('sh', ['-c', node], { cwd: REPO, env: envWith(extra), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`levels: ${r.stderr}`);
  return r.stdout.trim();
}

test('the colour level: a terminal has colour, a pipe none; NO_COLOR and TERM=dumb turn it off; FORCE_COLOR wins', (t) => {
  t.is(levels({}, true), '2 2', 'a 256-colour terminal');
  t.is(levels({}), '0 0', 'pipes');
  t.is(levels({ NO_COLOR: '1' }, true), '0 0', 'NO_COLOR on a terminal');
  t.is(levels({ NO_COLOR: '' }, true), '2 2', 'NO_COLOR empty counts as unset (no-color.org)');
  t.is(levels({ TERM: 'dumb' }, true), '0 0', 'a dumb terminal');
  t.is(levels({ FORCE_COLOR: '1' }), '2 2', 'FORCE_COLOR on pipes: at least basic colour, and what TERM offers');
  t.is(levels({ FORCE_COLOR: '1', TERM: 'dumb' }), '1 1', 'FORCE_COLOR over a dumb terminal');
  t.is(levels({ FORCE_COLOR: '2', NO_COLOR: '1', TERM: 'dumb' }), '2 2', 'FORCE_COLOR over NO_COLOR');
  t.is(levels({ FORCE_COLOR: '0' }, true), '0 0', 'FORCE_COLOR=0 on a terminal');
});

test('host status, warnings and error messages are styled by chalk where colour is on, and plain text elsewhere', (t) => {
  const home = mkdtempSync(join(tmpdir(), 'xe-color-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  const xenemu = (args: string[], extra: NodeJS.ProcessEnv) => spawnSync(process.execPath, [BIN, ...args], { env: envWith({ XENEMU_HOME: home, ...extra }), encoding: 'utf8' });

  const plain = xenemu(['host', 'status'], {});
  t.is(plain.stdout, `xenemu host: stopped (state dir ${home})\n`);
  t.is(xenemu(['host', 'status'], { FORCE_COLOR: '1', NO_COLOR: '' }).stdout, `xenemu host: ${ESC}33m${ESC}1mstopped${ESC}22m${ESC}39m (state dir ${home})\n`);
  t.is(xenemu(['host', 'status'], { NO_COLOR: '1' }).stdout, plain.stdout);

  const bad = join(home, 'bad.yaml');
  writeFileSync(bad, 'name: 5\n');
  const error = xenemu(['config', 'convert', bad], {});
  t.is(error.status, 1);
  t.false(error.stderr.includes(ESC), error.stderr);
  const red = xenemu(['config', 'convert', bad], { FORCE_COLOR: '1' });
  t.is(red.stderr, `${ESC}31m${error.stderr.trimEnd()}${ESC}39m\n`);

  const cfg = join(home, 'old.cfg');
  writeFileSync(cfg, 'name = "w"\nbuilder = "hvm"\nmemory = 128\n');
  const warning = `${cfg}:2:1: builder: builder is deprecated: write type = "hvm"\n`;
  t.is(xenemu(['create', '-v', '-n', cfg], {}).stderr, `Parsing config from ${cfg}\nxenemu: warning: ${warning}`);
  t.is(xenemu(['create', '-v', '-n', cfg], { FORCE_COLOR: '1' }).stderr, `Parsing config from ${cfg}\nxenemu: ${ESC}33mwarning:${ESC}39m ${warning}`);
});
