import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { connectXsClient } from '../../src/client/xs-socket.js';
import type { XsClient } from '../../src/protocol/xs-client.js';
import { XsType } from '../../src/protocol/xs-wire.js';
import { assertXlBuilt, RUN_JS, scratchFile, xlHost, type Outcome, type XlHost } from '../cli-xl/helpers.js';
import { needing } from '../helpers/needing.js';
import { SYSTEM_PYTHON } from '../helpers/run.js';

// A hostile or buggy agent in domain `a`, run through `xenemu exec a` with the real
// xenstore-* tools and pyxs, tries what docs/misc/xenstore.txt forbids a domU: reading
// and writing other domains' nodes and dom0's, changing permissions and owners of
// nodes it does not own, watching other domains' paths, going past its quotas,
// privileged requests, and a request flood. Each answer is checked against what
// oxenstored 4.17 gives a domU (process.ml, perms.ml, store.ml, quota.ml). After
// every case, dom0 sees the store exactly as before, outside a's own home.
//
// oxenstored-peer cannot take part: without a hypervisor all its connections are
// dom0's, and an introduced domain has no ring to talk through.

const HERE = new URL('.', import.meta.url).pathname;
const TOOLS = ['xenstore-read', 'xenstore-ls', 'xenstore-write', 'xenstore-rm', 'xenstore-chmod', 'xenstore-list'];

function missingPeers(): string | null {
  const tool = TOOLS.find((t) => !existsSync(`/usr/bin/${t}`));
  if (tool !== undefined) return `${tool} missing (apt-get install xenstore-utils)`;
  if (!existsSync('/usr/lib/python3/dist-packages/pyxs')) return 'pyxs missing (apt-get install python3-pyxs)';
  return null;
}
const missing = missingPeers();
const withPeers = needing(missing, { serial: true });

let h: XlHost;
let dom0: XsClient;
let a: number;
let b: number;
let bUuid: string;
/** dom0's view of everything outside a's home and /vm entry, before any attempt. */
let before: string;

async function create(name: string): Promise<number> {
  const r = await h.xenemu('create', scratchFile(`${name}.yaml`, `name: ${name}\ntype: pvh\nmemory: 64\nvcpus: 1\n`));
  if (r.code !== 0) throw new Error(`create ${name}: ${r.stderr}`);
  const rows = await h.until((rs) => rs.find((d) => d.name === name)?.stateFlags.blocked === true, `${name} idle`);
  return rows.find((d) => d.name === name)!.domid;
}

/** Every node (path, value, permissions) dom0 sees outside `skip`, in order. */
async function dump(xs: XsClient, path: string, skip: readonly string[]): Promise<string> {
  if (skip.includes(path)) return '';
  const value = (await xs.read(path)).toString('latin1');
  let out = `${path} = ${JSON.stringify(value)} (${(await xs.getPerms(path)).join(',')})\n`;
  for (const child of await xs.directory(path)) out += await dump(xs, path === '/' ? `/${child}` : `${path}/${child}`, skip);
  return out;
}

async function othersView(): Promise<string> {
  const aVm = (await dom0.read(`/local/domain/${a}/vm`)).toString();
  return dump(dom0, '/', [`/local/domain/${a}`, aVm]);
}

const inA = (...command: string[]): Promise<Outcome> => h.xenemu('exec', 'a', '--', ...command);

/** attempts.py's lines as label → answer. */
async function attempts(cases: string): Promise<Record<string, string>> {
  const r = await inA(SYSTEM_PYTHON, join(HERE, 'attempts.py'), cases, String(b), bUuid);
  if (r.code !== 0) throw new Error(`attempts.py ${cases}: ${r.stderr}`);
  return Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split(': ') as [string, string]));
}

test.before(async () => {
  if (missing !== null) return;
  assertXlBuilt();
  h = await xlHost();
  a = await create('a');
  b = await create('b');
  dom0 = await connectXsClient(h.host.paths.socket);
  bUuid = (await dom0.read(`/local/domain/${b}/vm`)).toString().replace('/vm/', '');
  await dom0.write(`/local/domain/${b}/data/secret`, 'b-only');
  // Small quotas for a alone (SET_QUOTA), so that going past them is quick; b keeps the defaults.
  for (const [quota, value] of [
    ['nodes', '60'],
    ['watches', '30'],
    ['transactions', '3'],
  ]) {
    await dom0.request(XsType.SET_QUOTA, `${a}\0${quota}\0${value}\0`);
  }
  before = await othersView();
});

