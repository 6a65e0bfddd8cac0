import test from 'ava';
import { spawn } from 'node:child_process';
import { assertXlBuilt, RUN_JS, scratchFile, xlHost, type XlHost } from './helpers.js';

// xl console (tools/xl/xl_console.c, and the xenconsole client it execs) through both
// front doors: its refusals with xl's and xenconsole's messages and statuses, and a
// session without a terminal (output only, as xenconsole without a tty), which ends
// with status 0 when the domain goes away. The terminal side is in console-tmux.test.ts.

assertXlBuilt();

let h: XlHost;

test.before(async () => {
  h = await xlHost();
  const r = await h.xl('create', '-q', scratchFile('g.yaml', 'name: g\ntype: pv\nmemory: 64\n'));
  if (r.code !== 0) throw new Error(r.stderr);
});

test.after.always(async () => {
  await h?.dispose();
});

const refusals: Array<[string[], string, number]> = [
  [['nope'], 'nope is an invalid domain identifier (rc=-6)\n', 1],
  [['0'], "Can't specify Domain-0\n", 22],
  [['Domain-0'], "Can't specify Domain-0\n", 22],
  [['77'], 'xenemu: domain 77 does not exist\nUnable to attach console\n', 1],
  [['-t', 'bad', 'g'], 'console type supported are: pv, serial, vuart\n', 1],
  [['-t', 'vuart', 'g'], "xenemu: console type vuart is not emulated (a vUART is an ARM guest's); use -t pv\nUnable to attach console\n", 1],
  [['-n', '1', 'g'], 'xenemu: domain 1 has no console 1: xenemu emulates each domain\'s primary console (number 0) only\nUnable to attach console\n', 1],
];

for (const [args, stderr, code] of refusals) {
  test(`console ${args.join(' ')}: ${stderr.split('\n')[0]}, status ${code}`, async (t) => {
    t.deepEqual(await h.xl('console', ...args), { stdout: '', stderr, code });
    t.deepEqual(await h.xenemu('console', ...args), { stdout: '', stderr, code });
  });
}

test('xl console with no domain prints its usage, status 2', async (t) => {
  const r = await h.xl('console');
  t.is(r.code, 2);
  t.true(r.stdout.startsWith('Usage: xl [-vtT] console [options] <Domain>\n'));
  t.is(r.stderr, "'xl console' requires at least 1 argument.\n\n");
});

test('without a terminal, console shows the output kept for it and ends with status 0 when the domain goes', async (t) => {
  const r = await h.xl('create', '-q', scratchFile('h.yaml', 'name: h\ntype: pv\nmemory: 64\n'));
  t.is(r.code, 0);
  const child = spawn(process.execPath, [RUN_JS, 'console', '-t', 'serial', 'h'], { env: h.env, stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  for (let i = 0; i < 2000 && !stdout.includes('root@h:~# '); i++) await new Promise((r) => setTimeout(r, 5));
  t.regex(stdout, /Booting h \(domain \d+, PV/);
  // Not a terminal: stdin is not read (xenconsole's non-interactive mode), so this reaches nobody.
  child.stdin.write('uname\r');
  t.deepEqual(await h.xl('destroy', 'h'), { stdout: '', stderr: '', code: 0 });
  t.is(await exited, 0);
  t.is(stderr, '');
  t.false(stdout.includes('xenemu\r\n'));
});

test('a second console on the same domain is refused while the first is attached', async (t) => {
  const first = spawn(process.execPath, [RUN_JS, 'console', 'g'], { env: h.env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => first.kill('SIGKILL'));
  let out = '';
  first.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => first.on('close', (code) => resolve(code)));
  // The first has attached once the output kept for it (g's boot log: no other test attaches to g) reached it.
  for (let i = 0; i < 2000 && !out.includes('root@g:~# '); i++) await new Promise((r) => setTimeout(r, 5));
  t.regex(out, /Booting g /);
  const second = await h.xl('console', 'g');
  t.deepEqual(second, { stdout: '', stderr: "xenemu: domain 1's console is already attached to another xenemu console\n", code: 11 });
  // SIGTERM ends a session with status 0, as xenconsole's handler does.
  first.kill('SIGTERM');
  t.is(await exited, 0);
});
