import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planXentop } from '../../src/compat/xentop-main.js';
import { assertXlBuilt, REPO, runNode, xlHost, type XlHost } from '../cli-xl/helpers.js';
import { buildXentopStub, XENTOP } from '../helpers/xentop-stub.js';

// The xentop shim (bin/xentop.js, and `xl top`): xentop 4.17's command line in front of
// the emulated host. Its option handling is checked against the real xentop binary run
// on a stand-in libxenstat (it ends before xenstat_init for all of these), and its runs
// against a daemon of the test's own.

const XENTOP_JS = join(REPO, 'bin/xentop.js');
let dir: string;
let h: XlHost;

test.before(async () => {
  assertXlBuilt();
  dir = mkdtempSync(join(tmpdir(), 'xe-xentop-shim-'));
  buildXentopStub(dir);
  h = await xlHost();
});

test.after.always(async () => {
  await h?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const ARGUMENTS: ReadonlyArray<readonly string[]> = [
  ['-h'],
  ['--help'],
  ['--he'],
  ['-V'],
  ['--version'],
  ['-z'],
  ['--bogus'],
  ['-d'],
  ['--delay'],
  ['-b', '-q', '-V'],
  ['-bh'],
  ['-Vh'],
  ['--batch=1'],
  ['-n', '-x', '--vcpus', 'operand', '-h'],
];

for (const args of ARGUMENTS) {
  test.serial(`\`xentop ${args.join(' ')}\` says and exits what xentop 4.17 does`, (t) => {
    const real = spawnSync(XENTOP, args, { env: { ...process.env, LD_LIBRARY_PATH: dir, XENSTAT_STUB: '/nonexistent' }, encoding: 'utf8' });
    const ours = planXentop(XENTOP, args, {});
    if (!('exit' in ours)) return t.fail(`the shim would run for ${args.join(' ')}`);
    t.deepEqual({ stdout: ours.stdout, stderr: ours.stderr, status: ours.exit }, { stdout: real.stdout, stderr: real.stderr, status: real.status! });
  });
}

test('options become the run xentop would make: whole seconds through atoi, -i 0 never stops', (t) => {
  const plan = planXentop('xentop', ['-b', '-d', '2.9', '-i', '4', '-vnxrf'], {});
  t.like(plan, { run: { batch: true, delayMs: 2000, iterations: 4, json: false, batchOptions: { vcpus: true, networks: true, vbds: true, repeatHeader: true, fullName: true } } });
  t.like(planXentop('xentop', ['--iterations=0', '--delay', 'soon'], {}), { run: { batch: false, iterations: 0, delayMs: 100 } });
  t.like(planXentop('xentop', ['-i', '-3'], {}), { run: { iterations: 0, delayMs: 3000 } });
});

test('`xentop -b -i 1` prints xentop\'s batch table of the emulated host', async (t) => {
  const r = await runNode(XENTOP_JS, ['-b', '-i', '1', '-d', '1'], h.env);
  t.is(r.stderr, '');
  t.is(r.code, 0);
  const [header, ...rows] = r.stdout.trimEnd().split('\n');
  t.regex(header!, /^ {6}NAME {2}STATE {3}CPU\(sec\) CPU\(%\) {5}MEM\(k\) MEM\(%\) {2}MAXMEM\(k\) MAXMEM\(%\) VCPUS NETS NETTX\(k\) NETRX\(k\) VBDS {3}VBD_OO {3}VBD_RD {3}VBD_WR {2}VBD_RSECT {2}VBD_WSECT SSID$/);
  t.regex(rows[0]!, /^ {2}Domain-0 -----r/);
});

test('through `xenemu env`, `xentop` is the shim where no working xentop is installed', async (t) => {
  const noTools = join(dir, 'empty-bin');
  mkdirSync(noTools, { recursive: true });
  const env = { HOME: process.env.HOME, XENEMU_HOME: h.env.XENEMU_HOME, PATH: `${noTools}:${process.execPath.replace(/\/node$/, '')}:/usr/bin:/bin` };
  const r = spawnSync('bash', ['-c', `eval "$(node ${join(REPO, 'bin/run.js')} env)" && xentop -b -i 1 | head -2 | cut -c1-10`], { env, encoding: 'utf8' });
  t.is(r.stderr, '');
  t.is(r.stdout, '      NAME\n  Domain-0\n');
});

test('a daemon that is not running: xenstat_init\'s failure, and why, exit 1', async (t) => {
  const home = join(dir, 'no-daemon');
  mkdirSync(home, { recursive: true });
  const r = await runNode(XENTOP_JS, ['-b', '-i', '1'], { ...h.env, XENEMU_HOME: home });
  t.is(r.code, 1);
  t.is(r.stdout, '');
  t.regex(r.stderr, /^Failed to initialize xenstat library\nxenemu: the xenemu daemon is not running \(state dir .*no-daemon\)/);
});

test('`xl top` runs xentop, and exits 0 whatever xentop did, as system()\'s status cut by exit() does', async (t) => {
  // Not a terminal: the dashboard cannot run, and xentop says so.
  const r = await h.xl('top');
  t.is(r.code, 0);
  t.is(r.stdout, '');
  t.is(r.stderr, 'xentop: standard output is not a terminal: use -b for the batch text\n');
  const help = await h.xl('help', 'top');
  t.is(help.stdout, 'Usage: xl [-vtT] top \n\nMonitor a host and the domains in real time.\n\n');
});
