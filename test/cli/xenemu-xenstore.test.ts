import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { XsClient } from '../../src/protocol/xs-client.js';
import { connectXsClient } from '../../src/client/xs-socket.js';
import { fastXenstore } from '../../src/compat/fast-path.js';
import { startHost, tempHome } from '../helpers/daemon.js';
import { assertBuilt, REPO, RUN_JS, scratchDir, type Outcome } from '../helpers/xenstore-cli.js';
import { startTarget, type XenstoredTarget } from '../helpers/xenstored-target.js';

// `xenemu xenstore <tool>` beyond what the golden replay shows: --json, oclif's usage
// errors, mkdir and control, connection handling, and the fast path's limits.

let target: XenstoredTarget;
let client: XsClient;

test.before(async () => {
  assertBuilt();
  target = await startTarget('cli');
  client = await connectXsClient(target.socket);
  await client.rm('/xx').catch(() => {});
  await client.write('/xx/name', 'guest one');
  await client.write('/xx/bin', Buffer.from([1, 0x7f, 0xff]));
  await client.write('/xx/d/e', 'deep');
});

test.after.always(async () => {
  client?.close();
  await target?.dispose();
});

function xenemu(args: readonly string[], env: NodeJS.ProcessEnv = target.env): Promise<Outcome> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [RUN_JS, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('latin1').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('latin1').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ stdout, stderr, exit: code ?? -1 }));
  });
}

const json = async (args: string[]): Promise<{ value: unknown; exit: number }> => {
  const r = await xenemu(args);
  return { value: JSON.parse(r.stdout), exit: r.exit };
};

test('read --json gives UTF-8 values as text and others as base64', async (t) => {
  t.deepEqual(await json(['xenstore', 'read', '--json', '/xx/name', '/xx/bin']), {
    value: {
      entries: [
        { path: '/xx/name', value: 'guest one', encoding: 'utf8' },
        { path: '/xx/bin', value: Buffer.from([1, 0x7f, 0xff]).toString('base64'), encoding: 'base64' },
      ],
    },
    exit: 0,
  });
});

test('read --json reports the key that stopped it, and exits 1', async (t) => {
  const { value, exit } = await json(['xenstore', 'read', '--json', '/xx/name', '/xx/missing', '/xx/bin']);
  t.is(exit, 1);
  t.deepEqual(value, {
    entries: [{ path: '/xx/name', value: 'guest one', encoding: 'utf8' }],
    error: { message: "couldn't read path /xx/missing", path: '/xx/missing', errno: 'ENOENT' },
  });
});

test('ls, list and exists have --json too', async (t) => {
  const ls = (await json(['xenstore', 'ls', '--json', '-p', '/xx/d'])).value as { nodes: unknown[] };
  t.deepEqual(ls.nodes, [{ path: '/xx/d/e', name: 'e', depth: 0, value: 'deep', encoding: 'utf8', perms: ['n0'] }]);
  t.deepEqual(await json(['xenstore', 'list', '--json', '/xx/d']), { value: { lists: [{ path: '/xx/d', children: ['e'] }] }, exit: 0 });
  t.deepEqual(await json(['xenstore', 'exists', '--json', '/xx/name', '/xx/nope']), {
    value: { exists: false, keys: [{ path: '/xx/name', exists: true }, { path: '/xx/nope', exists: false }] },
    exit: 1,
  });
});

test('oclif, not the C tool, reports usage errors, with the C tools\' exit 1', async (t) => {
  for (const args of [['read'], ['read', '-x', '/xx/name'], ['ls', '--bogus'], ['write', '/xx/a'], ['write', '/xx/a', '1', '/xx/b'], ['watch', '-n'], ['frob']]) {
    const r = await xenemu(['xenstore', ...args]);
    t.is(r.exit, 1, args.join(' '));
    t.is(r.stdout, '', args.join(' '));
  }
  t.is(await client.read('/xx/a').catch(() => null), null, 'nothing was written');
});

test('-h and --help show the command help', async (t) => {
  for (const flag of ['-h', '--help']) {
    const r = await xenemu(['xenstore', 'ls', flag]);
    t.is(r.exit, 0);
    t.regex(r.stdout, /Print a XenStore subtree, like xenstore-ls/);
    t.regex(r.stdout, /EXAMPLES/);
  }
  const ctl = await xenemu(['xenstore', 'control', '-h']);
  t.regex(ctl.stdout, /Send a control command to xenstored/);
});

test('mkdir creates empty nodes; an existing one is left as it is', async (t) => {
  t.deepEqual(await xenemu(['xenstore', 'mkdir', '/xm/m1', '/xx/name']), { stdout: '', stderr: '', exit: 0 });
  t.is((await client.read('/xm/m1')).toString(), '');
  t.is((await client.read('/xx/name')).toString(), 'guest one');
  t.deepEqual(await xenemu(['xenstore', 'mkdir', '/xm/bad key']), { stdout: '', stderr: 'xenstore-mkdir: could not create path /xm/bad key\n', exit: 1 });
});

