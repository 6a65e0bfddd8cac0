import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { connectXsClient } from '../../src/client/xs-socket.js';
import type { XsClient } from '../../src/protocol/xs-client.js';
import { encodeMessage, XsType } from '../../src/protocol/xs-wire.js';
import { assertXlBuilt, RUN_JS, scratchFile, xlHost, type XlHost } from '../cli-xl/helpers.js';
import { needing } from '../helpers/needing.js';
import { SYSTEM_PYTHON } from '../helpers/run.js';

// `xenemu exec DOM [--] COMMAND` and `xenemu xenstore ... --domain DOM` through dist/
// (npm run build first), on a host with one small guest, `a`.

const withTools = needing(existsSync('/usr/bin/xenstore-read') ? null : 'xenstore-read missing (apt-get install xenstore-utils)', { serial: true });

let h: XlHost;
let dom0: XsClient;
let a: number;

async function create(name: string): Promise<number> {
  const r = await h.xenemu('create', scratchFile(`${name}.yaml`, `name: ${name}\ntype: pvh\nmemory: 64\nvcpus: 1\n`));
  if (r.code !== 0) throw new Error(`create ${name}: ${r.stderr}`);
  const rows = await h.until((rs) => rs.find((d) => d.name === name)?.stateFlags.blocked === true, `${name} idle`);
  return rows.find((d) => d.name === name)!.domid;
}

test.before(async () => {
  assertXlBuilt();
  h = await xlHost();
  a = await create('a');
  dom0 = await connectXsClient(h.host.paths.socket);
});

test.after.always(async () => {
  dom0?.close();
  await h?.dispose();
});

withTools('exec runs a command as the domain: relative paths are its home, its exit status is exec’s', async (t) => {
  const r = await h.xenemu('exec', 'a', 'xenstore-read', 'name', 'domid');
  t.deepEqual(r, { code: 0, stdout: `a\n${a}\n`, stderr: '' });
  const env = await h.xenemu('exec', String(a), '--', 'sh', '-c', 'echo "$XENEMU_DOMAIN $XENEMU_DOMID"; exit 7');
  t.deepEqual([env.code, env.stdout], [7, `a ${a}\n`]);
  const socket = (await h.xenemu('exec', 'a', '--', 'sh', '-c', 'printf %s "$XENSTORED_PATH"')).stdout;
  t.is(socket, join(h.host.paths.home, `xenbus-${a}.sock`));
  t.is(statSync(socket).mode & 0o777, 0o600);
  t.is(statSync(h.host.paths.home).mode & 0o777, 0o700);
});

withTools('the command’s own options are its own, --help included, with or without --', async (t) => {
  for (const args of [['a', 'xenstore-ls', '--help'], ['a', '--', 'xenstore-ls', '--help']]) {
    const r = await h.xenemu('exec', ...args);
    t.regex(r.stdout + r.stderr, /^xenstore-ls: Usage: xenstore-ls /, args.join(' '));
  }
  t.regex((await h.xenemu('exec', '--help')).stdout, /^Run a command inside a domain/);
});

test.serial('exec of a command that does not exist says so and exits 127; an unknown domain is xl’s error', async (t) => {
  const r = await h.xenemu('exec', 'a', '--', 'no-such-command-here');
  t.deepEqual(r, { code: 127, stdout: '', stderr: 'xenemu exec: no-such-command-here: command not found\n' });
  const unknown = await h.xenemu('exec', 'nosuch', 'true');
  t.is(unknown.code, 1);
  t.is(unknown.stderr, 'nosuch is an invalid domain identifier (rc=-6)\n');
});

