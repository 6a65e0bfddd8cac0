import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import fc from 'fast-check';
import { XsClient } from '../../src/protocol/xs-client.js';
import { connectXsClient } from '../../src/client/xs-socket.js';
import { needing } from '../helpers/needing.js';
import { assertBuilt, bash, makeShimDir, toolEnv, type Outcome } from '../helpers/xenstore-cli.js';
import { startTarget, type XenstoredTarget } from '../helpers/xenstored-target.js';

// Our tools against the real C tools on the same daemon and the same data, for data
// made up by fast-check (fixed seeds, so a failure can be replayed): random trees with
// binary values, long names and odd permissions, printed by ls in every layout and at
// random terminal widths; random values read back; random write escapes.

const REAL_TOOL = '/usr/bin/xenstore-read';
/** Without the real tools there is nothing to compare with: the tests are skipped, not passed. */
const compared = needing(existsSync(REAL_TOOL) ? null : `the real xenstore tools are not installed (${REAL_TOOL})`, { serial: true });
const SEED = Number(process.env.XENEMU_CROSSCHECK_SEED ?? 20261126);
let target: XenstoredTarget;
let client: XsClient;
let shims: string;

test.before(async () => {
  assertBuilt();
  target = await startTarget('crosscheck');
  client = await connectXsClient(target.socket);
  await client.rm('/xc').catch(() => {});
  shims = makeShimDir();
});

test.after.always(async () => {
  client?.close();
  await target?.dispose();
});

/** Run argv with the real tools and with ours (PATH decides), byte strings out. */
function exec(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1).map((a) => Buffer.from(a, 'latin1').toString('utf8')), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('latin1').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('latin1').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, exit: code ?? -1 }));
  });
}

const realEnv = (): NodeJS.ProcessEnv => ({ ...target.env, PATH: `/usr/bin:${target.env.PATH ?? ''}` });
const shimEnv = (): NodeJS.ProcessEnv => toolEnv(target.env, shims);

const segment = fc.stringMatching(/^[a-z0-9_@-]{1,12}$/);
const longSegment = fc.stringMatching(/^[a-z]{60,90}$/);
const value = fc.oneof(
  fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
  fc.stringMatching(/^[ -~]{0,150}$/).map((s) => Buffer.from(s, 'latin1')),
  fc.constantFrom(Buffer.alloc(0), Buffer.from('\\"\t\n'), Buffer.alloc(70, 0x7f)),
);
const perms = fc.array(fc.tuple(fc.constantFrom('r', 'w', 'b', 'n'), fc.integer({ min: 0, max: 32000 })), { minLength: 1, maxLength: 4 });
const node = fc.record({
  path: fc.array(fc.oneof({ weight: 8, arbitrary: segment }, { weight: 1, arbitrary: longSegment }), { minLength: 1, maxLength: 6 }),
  value,
  perms: fc.option(perms, { nil: undefined }),
});
const trees = fc.sample(fc.array(node, { minLength: 1, maxLength: 25 }), { seed: SEED, numRuns: 6 });

for (const [i, tree] of trees.entries()) {
  compared(`ls, read and list print what the C tools print (tree ${i}, seed ${SEED})`, async (t) => {
    const root = `/xc/t${i}`;
    const leaves: string[] = [];
    for (const n of tree) {
      const path = `${root}/${n.path.join('/')}`;
      await client.write(path, n.value);
      if (n.perms) await client.setPerms(path, n.perms.map(([l, d]) => `${l}${d}`));
      leaves.push(path);
    }
    const dirs = [root, ...new Set(leaves.map((p) => p.slice(0, p.lastIndexOf('/'))))];
    const widths = fc.sample(fc.integer({ min: 1, max: 200 }), { seed: SEED + i, numRuns: 2 });
    const commands: string[][] = [
      ['xenstore-ls', root],
      ['xenstore-ls', '-p', root],
      ['xenstore-ls', '-f', root],
      ['xenstore-ls', '-f', '-p', root],
      ['xenstore-read', ...leaves],
      ['xenstore-read', '-p', ...leaves],
      ['xenstore-read', '-R', ...leaves],
      ['xenstore-list', '-p', ...dirs],
      ['xenstore-exists', ...leaves],
      ...widths.map((w) => ['script', '-qc', `stty cols ${w}; xenstore-ls -p ${root}; xenstore-ls -f ${root}`, '/dev/null']),
    ];
    for (const argv of commands) {
      const real = await exec(argv, realEnv());
      const ours = await exec(argv, shimEnv());
      t.deepEqual(ours, real, argv.join(' ').slice(0, 200));
    }
  });
}

compared(`write parses escapes as the C tool does (seed ${SEED})`, async (t) => {
  const alphabet = fc.constantFrom(...'\\\\\\\\xX0123456789abcdefABCDEF \t-+ntrq8'.split(''));
  const specs = fc.sample(fc.array(alphabet, { maxLength: 14 }).map((a) => a.join('')), { seed: SEED, numRuns: 150 });
  const write = async (dir: string, env: NodeJS.ProcessEnv): Promise<Outcome> =>
    exec(['xenstore-write', '--', ...specs.flatMap((s, i) => [`/xc/w/${dir}/${i}`, s])], env);
  const real = await write('real', realEnv());
  t.deepEqual(real, { stdout: '', stderr: '', exit: 0 });
  t.deepEqual(await write('shim', shimEnv()), real);
  for (const [i, spec] of specs.entries()) {
    const [theirs, ours] = await Promise.all([client.read(`/xc/w/real/${i}`), client.read(`/xc/w/shim/${i}`)]);
    t.deepEqual(ours.toString('latin1'), theirs.toString('latin1'), JSON.stringify(spec));
  }
});

compared('a stopped pipe ends our tools quietly, as SIGPIPE ends the C tools', async (t) => {
  // Far more than a pipe holds, so the writer is still writing when head has gone.
  for (let i = 0; i < 150; i++) await client.write(`/xc/pipe/n${i}`, 'y'.repeat(2000));
  const cmd = 'xenstore-ls -f /xc/pipe | head -c 10; echo " ${PIPESTATUS[0]}"';
  t.deepEqual(await bash(cmd, shimEnv()), await bash(cmd, realEnv()));
});
