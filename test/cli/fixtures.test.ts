import test from 'ava';
import { existsSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { connectXsClient } from '../../src/client/xs-socket.js';
import { loadGoldenDir, type GoldenCase } from '../helpers/golden.js';
import { record, replay } from '../helpers/golden-replay.js';
import { assertBuilt, makeShimDir, makeXenemuDir, scratchDir } from '../helpers/xenstore-cli.js';
import { needing } from '../helpers/needing.js';
import { realXenstoreControl, startTarget, type XenstoredTarget } from '../helpers/xenstored-target.js';

// Cases the golden captures do not show (every tool's usage and option parsing, write
// escapes, ls layout on terminals, chmod parsing, watch counting, connection errors),
// recorded from the real tools against oxenstored with fixtures/record.sh.
//
// Each file is run three times from the same starting state: with the real C tools
// (when installed: their output is then the reference, which makes this a live
// cross-check on whatever daemon the test uses; against oxenstored it must also equal
// the recording), with our shims (must match byte for byte), and as `xenemu xenstore`
// (see golden-replay.ts for what is compared there).

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
const files = loadGoldenDir(FIXTURES);
const REAL_TOOLS = existsSync('/usr/bin/xenstore-read');
let target: XenstoredTarget;
let realDir: string;

test.before(async () => {
  assertBuilt();
  target = await startTarget('fixtures');
  // The real tools are in /usr/bin; xenstore-control needs a link (Debian's is a wrapper).
  realDir = scratchDir('xe-real-');
  const ctl = realXenstoreControl();
  if (ctl) symlinkSync(ctl, join(realDir, 'xenstore-control'));
  realDir = `${realDir}:/usr/bin`;
});

test.after.always(async () => {
  await target?.dispose();
});

/** Every file starts without /xt and the relative xt (under /local/domain/0). */
async function clean(): Promise<void> {
  const c = await connectXsClient(target.socket);
  await c.rm('/xt').catch(() => {});
  await c.rm('/local/domain/0/xt').catch(() => {});
  c.close();
}

test('the fixtures parse and cover every tool', (t) => {
  t.true(files.length >= 8);
  const commands = files.flatMap((f) => f.cases.map((c) => c.command));
  for (const tool of ['read', 'write', 'ls', 'list', 'rm', 'exists', 'chmod', 'watch', 'control']) {
    t.true(commands.some((c) => c.startsWith(`xenstore-${tool} `)), tool);
  }
});

// Without the real xenstore-control there is nothing to compare its replies with: a
// file with such cases is skipped rather than passed with them left out.
const NO_CONTROL = realXenstoreControl() === undefined ? 'the real xenstore-control is not installed (scripts/test-prereqs.sh fetches it)' : null;

for (const f of files) {
  const control = f.cases.some((c) => c.command.includes('xenstore-control'));
  needing(control ? NO_CONTROL : null, { serial: true })(`fixtures ${f.name}`, async (t) => {
    let reference: GoldenCase[] = f.cases;
    if (REAL_TOOLS) {
      await clean();
      reference = await record(f.cases, target.env, realDir);
      if (target.kind === 'oxenstored') {
        // The recording is still what the real tools print.
        const strip = (cs: GoldenCase[]): unknown[] =>
          cs.filter((c) => !c.command.startsWith('xenstore-control')).map(({ command, stdout, stderr, exit }) => ({ command, stdout, stderr, exit }));
        t.deepEqual(strip(reference), strip(f.cases), 'the real tools no longer print what was recorded');
      }
    } else {
      t.log('real xenstore tools not installed: comparing with the recording');
    }
    const byIndex = async (_c: GoldenCase, i: number): Promise<GoldenCase | null> => reference[i] ?? null;
    await clean();
    await replay(t, 'shim', f.cases, target.env, makeShimDir(), byIndex);
    await clean();
    await replay(t, 'xenemu', f.cases, target.env, makeXenemuDir(), byIndex);
  });
}
