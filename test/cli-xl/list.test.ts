import test from 'ava';
import { join } from 'node:path';
import type { JsonOutput } from '../../src/ui/json/schemas.js';
import { assertXlBuilt, CONFIGS, DOM0_MEMORY_MIB, HOST_PCPUS, LIST_HEADER_RE, listRow, TIME, xlHost, type XlHost } from './helpers.js';

// `xl list` / `xenemu list` (xl_info.c: main_list, list_domains) against a host with
// Domain-0, web (running, idle) and db (created paused).

let h: XlHost;

test.before(async () => {
  assertXlBuilt();
  h = await xlHost();
  for (const args of [[join(CONFIGS, 'web.yaml')], ['-p', join(CONFIGS, 'db.yaml')]]) {
    const r = await h.xl('create', ...args);
    if (r.code !== 0) throw new Error(`xl create ${args.join(' ')}: ${r.stderr}`);
  }
  // An idle guest blocks; wait for web's kernel to get there.
  await h.until((rows) => rows.find((r) => r.name === 'web')?.stateFlags.blocked === true, 'web idle');
});

test.after.always(async () => {
  await h?.dispose();
});

const table = (...rows: string[]): RegExp => new RegExp(`^${[LIST_HEADER_RE, ...rows].join('\n')}\n$`);
const dom0 = listRow('Domain-0', 0, DOM0_MEMORY_MIB, HOST_PCPUS, 'r-----');
const web = listRow('web', 1, 512, 2, '-b----');
const db = listRow('db', 2, 2048, 2, '--p---');

test('xl list: the header with its two tabs, then one row per domain in domid order', async (t) => {
  const r = await h.xl('list');
  t.is(r.code, 0);
  t.is(r.stderr, '');
  t.regex(r.stdout, table(dom0, web, db));
});

test('xenemu list prints the same bytes as the shim', async (t) => {
  const [a, b] = [await h.xenemu('list'), await h.xl('list')];
  const times = (s: string) => s.replace(new RegExp(TIME, 'g'), 'T');
  t.is(a.code, 0);
  t.is(times(a.stdout), times(b.stdout));
});

test('list DOMAIN takes a name or an id', async (t) => {
  t.regex((await h.xl('list', 'db')).stdout, table(db));
  t.regex((await h.xenemu('list', '1')).stdout, table(web));
  t.regex((await h.xl('list', 'Domain-0')).stdout, table(dom0));
});

test('an unknown name is an invalid identifier; an unknown id does not exist (exit 1, as xl)', async (t) => {
  for (const run of [h.xl, h.xenemu]) {
    t.deepEqual(await run('list', 'nosuch'), { stdout: '', stderr: 'nosuch is an invalid domain identifier (rc=-6)\n', code: 1 });
    t.deepEqual(await run('list', '42'), { stdout: '', stderr: "Error: Domain '42' does not exist.\n", code: 1 });
  }
});

test('list takes one domain: with two it prints its help and exits 1 (main_list), in xl and xenemu', async (t) => {
  const xl = await h.xl('list', 'web', 'db');
  t.is(xl.code, 1);
  t.is(xl.stderr, '');
  t.true(xl.stdout.startsWith('Usage: xl [-vtT] list [options] [Domain]\n\n\nList information about all/some domains.\n'));
  t.deepEqual(await h.xenemu('list', 'web', 'db'), xl);
});

test('-v adds the UUID, the reason code and the security label', async (t) => {
  const c = await h.client();
  const uuid = (await c.list(['2']))[0]!.uuid;
  const r = await h.xl('list', '-v', 'db');
  t.regex(r.stdout, new RegExp(`^${LIST_HEADER_RE}   UUID                            Reason-Code\tSecurity Label\n${db} ${uuid}        -                -\n$`));
});

test('-c shows the cpupool, -n the node affinity (xenemu has Pool-0 and one node)', async (t) => {
  t.regex((await h.xenemu('list', '-c', 'web')).stdout, new RegExp(`^${LIST_HEADER_RE}         Cpupool\n${web}          Pool-0\n$`));
  t.regex((await h.xl('list', '-n', 'web')).stdout, new RegExp(`^${LIST_HEADER_RE} NODE Affinity\n${web} all\n$`));
});

test('--json gives the raw rows: KiB, nanoseconds, state flags', async (t) => {
  const r = await h.xenemu('list', '--json', 'db');
  t.is(r.code, 0);
  const rows = JSON.parse(r.stdout) as JsonOutput<'list'>;
  t.is(rows.length, 1);
  t.like(rows[0], { domid: 2, name: 'db', memKiB: 2048 * 1024, vcpusOnline: 2, uuid: '3f2b6c1e-8a4d-4b7e-9c21-5d0e7a9b4f13', shutdownReason: null });
  t.deepEqual((rows[0] as { state: unknown }).state, { running: false, blocked: false, paused: true, shutdown: false, crashed: false, dying: false });
});

test('bad options are xl\'s usage errors: status 2, and -h is help (status 0)', async (t) => {
  t.deepEqual(await h.xl('list', '-x'), { stdout: '', stderr: "option `x' not supported.\n", code: 2 });
  t.deepEqual(await h.xl('list', '--bogus'), { stdout: '', stderr: "option `\0' not supported.\n", code: 2 });
  const help = await h.xl('list', '-h');
  t.is(help.code, 0);
  t.true(help.stdout.startsWith('Usage: xl [-vtT] list [options] [Domain]\n'));
  // Options may follow the operand (GNU getopt permutes).
  t.regex((await h.xl('list', 'db', '-v')).stdout, /Reason-Code/);
});
