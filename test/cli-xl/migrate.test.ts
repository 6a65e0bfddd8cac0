/**
 * `xenemu migrate` between two daemons on one machine (two state dirs), the way the
 * README shows it: -s '' and a rune that runs `xenemu migrate-receive` with the other
 * XENEMU_HOME. xl's messages on stderr, its exit statuses, the domain moved; and a
 * target that dies half way leaves the domain running at the source.
 */
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConsoleRpcClient } from '../../src/client/console.js';
import type { XlDomainRow } from '../../src/toolstack/libxl/rows.js';
import { assertXlBuilt, RUN_JS, scratchFile, xlHost, type XlHost } from './helpers.js';

let a: XlHost;
let b: XlHost;

test.before(async () => {
  assertXlBuilt();
  [a, b] = await Promise.all([xlHost(), xlHost()]);
});

test.after.always(async () => {
  await Promise.all([a?.dispose(), b?.dispose()]);
});

const find = (rows: XlDomainRow[], name: string) => rows.find((r) => r.name === name);
const rune = (h: XlHost) => `env XENEMU_HOME=${h.env.XENEMU_HOME} ${process.execPath} ${RUN_JS} migrate-receive`;

function config(name: string): string {
  const disk = scratchFile(`${name}.img`, '\0'.repeat(1 << 20));
  const file = join(disk, '..', `${name}.yaml`);
  writeFileSync(file, `name: ${name}\ntype: pvh\nmemory: 64\ndisk:\n  - "vdev=xvda, access=rw, target=${disk}"\nvif:\n  - "bridge=xenbr0"\n`);
  return file;
}

test.serial('migrate -s \'\' DOM RUNE moves a domain rewriting its memory: xl\'s messages, the report, gone here, running there', async (t) => {
  t.is((await a.xenemu('create', config('mover'))).code, 0);
  await a.until((rows) => find(rows, 'mover')?.stateFlags.blocked === true, 'mover idle');
  await a.disksConnected('mover');
  // The guest rewrites 8 MiB over and over while the rounds go.
  const rpc = (await a.client()).rpc;
  const domid = await (await a.client()).domid('mover');
  const con = new ConsoleRpcClient(rpc);
  await con.attach(domid);
  await con.input(domid, Buffer.from('memwrite --loop 8M\r'));
  const r = await a.xenemu('migrate', '--debug', '-s', '', 'mover', rune(b));
  t.is(r.code, 0, r.stderr);
  for (const line of [
    'migration target: Ready to receive domain.',
    'migration target: Transfer complete, requesting permission to start domain.',
    'migration sender: Target has acknowledged transfer.',
    'migration sender: Giving target permission to start.',
    'migration target: Got permission, starting domain.',
    'migration target: Domain started successsfully.',
    'migration sender: Target reports successful startup.',
    'Migration successful.',
  ]) {
    t.true(r.stderr.includes(`${line}\n`), `${line}\n${r.stderr}`);
  }
  const report = /migration sender: (\d+) rounds, (\d+) pages sent, [\d.]+ MiB in \d+ ms, downtime [\d.]+ ms \(suspend [\d.]+, last round [\d.]+, target [\d.]+, start [\d.]+\)\n/.exec(r.stderr);
  t.truthy(report, r.stderr);
  t.true(Number(report![2]) >= 2048, `at least the 8 MiB the guest was writing went: ${report![0]}`);
  t.is(r.stdout, '');
  // --debug: each round, and libxc's verify pass finding every page as sent.
  t.regex(r.stderr, /migration sender: round 0: \d+ pages in [\d.]+ ms\n/);
  t.regex(r.stderr, /migration target: verify: \d+ pages compared, 0 differ\n/);
  t.is(find(await (await a.client()).list(), 'mover'), undefined, 'gone from the source');
  await b.until((rows) => find(rows, 'mover')?.stateFlags.blocked === true, 'mover running (idle) on the target');
  await b.disksConnected('mover');
  await b.nicsConnected('mover', 1);
});

test.serial('a target that dies half way through the stream: exit 1, "Migration failed, resuming at sender.", the domain runs on', async (t) => {
  t.is((await a.xenemu('create', config('stayer'))).code, 0);
  await a.until((rows) => find(rows, 'stayer')?.stateFlags.blocked === true, 'stayer idle');
  // A receiver that says it is ready, takes a little of the stream, and exits.
  const dying = `printf 'xl migration receiver ready, send binary domain data.\\n'; head -c 2000 >/dev/null`;
  const r = await a.xenemu('migrate', '-s', '', 'stayer', dying);
  t.is(r.code, 1, r.stderr);
  t.true(r.stderr.includes('Migration failed, resuming at sender.\n'), r.stderr);
  const row = await a.until((rows) => find(rows, 'stayer')?.stateFlags.blocked === true, 'stayer running again');
  t.false(find(row, 'stayer')!.stateFlags.shutdown, 'not suspended');
  t.is(find(await (await b.client()).list(), 'stayer'), undefined);
});

test.serial('a receiver that is not there (the command fails): exit 1 naming the command, the domain untouched', async (t) => {
  t.is((await a.xenemu('create', config('alone'))).code, 0);
  await a.until((rows) => find(rows, 'alone')?.stateFlags.blocked === true, 'alone idle');
  const talker = 'echo this is a shell, not the xl migration receiver you were looking for';
  const r = await a.xenemu('migrate', '-s', '', 'alone', talker);
  t.is(r.code, 1);
  t.true(r.stderr.includes(`migration receiver stream contained unexpected data instead of banner\n(command run was: ${talker} )`), r.stderr);
  const silent = await a.xenemu('migrate', '-s', '', 'alone', 'true');
  t.is(silent.code, 1);
  t.true(silent.stderr.includes('file/stream truncated reading banner from migration receiver stream\n'), silent.stderr);
  t.true(find(await (await a.client()).list(), 'alone')!.stateFlags.blocked);
});
