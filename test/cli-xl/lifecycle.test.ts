import test from 'ava';
import { join } from 'node:path';
import type { XlDomainRow } from '../../src/toolstack/libxl/rows.js';
import { assertXlBuilt, CONFIGS, LIST_HEADER_RE, listRow, xlHost, type XlHost } from './helpers.js';

// Domain lifecycle through the CLI: shutdown, reboot, pause, rename, destroy, domid and
// domname (xl_vmcontrol.c, xl_misc.c, xl_info.c), each checked in the list afterwards.

let h: XlHost;
const WEB = join(CONFIGS, 'web.yaml');
const DB = join(CONFIGS, 'db.yaml');

test.before(async () => {
  assertXlBuilt();
  h = await xlHost();
});

test.after.always(async () => {
  await h?.dispose();
});

const find = (rows: XlDomainRow[], name: string): XlDomainRow | undefined => rows.find((r) => r.name === name);
const idle = (name: string) => (rows: XlDomainRow[]) => find(rows, name)?.stateFlags.blocked === true;

async function create(...args: string[]): Promise<void> {
  const r = await h.xl('create', '-q', ...args);
  if (r.code !== 0) throw new Error(`create ${args.join(' ')}: ${r.stderr}`);
}

test.serial('shutdown -w: the guest powers off, on_poweroff destroys it, and xl list no longer shows it', async (t) => {
  await create(WEB);
  await h.until(idle('web'), 'web idle');
  t.deepEqual(await h.xl('shutdown', '-w', 'web'), {
    stdout: '',
    stderr: 'Shutting down domain 1\nWaiting for 1 domains\nDomain 1 has been shut down, reason code 0\n',
    code: 0,
  });
  await h.until((rows) => find(rows, 'web') === undefined, 'web gone');
  t.regex((await h.xl('list')).stdout, new RegExp(`^${LIST_HEADER_RE}\n${listRow('Domain-0', 0, 1024, 4, 'r-----')}\n$`));
  t.regex((await h.xenemu('dmesg', '1')).stderr, /domain '1' does not exist/);
});

test.serial('reboot: the same name and UUID come back under a new domain id (on_reboot restart)', async (t) => {
  await create(DB);
  const before = find(await h.until(idle('db'), 'db idle'), 'db')!;
  t.deepEqual(await h.xenemu('reboot', 'db'), { stdout: '', stderr: `Rebooting domain ${before.domid}\n`, code: 0 });
  const rows = await h.until((rs) => (find(rs, 'db')?.domid ?? before.domid) !== before.domid && idle('db')(rs), 'db back with a new domid');
  const after = find(rows, 'db')!;
  t.is(after.uuid, before.uuid);
  t.is(after.domid, before.domid + 1);
  t.regex((await h.xl('list', 'db')).stdout, new RegExp(`\n${listRow('db', after.domid, 2048, 2, '-b----')}\n$`));
  // With -w, xl reports the shutdown with reason code 1 (reboot).
  const w = await h.xl('reboot', '-w', 'db');
  t.is(w.stderr, `Rebooting domain ${after.domid}\nWaiting for 1 domains\nDomain ${after.domid} has been shut down, reason code 1\n`);
  await h.until((rs) => (find(rs, 'db')?.domid ?? after.domid) > after.domid && idle('db')(rs), 'db back again');
});

test.serial('pause and unpause: the p state letter comes and goes', async (t) => {
  const db = find(await (await h.client()).list(), 'db')!;
  t.deepEqual(await h.xl('pause', 'db'), { stdout: '', stderr: '', code: 0 });
  t.regex((await h.xl('list', 'db')).stdout, new RegExp(`\n${listRow('db', db.domid, 2048, 2, '--p---')}\n$`));
  t.deepEqual(await h.xenemu('unpause', String(db.domid)), { stdout: '', stderr: '', code: 0 });
  await h.until(idle('db'), 'db running again');
  t.regex((await h.xenemu('list', 'db')).stdout, new RegExp(`\n${listRow('db', db.domid, 2048, 2, '-b----')}\n$`));
});

