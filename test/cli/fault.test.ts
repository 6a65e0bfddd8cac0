import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { assertXlBuilt, CONFIGS, xlHost, type XlHost } from '../cli-xl/helpers.js';
import { needing } from '../helpers/needing.js';
import { run, SYSTEM_PYTHON } from '../helpers/run.js';

// `xenemu fault` through the CLI and the daemon, seen by the real clients.

const realTools = needing(existsSync('/usr/bin/xenstore-read') ? null : 'xenstore-utils is not installed', { serial: true });
const pyxs = needing(existsSync(SYSTEM_PYTHON) ? null : 'no system python with pyxs', { serial: true });

let h: XlHost;
let xsEnv: NodeJS.ProcessEnv;

test.before(async () => {
  assertXlBuilt();
  h = await xlHost();
  xsEnv = { ...h.env, XENSTORED_PATH: h.host.paths.socket };
  const r = await h.xenemu('create', join(CONFIGS, 'web.yaml'));
  if (r.code !== 0) throw new Error(r.stderr);
});

test.after.always(async () => {
  await h?.dispose();
});

realTools('xs-errno on the socket clients: the real xenstore-read gets the error once, then reads again; list, dmesg and host status tell', async (t) => {
  const add = await h.xenemu('fault', 'add', 'xs-errno', 'socket', '--errno', 'EACCES', '--op', 'read', '--count', '1', '--seed', '5');
  t.is(add.code, 0, add.stderr);
  t.regex(add.stdout, /^ID +KIND +TARGET +PROB +COUNT +FIRED +LEFT +SEED +OPTIONS\n1 +xs-errno +socket +1 +1 +0 +- +5 +errno=EACCES op=READ\n$/);
  t.regex((await h.xenemu('host', 'status')).stdout, /faults +#1 xs-errno on socket \(fired 0\)/);

  const refused = await run('xenstore-read', ['/local/domain/0/name'], { env: xsEnv });
  t.is(refused.code, 1);
  t.is(refused.stderr, "xenstore-read: couldn't read path /local/domain/0/name\n");
  const again = await run('xenstore-read', ['/local/domain/0/name'], { env: xsEnv });
  t.is(again.stdout, 'Domain-0\n', 'its count reached, the fault is over');

  const list = JSON.parse((await h.xenemu('fault', 'list', '--json')).stdout) as { faults: unknown[] };
  t.deepEqual(list.faults, []);
  const dmesg = (await h.xenemu('dmesg')).stdout;
  t.regex(dmesg, /\(XEN\) fault 1 \(xs-errno\) added: the socket clients, count 1, errno EACCES, op READ, seed 5\n/);
  t.regex(dmesg, /\(XEN\) fault 1 \(xs-errno\) fired: A[0-9]+ READ \/local\/domain\/0\/name\n/);
  t.regex(dmesg, /\(XEN\) fault 1 \(xs-errno\) ended \(its count is reached\) after firing 1 time\n/);
});

pyxs('xs-eagain under a path: pyxs sees EAGAIN on commit until the fault is cleared', async (t) => {
  const add = await h.xenemu('fault', 'add', 'xs-eagain', '--path', '/pyxs-eagain', '--json');
  const id = (JSON.parse(add.stdout) as { id: number }).id;
  // pyxs's commit() answers False on EAGAIN: the caller is to retry.
  const script = `
import pyxs
with pyxs.Client() as c:
    c.transaction()
    c[b"/pyxs-eagain/a"] = b"1"
    print("committed" if c.commit() else "EAGAIN")
`;
  const first = await run(SYSTEM_PYTHON, ['-c', script], { env: xsEnv });
  t.is(first.stdout, 'EAGAIN\n', first.stderr);
  t.is((await h.xenemu('fault', 'clear', String(id))).stdout, `cleared #${id}\n`);
  t.is((await run(SYSTEM_PYTHON, ['-c', script], { env: xsEnv })).stdout, 'committed\n');
});

test.serial('bad fault requests are refused with what is wrong, exit 1, and add nothing', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['add', 'bogus'], /^xenemu: unknown fault kind bogus \(one of xs-eagain, xs-errno, .*, host-kill\)\n$/],
    [['add', 'xs-errno'], /^xenemu: xs-errno needs --errno\n$/],
    [['add', 'xs-errno', '--errno', 'EWHAT'], /EWHAT/],
    [['add', 'xs-eagain', '--delay', '1s'], /^xenemu: --delay does not apply to xs-eagain\n$/],
    [['add', 'guest-crash'], /^xenemu: guest-crash needs a domain to act on\n$/],
    [['add', 'guest-crash', 'nosuch'], /nosuch/],
    [['add', 'guest-crash', 'web', '--count', '2'], /^xenemu: guest-crash happens once: --probability and --count do not apply\n$/],
    [['add', 'xs-quota', 'web', '--quota', 'bogus=1'], /^xenemu: unknown quota bogus/],
    [['add', 'xs-delay', '--delay', 'soon'], /^xenemu: --delay soon: not a duration/],
    [['add', 'xs-errno', '--errno', 'EIO', '--probability', '1.5'], /^xenemu: --probability 1.5: not in \(0, 1\]\n$/],
    [['clear', '99'], /^xenemu: no fault 99\n$/],
    [['clear'], /^xenemu: give a fault id or --all, not both\n$/],
  ];
  for (const [args, stderr] of cases) {
    const r = await h.xenemu('fault', ...args);
    t.is(r.code, 1, args.join(' '));
    t.regex(r.stderr, stderr, args.join(' '));
  }
  t.is((await h.xenemu('fault', 'list')).stdout, 'no faults\n');
});
