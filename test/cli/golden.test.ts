import test from 'ava';
import { connectXsClient } from '../../src/client/xs-socket.js';
import { GOLDEN_DIR, loadGoldenDir } from '../helpers/golden.js';
import { replay, type Pass } from '../helpers/golden-replay.js';
import { assertBuilt, makeShimDir, makeXenemuDir } from '../helpers/xenstore-cli.js';
import { needing } from '../helpers/needing.js';
import { realXenstoreControl, startTarget, type XenstoredTarget } from '../helpers/xenstored-target.js';

// The captures of the real xenstore tools (shared/reference/golden 01-30), replayed in
// order against a daemon (see xenstored-target.ts) three times: through our shims,
// through `xenemu xenstore` on its fast path, and through oclif.

const files = loadGoldenDir(GOLDEN_DIR, (name) => Number(name.slice(0, 2)) <= 30);
let target: XenstoredTarget;

test.before(async () => {
  assertBuilt();
  target = await startTarget('golden');
});

test.after.always(async () => {
  await target?.dispose();
});

/** Each pass starts from a store without /golden, as the captures did. */
async function removeGolden(): Promise<void> {
  const c = await connectXsClient(target.socket);
  await c.rm('/golden').catch(() => {});
  c.close();
}

test('the golden captures parse', (t) => {
  t.is(files.length, 30);
  const all = files.flatMap((f) => f.cases);
  t.is(all.length, 96);
  const raw = all.find((c) => c.command === 'xenstore-read -R /golden/x/raw')!;
  t.is(raw.stdout, 'a\\nb\\x41');
  const multi = all.find((c) => c.command === 'xenstore frob /golden')!;
  t.deepEqual([multi.stdout, multi.stderr, multi.exit], ['', 'xenstore: unknown mode frob\n\n', 1]);
});

const passes: Array<{ title: string; pass: Pass; dir: () => string; env?: NodeJS.ProcessEnv }> = [
  { title: 'shims', pass: 'shim', dir: makeShimDir },
  { title: 'xenemu xenstore (fast path)', pass: 'xenemu', dir: makeXenemuDir },
  { title: 'xenemu xenstore (oclif)', pass: 'xenemu', dir: makeXenemuDir, env: { XENEMU_FAST_PATH: '0' } },
];

// xenstore-control's replies are compared with the real xenstore-control's (see
// referenceFor): without it, a file of such cases would compare nothing, so it is skipped.
const NO_CONTROL = realXenstoreControl() === undefined ? 'the real xenstore-control is not installed (scripts/test-prereqs.sh fetches it)' : null;
const hasControl = (f: (typeof files)[number]): boolean => f.cases.some((c) => c.command.startsWith('xenstore-control '));

for (const p of passes) {
  let dir = '';
  for (const f of files) {
    needing(hasControl(f) ? NO_CONTROL : null, { serial: true })(`${p.title}: ${f.name}`, async (t) => {
      if (dir === '') {
        dir = p.dir();
        await removeGolden();
      }
      await replay(t, p.pass, f.cases, { ...target.env, ...p.env }, dir);
    });
  }
}