test.serial('rename: the new name lists, resolves and answers to domname; a taken name is refused', async (t) => {
  const db = find(await (await h.client()).list(), 'db')!;
  t.deepEqual(await h.xl('rename', 'db', 'db-old'), { stdout: '', stderr: '', code: 0 });
  t.regex((await h.xl('list', 'db-old')).stdout, new RegExp(`\n${listRow('db-old', db.domid, 2048, 2, '-b----')}\n$`));
  t.deepEqual(await h.xl('domid', 'db-old'), { stdout: `${db.domid}\n`, stderr: '', code: 0 });
  t.deepEqual(await h.xenemu('domname', String(db.domid)), { stdout: 'db-old\n', stderr: '', code: 0 });
  t.deepEqual(await h.xl('list', 'db'), { stdout: '', stderr: 'db is an invalid domain identifier (rc=-6)\n', code: 1 });
  t.deepEqual(await h.xenemu('rename', 'db-old', 'Domain-0'), {
    stdout: '',
    stderr: "xenemu: domain 'Domain-0' already exists\nCan't rename domain 'db-old'.\n",
    code: 1,
  });
  t.deepEqual(await h.xl('rename', 'nosuch', 'x'), { stdout: '', stderr: 'nosuch is an invalid domain identifier (rc=-6)\n', code: 1 });
});

test.serial('destroy: gone at once; domain 0, unknown names and ids are refused as xl refuses them', async (t) => {
  const db = find(await (await h.client()).list(), 'db-old')!;
  t.deepEqual(await h.xenemu('destroy', 'db-old'), { stdout: '', stderr: '', code: 0 });
  t.is(find(await (await h.client()).list(), 'db-old'), undefined);
  t.deepEqual(await h.xl('destroy', '0'), {
    stdout: '',
    stderr: 'Not destroying domain 0; use -f to force.\nThis can only be done when using a disaggregated hardware domain and toolstack.\n\n',
    code: 1,
  });
  t.deepEqual(await h.xl('destroy', 'nosuch'), { stdout: '', stderr: 'nosuch is an invalid domain identifier (rc=-6)\n', code: 1 });
  t.deepEqual(await h.xenemu('destroy', String(db.domid)), { stdout: '', stderr: `xenemu: domain '${db.domid}' does not exist\ndestroy failed (rc=-21)\n`, code: 1 });
});

test.serial('shutdown -a -w: every guest, dom0 excepted, each reported', async (t) => {
  await create(WEB, 'name="a1"');
  await create(WEB, 'name="a2"');
  const rows = await h.until((rs) => idle('a1')(rs) && idle('a2')(rs), 'a1 and a2 idle');
  const [a1, a2] = [find(rows, 'a1')!.domid, find(rows, 'a2')!.domid];
  const r = await h.xenemu('shutdown', '-a', '-w');
  t.is(r.code, 0);
  t.is(
    r.stderr,
    `Shutting down domain ${a1}\nShutting down domain ${a2}\nWaiting for 2 domains\n` +
      `Domain ${a1} has been shut down, reason code 0\nDomain ${a2} has been shut down, reason code 0\n`,
  );
  await h.until((rs) => rs.length === 1, 'only dom0 left');
});

test('shutdown needs -a or a domain; an unknown id fails as libxl does (rc=-3)', async (t) => {
  t.deepEqual(await h.xl('shutdown'), { stdout: '', stderr: 'You must specify -a or a domain id.\n\n', code: 1 });
  t.deepEqual(await h.xl('reboot', '77'), { stdout: '', stderr: "Rebooting domain 77\nxenemu: domain '77' does not exist\nreboot failed (rc=-3)\n", code: 1 });
});

test('domid and domname: xl\'s answers and messages, and --json', async (t) => {
  t.deepEqual(await h.xl('domid', 'Domain-0'), { stdout: '0\n', stderr: '', code: 0 });
  t.deepEqual(await h.xl('domid', 'nosuch'), { stdout: '', stderr: "Can't get domid of domain name 'nosuch', maybe this domain does not exist.\n", code: 1 });
  t.deepEqual(await h.xl('domname', '0'), { stdout: 'Domain-0\n', stderr: '', code: 0 });
  // strtol: leading digits count ("0abc" is 0), none at all is refused, -1 is 4294967295
  // (after "--": getopt takes "-1" for an option, as in xl).
  t.deepEqual(await h.xl('domname', '0abc'), { stdout: 'Domain-0\n', stderr: '', code: 0 });
  t.deepEqual(await h.xl('domname', 'abc'), { stdout: '', stderr: 'Invalid domain id.\n\n', code: 1 });
  t.deepEqual(await h.xl('domname', '--', '-1'), { stdout: '', stderr: "Can't get domain name of domain id '4294967295', maybe this domain does not exist.\n", code: 1 });
  t.deepEqual(await h.xl('domname', '-1'), { stdout: '', stderr: "option `1' not supported.\n", code: 2 });
  t.deepEqual(JSON.parse((await h.xenemu('domid', '--json', 'Domain-0')).stdout), { domid: 0 });
  t.deepEqual(JSON.parse((await h.xenemu('domname', '--json', '0')).stdout), { name: 'Domain-0' });
});