test.after.always(async () => {
  dom0?.close();
  await h?.dispose();
});

/** A case's end: nothing a did changed what dom0 (and so any other domain) sees. */
async function othersUnchanged(t: { is(a: unknown, b: unknown, m?: string): void }): Promise<void> {
  t.is(await othersView(), before, 'dom0 sees the rest of the store as before');
}

withPeers('the real tools in a domU: relative paths are its home; other homes, dom0 and the tree are closed to it', async (t) => {
  const cases: Array<[string[], number, string, string]> = [
    [['xenstore-read', 'name', 'domid'], 0, `a\n${a}\n`, ''],
    [['xenstore-read', `/local/domain/${b}/name`], 1, '', `xenstore-read: couldn't read path /local/domain/${b}/name\n`],
    [['xenstore-read', '/local/domain/0/name'], 1, '', "xenstore-read: couldn't read path /local/domain/0/name\n"],
    [['xenstore-ls', `/local/domain/${b}`], 1, '', `xenstore-ls: xs_directory (/local/domain/${b}): Permission denied\n`],
    [['xenstore-ls', '/local/domain/0'], 1, '', 'xenstore-ls: xs_directory (/local/domain/0): Permission denied\n'],
    [['xenstore-list', '/local/domain'], 1, '', ''],
    [['xenstore-write', `/local/domain/${b}/data/x`, 'evil'], 1, '', `xenstore-write: could not write path /local/domain/${b}/data/x\n`],
    [['xenstore-write', '/local/domain/0/evil', '1'], 1, '', 'xenstore-write: could not write path /local/domain/0/evil\n'],
    [['xenstore-rm', `/local/domain/${b}/name`], 1, '', `xenstore-rm: could not remove path /local/domain/${b}/name\n`],
    [['xenstore-chmod', `/local/domain/${b}/name`, `n${a}`], 1, '', `xenstore-chmod: Error occurred setting permissions on '/local/domain/${b}/name': Permission denied\n`],
  ];
  for (const [command, code, stdout, stderr] of cases) {
    const r = await inA(...command);
    t.is(r.code, code, command.join(' '));
    t.is(r.stdout, stdout, command.join(' '));
    if (stderr !== '') t.is(r.stderr, stderr, command.join(' '));
  }
  await othersUnchanged(t);
});

/**
 * oxenstored's answer to each attempt from a domU: Permission_denied (EACCES) for
 * whatever the node's permissions forbid (perms.ml), and for a change of owner by a
 * domU (store.ml setperms); dom0-only requests check is_dom0 first (process.ml).
 */
const OXENSTORED: Readonly<Record<string, string>> = {
  "read another domain's name": 'EACCES',
  "list another domain's home": 'EACCES',
  "read another domain's permissions": 'EACCES',
  "read dom0's name": 'EACCES',
  "list dom0's home": 'EACCES',
  'list /local/domain': 'EACCES',
  "read another domain's /vm": 'EACCES',
  "write in another domain's home": 'EACCES',
  "write in dom0's home": 'EACCES',
  'mkdir at the root': 'EACCES',
  'write below /tool': 'EACCES',
  "rm another domain's name": 'EACCES',
  'rm its own home': 'EACCES',
  'overwrite its own name': 'EACCES',
  'write its own data/': 'ok',
  "chmod another domain's node": 'EACCES',
  "chmod its own name (dom0's node)": 'EACCES',
  'chown its own node to another domain': 'EACCES',
  'chmod its own node': 'ok',
  // GET_DOMAIN_PATH is not privileged: it only says where a home is.
  "get another domain's path": 'ok',
  INTRODUCE: 'EACCES',
  RELEASE: 'EACCES',
  SET_TARGET: 'EACCES',
  RESUME: 'EACCES',
  IS_DOMAIN_INTRODUCED: 'EACCES',
  // do_debug ignores a domU's request and answers OK (allow_debug is off).
  CONTROL: 'ok',
  // Quota.Limit_reached and Transaction_opened are "EQUOTA", a name outside
  // xsd_errors[] that libxenstore turns into EINVAL; Data_too_big is E2BIG.
  'past the node quota': 'EQUOTA',
  'a node again once one is removed': 'ok',
  'a value over the size quota': 'E2BIG',
  'a value at the size quota': 'ok',
  'past the watch quota': 'EQUOTA',
  'a watch again once one is removed': 'ok',
  'past the transaction quota': 'EQUOTA',
  'a transaction again once one ends': 'ok',
  'the domain works under quota again': 'ok',
};

