import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseLikeOclif, type ManifestCommand } from '../../src/cli/oclif-argv.js';
import { manifestCommands } from '../../src/cli/dispatch.js';
import { applyGlobalVerbose, isXlVerb } from '../../src/compat/xl-verbs.js';
import { assertXlBuilt, CONFIGS, REPO, runNode, RUN_JS, scratch, scratchFile, xlHost, type Outcome, type XlHost } from './helpers.js';

// `xenemu <xl verb>` through the fast path (src/compat/fast-xl.ts) and through oclif
// (XENEMU_FAST_PATH=0) give the same stdout, stderr and exit status. The two paths run
// the same script of commands, failures included, each against a host of its own in
// the same state, so that commands that change the host can be compared too.

let fast: XlHost;
let oclif: XlHost;

test.before(async () => {
  assertXlBuilt();
  [fast, oclif] = await Promise.all([xlHost(), xlHost()]);
});

test.after.always(async () => {
  await Promise.all([fast?.dispose(), oclif?.dispose()]);
});

const WEB = join(CONFIGS, 'web.yaml');
const MANIFEST = new URL('oclif.manifest.json', `file://${REPO}`);

/** Whether the fast path takes this command line (else it goes to oclif on both sides). */
function takenFast(argv: readonly string[]): boolean {
  const [verb, ...rest] = applyGlobalVerbose(argv);
  if (!isXlVerb(verb)) return false;
  const cmd: ManifestCommand | undefined = manifestCommands(MANIFEST)[verb];
  return cmd !== undefined && parseLikeOclif(cmd, rest) !== null;
}

/** What changes from run to run and host to host: CPU times, uptimes, UUIDs. */
const steady = (text: string): string =>
  text
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID')
    .replace(/\d+:\d\d:\d\d/g, 'H:MM:SS')
    .replace(/\d+\.\d+/g, 'N.N');

const BAD = scratchFile('bad.yaml', 'name: bad\nmemory: lots\nvcpus: 1\nkernel: /boot/vmlinuz\n');

/**
 * Where the script runs: create's configs are named relative to it (the daemon reads
 * them by absolute path, naming them as typed), each in a directory below, which
 * their relative disk targets resolve against.
 */
const CWD = scratch();
mkdirSync(join(CWD, 'vm'));
const inCwd = (name: string, text: string): void => writeFileSync(join(CWD, 'vm', name), text);
// A multicast mac: a warning create always prints (before a failure too).
inCwd('rel.yaml', 'name: rel\ntype: pvh\nmemory: 64\ndisk:\n  - target: rel.img\n    vdev: xvda\nvif:\n  - mac: "01:16:3e:00:00:01"\n');
inCwd('bad.yaml', 'name: bad\nmemory: lots\nvcpus: 1000\n');
// Notes (not emulated, deprecated) that only -v prints.
inCwd('hvm.cfg', 'name = "win"\ntype = "hvm"\nmemory = 64\ndisk = [ "file:win.img,hda,w" ]\nvnc = 1\n');
for (const image of ['rel.img', 'win.img']) {
  inCwd(image, '');
  truncateSync(join(CWD, 'vm', image), 1 << 20);
}

/** The script: every verb, plain and with its flags, and the failures xl reports. */
const SCRIPT: string[][] = [
  ['list'],
  ['list', '-v'],
  ['list', 'nope'],
  ['list', 'a', 'b'],
  ['info'],
  ['info', 'free_memory'],
  ['domid', 'Domain-0'],
  ['domid', 'nope'],
  ['domname', '0'],
  ['domname', '99'],
  ['console', 'nope'],
  ['console', '0'],
  ['console', '-t', 'bad', 'nope'],
  ['console', '-n', '1', '99'],
  ['create', '-n', WEB],
  ['create', WEB],
  ['create', WEB],
  ['create', '/nonexistent.yaml'],
  ['create', BAD],
  ['create', '-q', '-p', WEB, 'name="second"', 'memory=128'],
  ['create', 'a.yaml', 'b.yaml'],
  ['create'],
  ['list'],
  ['list', '-l', 'second'],
  ['vcpu-list'],
  ['vcpu-list', 'web'],
  ['vcpu-set', 'web', '1'],
  ['vcpu-set', 'web', '99'],
  ['vcpu-pin', 'web', 'all', '0-1'],
  ['vcpu-pin', 'web', '0', '9'],
  ['mem-set', 'web', '256'],
  ['mem-set', 'web', '1x'],
  ['mem-max', 'web', '1024'],
  ['mem-max', 'nope', '1024'],
  ['pause', 'web'],
  ['list', 'web'],
  ['unpause', 'web'],
  ['unpause', 'second'],
  ['rename', 'web', 'web2'],
  ['rename', 'nope', 'x'],
  ['debug-keys', 'hx'],
  ['debug-keys'],
  ['dmesg'],
  ['uptime', '-s', 'web2'],
  ['shutdown'],
  ['shutdown', '-w', 'web2'],
  ['reboot', 'nope'],
  ['destroy', '0'],
  ['destroy', 'nope'],
  ['destroy', 'second'],
  ['-v', 'create', '-n', WEB],
  ['create', '-p', 'vm/rel.yaml'],
  ['list', '-l', 'rel'],
  ['create', 'vm/rel.yaml'],
  ['create', 'vm/rel.yaml', 'name="rel2"', 'memory=lots'],
  ['create', '-q', 'vm/rel.yaml', 'name="rel2"', 'memory=32', 'vif=[]'],
  ['create', 'vm/bad.yaml'],
  ['create', 'vm'],
  ['create', 'vm/missing.yaml'],
  ['create', '-p', 'vm/hvm.cfg'],
  ['destroy', 'win'],
  ['-v', 'create', '-p', 'vm/hvm.cfg'],
  ['list'],
  ['destroy', 'win'],
  ['destroy', 'rel'],
  ['destroy', 'rel2'],
  ['-v', 'list'],
  ['list', '--nope'],
  ['domid'],
  ['list'],
];

