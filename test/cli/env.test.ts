import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { binScript, formatEnv, prepareEnv, shellQuote, XENSTORE_TOOLS } from '../../src/compat/env.js';
import { statePaths } from '../../src/state/state-dir.js';
import { startHost } from '../helpers/daemon.js';
import { assertBuilt, RUN_JS, scratchDir, SHIM } from '../helpers/xenstore-cli.js';

/** A PATH directory holding executables (and a dangling link, like Debian's xenstore-control wrapper). */
function fakeBin(present: string[], dangling: string[] = []): string {
  const dir = join(scratchDir('xe-'), 'bin');
  mkdirSync(dir);
  for (const name of present) {
    writeFileSync(join(dir, name), '#!/bin/sh\n');
    chmodSync(join(dir, name), 0o755);
  }
  for (const name of dangling) symlinkSync('/nonexistent/wrapper', join(dir, name));
  return dir;
}

test('only missing tools get a shim, and the shim directory goes last on PATH', (t) => {
  const real = fakeBin(['xenstore', 'xenstore-read', 'xenstore-write'], ['xenstore-control']);
  const paths = statePaths(scratchDir('xe-'));
  const plan = prepareEnv(paths, { PATH: `${real}:/nonexistent` }, binScript, true);
  const missing = XENSTORE_TOOLS.filter((n) => !['xenstore', 'xenstore-read', 'xenstore-write'].includes(n));
  t.deepEqual(plan.shims, [...missing, 'xl', 'xentop']);
  t.is(plan.variables.PATH, `${real}:/nonexistent:${paths.shimDir}`);
  for (const tool of missing) t.is(readlinkSync(join(paths.shimDir, tool)), SHIM);
  t.is(readlinkSync(join(paths.shimDir, 'xl')), binScript('xl.js'));
  t.is(readlinkSync(join(paths.shimDir, 'xentop')), binScript('xentop.js'));
  t.false(existsSync(join(paths.shimDir, 'xenstore-read')));
  t.deepEqual(
    { XENEMU_HOME: plan.variables.XENEMU_HOME, XENSTORED_PATH: plan.variables.XENSTORED_PATH },
    { XENEMU_HOME: paths.home, XENSTORED_PATH: paths.socket },
  );
});

test('running env again after eval gives the same answer; a tool installed since loses its shim', (t) => {
  const real = fakeBin(['xenstore-read']);
  const paths = statePaths(scratchDir('xe-'));
  const first = prepareEnv(paths, { PATH: real }, binScript, true);
  const again = prepareEnv(paths, { PATH: first.variables.PATH }, binScript, true);
  t.deepEqual(again, first);
  writeFileSync(join(real, 'xenstore-ls'), '#!/bin/sh\n');
  chmodSync(join(real, 'xenstore-ls'), 0o755);
  const later = prepareEnv(paths, { PATH: first.variables.PATH }, binScript, true);
  t.false(later.shims.includes('xenstore-ls'));
  t.false(existsSync(join(paths.shimDir, 'xenstore-ls')));
});

test('nothing missing: no PATH and no shims', (t) => {
  const real = fakeBin([...XENSTORE_TOOLS, 'xl', 'xentop']);
  const plan = prepareEnv(statePaths(scratchDir('xe-')), { PATH: real }, binScript, true);
  t.deepEqual(plan.shims, []);
  t.false('PATH' in plan.variables);
  t.notRegex(formatEnv(plan), /^export PATH=/m);
});

test('an installed xl or xentop that cannot work here (no /dev/xen) is overridden from the front of PATH, and only those', (t) => {
  const real = fakeBin([...XENSTORE_TOOLS, 'xl', 'xentop']);
  const paths = statePaths(scratchDir('xe-'));
  const plan = prepareEnv(paths, { PATH: real }, binScript, false);
  t.deepEqual(plan.shims, ['xl', 'xentop']);
  t.is(plan.variables.PATH, `${plan.overrideDir}:${real}`);
  t.is(readlinkSync(join(plan.overrideDir, 'xl')), binScript('xl.js'));
  t.is(readlinkSync(join(plan.overrideDir, 'xentop')), binScript('xentop.js'));
  t.false(existsSync(join(plan.overrideDir, 'xenstore-read')));
  // With a hypervisor the real ones are used and the override goes away.
  const onXen = prepareEnv(paths, { PATH: plan.variables.PATH }, binScript, true);
  t.deepEqual(onXen.shims, []);
  t.false(existsSync(join(plan.overrideDir, 'xl')));
  t.false(existsSync(join(plan.overrideDir, 'xentop')));
});

test('an installed xl alone is overridden alone; a missing xentop gets its shim at the end of PATH', (t) => {
  const real = fakeBin([...XENSTORE_TOOLS, 'xl']);
  const paths = statePaths(scratchDir('xe-'));
  const plan = prepareEnv(paths, { PATH: real }, binScript, false);
  t.deepEqual(plan.shims, ['xentop', 'xl']);
  t.is(plan.variables.PATH, `${plan.overrideDir}:${real}:${paths.shimDir}`);
  t.false(existsSync(join(plan.overrideDir, 'xentop')));
  t.is(readlinkSync(join(paths.shimDir, 'xentop')), binScript('xentop.js'));
});

test('the exports survive eval whatever the characters', (t) => {
  const nasty = `/tmp/it's a "home" $HOME \`id\` \\ ;|&`;
  const plan = { variables: { XENEMU_HOME: nasty, XENSTORED_PATH: `${nasty}/socket` }, shims: [], shimDir: '', overrideDir: '' };
  const out = execFileSync('bash', ['-c', `eval "$1"; printf '%s\\n%s' "$XENEMU_HOME" "$XENSTORED_PATH"`, 'bash', formatEnv(plan)], { encoding: 'utf8' });
  t.is(out, `${nasty}\n${nasty}/socket`);
  t.is(shellQuote("a'b"), `'a'\\''b'`);
});

test('`xenemu env` points the tools at the host: eval, then xenstore-* work', async (t) => {
  assertBuilt();
  const host = await startHost();
  try {
    // No xenstore tools on PATH at all: every one comes from the shims.
    const env = { HOME: process.env.HOME, XENEMU_HOME: host.paths.home, PATH: `${fakeBin([])}:/usr/bin/env-missing:${process.execPath.replace(/\/node$/, '')}:/bin` };
    const script = `eval "$(node ${RUN_JS} env)" && xenstore-write /envtest/a 'x y' && xenstore-read /envtest/a && xenstore read /envtest/a && xenstore-control print hi && echo "$XENSTORED_PATH"`;
    const r = spawnSync('bash', ['-c', script], { env, encoding: 'utf8' });
    t.is(r.stderr, '');
    t.is(r.stdout, `x y\nx y\nOK\n${host.paths.socket}\n`);
    const js = spawnSync(process.execPath, [RUN_JS, 'env', '--json'], { env, encoding: 'utf8' });
    const vars = JSON.parse(js.stdout) as Record<string, string>;
    t.is(vars.XENSTORED_PATH, host.paths.socket);
    t.true(vars.PATH!.endsWith(`:${host.paths.shimDir}`));
  } finally {
    await host.dispose();
  }
});