withPeers('pyxs in a domU: every access, permission and privileged request gets the answer oxenstored gives a domU', async (t) => {
  const got = await attempts('access,privileged');
  const expected = Object.fromEntries(Object.keys(got).map((k) => [k, OXENSTORED[k]]));
  t.deepEqual(got, expected);
  t.is(Object.keys(got).length, 26);
  await othersUnchanged(t);
});

withPeers('pyxs in a domU: past each quota it gets the Xen errno, and it keeps working once under quota again', async (t) => {
  const got = await attempts('quotas');
  const expected = Object.fromEntries(Object.keys(got).map((k) => [k, OXENSTORED[k]]));
  t.deepEqual(got, expected);
  t.is(Object.keys(got).length, 9);
  await othersUnchanged(t);
});

withPeers("a domU watching another domain's data/ gets the initial event only: changes there do not reach it", async (t) => {
  const child = spawn(process.execPath, [RUN_JS, 'exec', 'a', '--', SYSTEM_PYTHON, join(HERE, 'watch.py'), String(b)], { env: h.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const ready = new Promise<void>((resolve) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('ready\n')) resolve();
    });
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await Promise.race([ready, exited]);
  // b's data changes (dom0 writes as b's toolstack would), then a's own marker.
  await dom0.write(`/local/domain/${b}/data/secret`, 'changed');
  await dom0.write(`/local/domain/${b}/data/new`, 'b-only');
  await dom0.rm(`/local/domain/${b}/data/new`);
  await dom0.write(`/local/domain/${a}/data/marker`, '1');
  t.is(await exited, 0, err);
  t.is(out, 'initial mine other\nready\nmine data/marker\ndone\n');
  await dom0.write(`/local/domain/${b}/data/secret`, 'b-only');
  await othersUnchanged(t);
});

withPeers("opens of a domU's xenbus device are kept apart: another open's transaction is ENOENT, and a closed open's watches and transactions are gone", async (t) => {
  const socket = (await h.xenemu('exec', 'a', '--', 'sh', '-c', 'printf %s "$XENSTORED_PATH"')).stdout;
  const one = await connectXsClient(socket);
  const two = await connectXsClient(socket);
  const tx = await one.transactionStart();
  await one.write('data/in-tx', 'x', tx);
  const stolen = await t.throwsAsync(two.write('data/stolen', 'x', tx));
  t.is((stolen as { errno?: string }).errno, 'ENOENT');
  await two.watch('data', 'same-token', () => {});
  await one.watch('data', 'same-token', () => {});
  // RESET_WATCHES from one open resets that open's watches only.
  await one.request(XsType.RESET_WATCHES, '');
  const watches = async (): Promise<string[]> => (await dom0.control(['watches'])).split('\n').filter((l) => l.includes('xenbus-dev/'));
  t.is((await watches()).length, 1, 'two still watches');
  one.close();
  two.close();
  for (let i = 0; i < 1000 && (await watches()).length > 0; i++) await new Promise((r) => setImmediate(r));
  t.deepEqual(await watches(), []);
  await t.throwsAsync(dom0.read(`/local/domain/${a}/data/in-tx`), { message: /ENOENT/ });
  // The kernel's own watches (its control and balloon drivers) are still there.
  t.true((await dom0.control(['watches'])).includes(`control/shutdown`));
  await othersUnchanged(t);
});

withPeers('a domU flooding requests: every one is answered, and the other domains are answered meanwhile', async (t) => {
  const floods = [1, 2, 3].map(() => inA(SYSTEM_PYTHON, join(HERE, 'flood.py'), '2000'));
  const others = [];
  for (let i = 0; i < 5; i++) {
    others.push(h.xenemu('exec', 'b', '--', 'xenstore-read', 'name'));
    others.push(dom0.read(`/local/domain/${b}/name`).then((v) => ({ code: 0, stdout: `${v.toString()}\n`, stderr: '' })));
  }
  for (const r of await Promise.all(others)) t.deepEqual([r.code, r.stdout], [0, 'b\n']);
  for (const r of await Promise.all(floods)) t.deepEqual([r.code, r.stdout], [0, '2000\n']);
  t.is((await inA('xenstore-read', 'name')).stdout, 'a\n');
  await othersUnchanged(t);
});