/** Run part of the script on both hosts, in order; returns how many lines the fast path took. */
async function compare(t: ExecutionContext, lines: readonly string[][]): Promise<number> {
  let fastOnes = 0;
  for (const argv of lines) {
    const [a, b]: [Outcome, Outcome] = await Promise.all([runNode(RUN_JS, argv, fast.env, CWD), runNode(RUN_JS, argv, { ...oclif.env, XENEMU_FAST_PATH: '0' }, CWD)]);
    t.deepEqual({ ...a, stdout: steady(a.stdout), stderr: steady(a.stderr) }, { ...b, stdout: steady(b.stdout), stderr: steady(b.stderr) }, `xenemu ${argv.join(' ')}`);
    if (takenFast(argv)) fastOnes++;
  }
  return fastOnes;
}

// The script in parts (serial, in order: each part starts where the previous left the
// hosts), so that no one test runs for long on a busy machine.
const PARTS = 4;
let fastOnes = 0;
for (let part = 0; part < PARTS; part++) {
  const size = Math.ceil(SCRIPT.length / PARTS);
  test.serial(`the script, part ${part + 1} of ${PARTS}: every command prints and exits the same through the fast path and through oclif`, async (t) => {
    fastOnes += await compare(t, SCRIPT.slice(part * size, (part + 1) * size));
    // The script is mostly plain command lines, which the fast path must take.
    if (part === PARTS - 1) t.true(fastOnes >= SCRIPT.length - 6, `${fastOnes} of ${SCRIPT.length} through the fast path`);
  });
}

test.serial('block-attach, block-list and block-detach print and exit the same through the fast path and through oclif', async (t) => {
  // The same spare image on both hosts: its path is in block-list -l's output.
  const spare = scratchFile('spare.img', '\0'.repeat(64 * 1024));
  const both = async (what: (h: XlHost) => Promise<unknown>): Promise<void> => void (await Promise.all([what(fast), what(oclif)]));
  const lines = async (script: string[][]): Promise<void> => {
    t.is(await compare(t, script), script.length, 'every block line through the fast path');
  };
  await lines([['create', '-q', WEB]]);
  // Compared once both ends are Connected: the guest's frontend connects in its own time.
  await both((h) => h.disksConnected('web'));
  await lines([
    ['block-list', 'web'],
    ['block-list', 'web', 'nope', '0'],
    ['block-attach', 'web', `vdev=xvdb,access=rw,target=${spare}`],
    ['block-attach', 'web', 'vdev=xvdb', `target=${spare}`],
    ['block-attach', 'nope', `vdev=xvdc,target=${spare}`],
    ['block-attach', 'web', `vdev=bogus,target=${spare}`],
    ['block-attach', 'web', 'vdev=xvdc,target=/nonexistent.img'],
  ]);
  await both((h) => h.disksConnected('web'));
  await lines([
    ['block-list', 'web'],
    ['block-list', '-l', 'web'],
    ['block-detach', 'web', 'xvdb'],
    ['block-detach', 'web', 'xvdb'],
    ['block-detach', 'nope', 'xvda'],
    ['block-list', 'web'],
    ['destroy', 'web'],
  ]);
});

test.serial('xl\'s global -v before a verb is verbose, not --version; alone it still prints the version', async (t) => {
  const deprecated = scratchFile('dep.cfg', 'name = "dep"\nmemory = 128\nvcpus = 1\nkernel = "/boot/vmlinuz"\ndisk = [ "phy:/dev/vg/dep,xvda,w" ]\n');
  const plain = await runNode(RUN_JS, ['create', '-n', deprecated], fast.env);
  const verbose = await runNode(RUN_JS, ['-v', 'create', '-n', deprecated], fast.env);
  t.is(verbose.code, 0, verbose.stderr);
  t.is(steady(verbose.stdout), steady(plain.stdout));
  t.regex(verbose.stderr, /deprecated/);
  t.notRegex(plain.stderr, /deprecated/);
  for (const env of [fast.env, { ...fast.env, XENEMU_FAST_PATH: '0' }]) {
    const again = await runNode(RUN_JS, ['-v', 'create', '-n', deprecated], env);
    t.deepEqual({ ...again, stdout: steady(again.stdout) }, { ...verbose, stdout: steady(verbose.stdout) });
    for (const argv of [['-v'], ['--version'], ['version']]) {
      const r = await runNode(RUN_JS, argv, env);
      t.regex(r.stdout, /^xenemu\/\d+\.\d+\.\d+ /, argv.join(' '));
    }
  }
  t.deepEqual(applyGlobalVerbose(['-vv', 'list', '-v']), ['list', '-v']);
  t.deepEqual(applyGlobalVerbose(['-v', 'create', 'x']), ['create', '--verbose', 'x']);
  t.deepEqual(applyGlobalVerbose(['-v']), ['-v']);
  t.deepEqual(applyGlobalVerbose(['-v', '--help']), ['-v', '--help']);
});

test.serial('an xl verb never takes an operand from standard input (oclif would, for a missing one)', (t) => {
  for (const env of [fast.env, { ...fast.env, XENEMU_FAST_PATH: '0' }]) {
    const r = spawnSync(process.execPath, [RUN_JS, 'list', '--json'], { env, input: 'nope\n', encoding: 'utf8' });
    // `list nope` would fail: "nope is an invalid domain identifier".
    t.is(r.status, 0, r.stderr);
    t.true(Array.isArray(JSON.parse(r.stdout)));
  }
});
