import test from 'ava';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { needing } from '../helpers/needing.js';

// A test whose reference is missing is reported as skipped, with the reason, and the
// run's own count (scripts/run-tests.js) says so: it never counts as passed. This file
// is its own fixture: run with XENEMU_SKIP_REPORT_FIXTURE=1 it registers one test that
// runs and one whose tool is missing.

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const SELF = 'test/cli/skip-report.test.ts';

if (process.env.XENEMU_SKIP_REPORT_FIXTURE === '1') {
  needing(null)('fixture: a test with what it needs', (t) => t.pass());
  needing('/nonexistent/tool is not installed')('fixture: a test without its tool', (t) => t.fail('a skipped test never runs'));
} else {
  test('a test whose tool is missing is counted as skipped, with the reason in its title', (t) => {
    const run = spawnSync(process.execPath, ['scripts/run-tests.js', SELF], {
      cwd: REPO,
      env: { ...process.env, XENEMU_SKIP_REPORT_FIXTURE: '1' },
      encoding: 'utf8',
    });
    const lines = run.stdout.split('\n');
    t.true(lines.some((l) => /^ok \d+ - .*a test without its tool \(skipped: \/nonexistent\/tool is not installed\) # SKIP/.test(l)), run.stdout);
    t.true(lines.includes('1 skipped'), run.stdout);
    t.true(lines.includes('1 passed, 0 failed'), run.stdout);
    t.is(run.status, 0, run.stderr);
  });
}