test('failures are reported under the mirrored tool\'s name, by the fast path and by oclif', async (t) => {
  const expected = { stdout: '', stderr: "xenstore-read: couldn't read path /xx/nope\n", exit: 1 };
  t.deepEqual(await xenemu(['xenstore', 'read', '/xx/nope']), expected);
  t.deepEqual(await xenemu(['xenstore', 'read', '/xx/nope'], { ...target.env, XENEMU_FAST_PATH: '0' }), expected);
  const rm = await xenemu(['xenstore', 'ls', '/xx/nope']);
  t.is(rm.exit, 1);
  t.regex(rm.stderr, /^xenstore-ls: /);
});

test('the fast path and oclif print the same bytes', async (t) => {
  for (const args of [['ls', '-p', '/xx'], ['read', '-R', '/xx/bin'], ['list', '-p', '/xx'], ['read', '/xx/name', '/xx/nope'], ['control', 'print', 'x']]) {
    const fast = await xenemu(['xenstore', ...args]);
    const slow = await xenemu(['xenstore', ...args], { ...target.env, XENEMU_FAST_PATH: '0' });
    t.deepEqual(slow, fast, args.join(' '));
  }
});

test('an unreachable XENSTORED_PATH is explained, and nothing is started', async (t) => {
  const home = scratchDir('xe-');
  const r = await xenemu(['xenstore', 'read', '/a'], { ...process.env, XENEMU_HOME: home, XENSTORED_PATH: '/nonexistent/socket' });
  t.is(r.exit, 1);
  t.is(r.stdout, '');
  t.regex(r.stderr, /^xenstore-read: cannot reach xenstored at \/nonexistent\/socket \(XENSTORED_PATH\): No such file or directory/);
  const ctl = await xenemu(['xenstore', 'control', 'help'], { ...process.env, XENEMU_HOME: home, XENSTORED_PATH: '/nonexistent/socket' });
  t.is(ctl.exit, 1);
  t.regex(ctl.stderr, /cannot reach xenstored/);
  t.false(existsSync(join(home, 'socket')), 'no xenemu host was started');
});

test('without XENSTORED_PATH the tools start the xenemu host and use it', async (t) => {
  const home = tempHome();
  const env: NodeJS.ProcessEnv = { ...process.env, XENEMU_HOME: home };
  delete env.XENSTORED_PATH;
  t.deepEqual(await xenemu(['xenstore', 'write', '/auto/a', 'started'], env), { stdout: '', stderr: '', exit: 0 });
  t.deepEqual(await xenemu(['xenstore', 'read', '/auto/a'], env), { stdout: 'started\n', stderr: '', exit: 0 });
  // Hand the running daemon to the helper that knows how to stop it.
  const host = await startHost(home);
  await host.dispose();
});

test('the fast path leaves to oclif what it does not handle', async (t) => {
  const declined = [
    ['host', 'status'],
    ['xenstore'],
    ['xenstore', 'frob', '/a'],
    ['xenstore', 'read', '--json', '/a'],
    ['xenstore', 'read', '--help'],
    ['xenstore', 'read', '-h'],
    ['xenstore', 'read', '-x', '/a'],
    ['xenstore', 'read'],
    ['xenstore', 'write', '/a'],
    ['xenstore', 'watch', '-n'],
    ['xenstore', 'control'],
    ['xenstore', 'control', 'help', '--json'],
    ['xenstore', 'mkdir', '-p', '/a'],
  ];
  for (const argv of declined) t.false(await fastXenstore(argv, {}), argv.join(' '));
  t.false(await fastXenstore(['xenstore', 'read', '/a'], { XENEMU_FAST_PATH: '0' }));
});

/** Static imports reachable from a module of ours (dynamic `await import()` excluded). */
function staticImports(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/^(?:import|export)(?!\s+type\b)[^;]*?from\s+'([^']+)'/gms)) {
    const spec = m[1]!;
    if (spec.startsWith('.')) staticImports(resolve(dirname(file), spec.replace(/\.js$/, '.ts')), seen);
    else seen.add(spec);
  }
  return seen;
}

test('the fast path loads no oclif and no SQLite', (t) => {
  const loaded = [...staticImports(join(REPO, 'src/compat/fast-path.ts'))];
  const external = loaded.filter((m) => !m.startsWith('/'));
  t.deepEqual(external.filter((m) => !m.startsWith('node:')), [], 'only node: built-ins outside our sources');
  t.false(loaded.some((m) => /host\/(daemon|lock|db)|better-sqlite3|@oclif/.test(m)));
});
