import test from 'ava';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { notFoundReport } from '../../src/cli/hooks/command-not-found.js';

// `xenemu <typo>` and `xenemu --version`, through dist/ (npm run build first), with stdin
// not a terminal: the answer must come at once, never a prompt.

const BIN = join(fileURLToPath(new URL('../..', import.meta.url)), 'bin/run.js');

function xenemu(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  // Without ava's NODE_ENV=test, which sends oclif looking for the TypeScript sources.
  const { NODE_ENV: _, ...env } = process.env;
  const r = spawnSync(process.execPath, [BIN, ...args], { input: '', env, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('an unknown command names the word typed and the nearest commands, and exits 1 like xl', (t) => {
  const r = xenemu('crate', 'configs/web.yaml');
  t.is(r.status, 1);
  t.is(r.stdout, '');
  t.is(
    r.stderr,
    "xenemu: 'crate' is not a xenemu command.\nDid you mean: create?\nRun 'xenemu help' for a list of commands.\n",
  );
  t.notRegex(r.stderr, /crate:|not found/, "none of oclif's internal ids");
});

test('an unknown command in a topic is named with its topic', (t) => {
  const r = xenemu('xenstore', 'reed', '/x');
  t.is(r.status, 1);
  t.regex(r.stderr, /^xenemu: 'xenstore reed' is not a xenemu command\.\nDid you mean: xenstore read\?\n/);
});

test('the nearest commands: typos within reach, nothing for a word far from all', (t) => {
  const ids = ['create', 'destroy', 'list', 'xenstore:read', 'xenstore:rm', 'xenstore:chmod'];
  const isTopic = (id: string) => id === 'xenstore';
  t.deepEqual(notFoundReport('destory', ids, isTopic), { typed: 'destory', nearest: ['destroy'] });
  t.deepEqual(notFoundReport('frobnicate', ids, isTopic), { typed: 'frobnicate', nearest: [] });
  t.deepEqual(notFoundReport('xenstore:reed:/x', ids, isTopic).nearest, ['xenstore read']);
});

test('--version, -v and version print the version', (t) => {
  for (const args of [['--version'], ['-v'], ['version']]) {
    const r = xenemu(...args);
    t.is(r.status, 0, args.join(' '));
    t.regex(r.stdout, /^xenemu\/\d+\.\d+\.\d+ /, args.join(' '));
  }
});
