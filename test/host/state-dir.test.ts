import test from 'ava';
import { chmodSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureStateDir, statePaths } from '../../src/state/state-dir.js';
import { tempHome } from '../helpers/daemon.js';

test('a state dir made by an older version is tightened: files 0600, journal/ 0700', (t) => {
  const home = tempHome();
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  const paths = statePaths(home);
  mkdirSync(paths.journalDir, { mode: 0o755 });
  chmodSync(paths.journalDir, 0o755);
  const files = [paths.database, `${paths.database}-wal`, paths.daemonLock, paths.startLock, join(paths.journalDir, 'journal.3')];
  for (const f of files) {
    writeFileSync(f, '');
    chmodSync(f, 0o644);
  }
  ensureStateDir(paths);
  t.is(statSync(paths.journalDir).mode & 0o777, 0o700);
  for (const f of files) t.is(statSync(f).mode & 0o777, 0o600, f);
});

test('a state dir that is a file, or under one, is refused with a message naming it, not a bare EEXIST', (t) => {
  const dir = tempHome();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'home');
  writeFileSync(file, '');
  t.throws(() => ensureStateDir(statePaths(file)), {
    message: `${file} is a regular file; set XENEMU_HOME to a directory (it is made if missing)`,
  });
  t.throws(() => ensureStateDir(statePaths(join(file, 'below'))), {
    message: `cannot make the state dir ${join(file, 'below')}: Not a directory; set XENEMU_HOME to a directory you can write`,
  });
});