test.serial('exec without a command opens a shell whose prompt names the domain', async (t) => {
  const child = spawn(process.execPath, [RUN_JS, 'exec', 'a'], { env: { ...h.env, SHELL: '/bin/sh' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdin.end('xenstore-read name\nexit 3\n');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.is(code, 3);
  t.is(out, 'a\n');
  t.true(err.startsWith(`xenemu exec: a shell in domain ${a} (a): XenStore clients run as the domain`), err);
  t.true(err.includes(`[a:${a}]$ `), err);
});

withTools('xenstore --domain runs our tools as the domain, a domid value kept apart from the operands', async (t) => {
  const r = await h.xenemu('xenstore', 'read', '--domain', 'a', 'name');
  t.deepEqual(r, { code: 0, stdout: 'a\n', stderr: '' });
  const w = await h.xenemu('xenstore', 'write', '--domain', String(a), 'data/d', String(a));
  t.is(w.code, 0, w.stderr);
  t.is((await dom0.read(`/local/domain/${a}/data/d`)).toString(), String(a));
  const denied = await h.xenemu('xenstore', 'write', '--domain', 'a', '/local/domain/0/x', '1');
  t.deepEqual([denied.code, denied.stderr], [1, 'xenstore-write: could not write path /local/domain/0/x\n']);
  const json = await h.xenemu('xenstore', 'read', '--json', '--domain', 'a', 'name');
  t.deepEqual(JSON.parse(json.stdout), { entries: [{ path: 'name', value: 'a', encoding: 'utf8' }] });
});

test.serial('what a command in the domain asks of XenStore shows in the guest’s xenstore interrupt count', async (t) => {
  const count = async (): Promise<number> => {
    const r = await h.xenemu('interrupts', 'a', '--json');
    return (JSON.parse(r.stdout) as { rows: Array<{ name: string; total: number }> }).rows.find((row) => row.name === 'xenstore0')!.total;
  };
  const before = await count();
  const r = await h.xenemu('exec', 'a', '--', SYSTEM_PYTHON, join(new URL('../isolation', import.meta.url).pathname, 'flood.py'), '200');
  t.is(r.stdout, '200\n', r.stderr);
  t.true((await count()) - before >= 200);
});

test.serial('a program in the domain that watches and never reads is hung up once 4 MiB of events wait for it; the domain goes on', async (t) => {
  const path = (await h.xenemu('exec', 'a', '--', 'sh', '-c', 'printf %s "$XENSTORED_PATH"')).stdout;
  const sleeper = createConnection(path);
  t.teardown(() => sleeper.destroy());
  // Never read: the socket is not resumed and has no 'data' listener.
  sleeper.pause();
  const token = 't'.repeat(2000);
  await new Promise<void>((resolve, reject) => sleeper.write(encodeMessage(XsType.WATCH, 1, 0, `data/flood\0${token}\0`), (err) => (err ? reject(err) : resolve())));
  const watched = async (): Promise<boolean> => (await dom0.control(['watches'])).includes(token);
  for (let i = 0; i < 100 && !(await watched()); i++) await new Promise((r) => setImmediate(r));
  t.true(await watched(), 'the watch is set');
  // Each change is a ~2 KB event for it: 4 MiB and the socket buffers are ~2200 of them.
  let writes = 0;
  while (writes < 20_000 && (writes % 250 !== 0 || (await watched()))) {
    await dom0.write(`/local/domain/${a}/data/flood`, String(writes++));
  }
  t.false(await watched(), `hung up after ${writes} events`);
  t.true(writes > 2000, `not before 4 MiB waited (${writes} events)`);
  t.regex(readFileSync(h.host.paths.log, 'utf8'), /xenbus device client closed: \d+ bytes of answers and watch events unread \(at most 4194304\)/);
  t.deepEqual((await h.xenemu('exec', 'a', 'xenstore-read', 'name')).stdout, 'a\n');
});

test.serial('exec ends when its domain goes away, saying so, and the domain’s socket goes with it', async (t) => {
  const b = await create('b');
  const child = spawn(process.execPath, [RUN_JS, 'exec', 'b', '--', 'sh', '-c', 'echo started; exec sleep 60'], { env: h.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const socket = join(h.host.paths.home, `xenbus-${b}.sock`);
  t.true(existsSync(socket));
  const code = new Promise<number | null>((resolve) => child.on('close', resolve));
  t.is((await h.xenemu('destroy', 'b')).code, 0);
  t.is(await code, 1);
  t.is(err, `xenemu exec: domain ${b} (b) has gone away (shut down or destroyed); ending sh\n`);
  t.false(existsSync(socket));
});

test.serial('exec ends when the host stops, saying so (the last test: it stops the host)', async (t) => {
  const child = spawn(process.execPath, [RUN_JS, 'exec', 'a', '--', 'sh', '-c', 'echo started; exec sleep 60'], { env: h.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const code = new Promise<number | null>((resolve) => child.on('close', resolve));
  await h.host.stop();
  t.is(await code, 1);
  t.is(err, `xenemu exec: the xenemu host stopped, and domain ${a} (a) with it; ending sh\n`);
});
