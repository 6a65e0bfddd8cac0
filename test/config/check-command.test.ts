import { join } from 'node:path';
import test from 'ava';
import { REPO, runCommandSource, tempFile } from '../helpers/run.js';

/** Run `xenemu config check ARGS` from the TypeScript sources (no build needed). */
function check(...args: string[]) {
  return runCommandSource('config/check.ts', args);
}

const tmp = tempFile;

test('check passes the shipped configs silently', async (t) => {
  const r = await check(...['web.yaml', 'db.yaml', 'legacy.cfg'].map((f) => join(REPO, 'configs', f)));
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, '');
  t.is(r.stderr, '');
});

test('check prints each problem at its place and exits 1, for every file given', async (t) => {
  const good = tmp('good.cfg', 'name = "ok"\nmemory = 256\n');
  const bad = tmp('bad.yaml', 'name: x\nmemory: 512\nvcpus: 9999\n');
  const worse = tmp('worse.cfg', 'name = "y"\nmemory = "lots"\n');
  const r = await check(good, bad, worse);
  t.is(r.code, 1);
  t.is(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  t.is(lines.length, 2, r.stderr);
  t.regex(lines[0]!, new RegExp(`^${bad.replace(/[.]/g, '\\.')}:3:8: vcpus: must be at most 8192`));
  t.regex(lines[1]!, new RegExp(`^${worse.replace(/[.]/g, '\\.')}:2:\\d+: memory: `));
});

test('check reports warnings without failing, and --json gives every file', async (t) => {
  const warn = tmp('vm.cfg', 'name = "w"\nvfb = [ "vnc=1" ]\n');
  const bad = tmp('bad.yaml', 'name: x\nvcpus: -1\n');
  const plain = await check(warn);
  t.is(plain.code, 0);
  t.is(plain.stderr, `${warn}:2:1: vfb: warning: vfb is not emulated by xenemu and was ignored\n`);
  const r = await check('--json', warn, bad);
  t.is(r.code, 1);
  const reports = JSON.parse(r.stdout) as { file: string; ok: boolean; errors: { line: number; key: string }[]; warnings: { key: string }[] }[];
  t.deepEqual(reports.map((x) => [x.file, x.ok, x.errors.map((e) => [e.key, e.line]), x.warnings.map((w) => w.key)]), [
    [warn, true, [], ['vfb']],
    [bad, false, [['vcpus', 2]], []],
  ]);
});
