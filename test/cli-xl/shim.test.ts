import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { xlRun } from '../../src/compat/xl-main.js';
import { formatHelpList, XL_CMD_TABLE } from '../../src/ui/xl/index.js';
import { assertXlBuilt, scratch, XL_JS, xlHost, type XlHost } from './helpers.js';

// The `xl` shim's own part: main() of xl.c (global options, help, dispatch) and
// def_getopt()'s usage errors. The expected texts are the real xl 4.17's, checked with
// its binary (xen-utils-4.17) where it runs without a hypervisor.

let h: XlHost;

test.before(async () => {
  assertXlBuilt();
  h = await xlHost();
});

test.after.always(async () => {
  await h?.dispose();
});

test('no subcommand: the full help on stdout, status 1; `help` is the same with status 0', async (t) => {
  t.deepEqual(await h.xl(), { stdout: formatHelpList(), stderr: '', code: 1 });
  t.deepEqual(await h.xl('help'), { stdout: formatHelpList(), stderr: '', code: 0 });
  t.true(formatHelpList().startsWith('Usage xl [-vfNtT] <subcommand> [args]\n\nxl full list of subcommands:\n\n create              Create a domain from config file <filename>\n'));
  for (const cmd of XL_CMD_TABLE) t.true(formatHelpList().includes(`\n ${cmd.name} `), cmd.name);
});

test('help CMD, CMD -h and CMD --help print the command\'s usage (status 0); an unknown one says so', async (t) => {
  const usage = 'Usage: xl [-vtT] list [options] [Domain]\n\n\nList information about all/some domains.\n\nOptions:\n\n';
  for (const args of [['help', 'list'], ['list', '-h'], ['list', '--help'], ['li', '--he']]) {
    const r = await h.xl(...args);
    t.is(r.code, 0, args.join(' '));
    t.true(r.stdout.startsWith(usage), args.join(' '));
  }
  t.deepEqual(await h.xl('help', 'vcpu'), { stdout: 'command "vcpu" not implemented\n', stderr: '', code: 0 });
});

test('global options: -v -f -t -T are accepted, anything else is glibc\'s complaint plus "unknown global option" (status 1)', async (t) => {
  const list = await h.xl('list');
  t.is((await h.xl('-v', '-f', '-t', '-T', 'list')).stdout.split('\n')[0], list.stdout.split('\n')[0]);
  t.deepEqual(await h.xl('-x', 'list'), { stdout: '', stderr: `${XL_JS}: invalid option -- 'x'\nunknown global option\n`, code: 1 });
  // Global options stop at the subcommand: -x belongs to list there.
  t.deepEqual(await h.xl('list', '-x'), { stdout: '', stderr: "option `x' not supported.\n", code: 2 });
});

test('commands are found by a unique prefix; an ambiguous or unknown one is "command not implemented" (status 1)', async (t) => {
  t.is((await h.xl('vcpu-l')).stdout.split('\n')[0], 'Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)');
  t.is((await h.xl('domn', '0')).stdout, 'Domain-0\n');
  t.deepEqual(await h.xl('de', '0'), { stdout: '', stderr: 'command not implemented\n', code: 1 });
  t.deepEqual(await h.xl('bogus'), { stdout: '', stderr: 'command not implemented\n', code: 1 });
});

test('xl commands xenemu does not emulate say so, status 1', async (t) => {
  const r = await h.xl('vncviewer', 'web');
  t.is(r.code, 1);
  t.regex(r.stderr, /^command "vncviewer" not implemented \(xenemu emulates create, list, destroy, .*, console, .*\)\n$/);
});

test('-N: only for the commands that can dry-run (status 1 for the others)', async (t) => {
  t.deepEqual(await h.xl('-N', 'destroy', '0'), { stdout: '', stderr: 'command does not implement -N (dryrun) option\n', code: 1 });
  t.deepEqual(await h.xl('-N', 'list'), { stdout: '', stderr: 'command does not implement -N (dryrun) option\n', code: 1 });
});

test('too few operands: "requires at least N argument(s)" on stderr, the usage on stdout, status 2', async (t) => {
  const r = await h.xl('mem-set', 'web');
  t.is(r.code, 2);
  t.is(r.stderr, "'xl mem-set' requires at least 2 arguments.\n\n");
  t.true(r.stdout.startsWith("Usage: xl [-vtTf] mem-set <Domain> <MemMB['b'[bytes]|'k'[KB]|'m'[MB]|'g'[GB]|'t'[TB]]>\n\nSet the current memory usage for a domain.\n"));
  t.is((await h.xl('pause')).stderr, "'xl pause' requires at least 1 argument.\n\n");
});

test('getopt_long as xl runs it: unknown and ambiguous long options are optopt NUL, a missing argument its letter', async (t) => {
  t.deepEqual(await h.xl('create', '--vnc', 'x'), { stdout: '', stderr: "option `\0' not supported.\n", code: 2 });
  t.deepEqual(await h.xl('create', '-f'), { stdout: '', stderr: "option `f' not supported.\n", code: 2 });
  t.deepEqual(await h.xl('list', '--lo=3'), { stdout: '', stderr: "option `l' not supported.\n", code: 2 });
  // "--" ends the options: "-l" is then a domain name.
  t.deepEqual(await h.xl('list', '--', '-l'), { stdout: '', stderr: '-l is an invalid domain identifier (rc=-6)\n', code: 1 });
});

test('an `xl` found on PATH calls itself xl in glibc\'s messages', async (t) => {
  const dir = join(scratch(), 'bin');
  mkdirSync(dir);
  symlinkSync(XL_JS, join(dir, 'xl'));
  const r = await new Promise<{ stderr: string; code: number | null }>((resolve) => {
    const child = spawn('xl', ['-q', 'list'], { env: { ...h.env, PATH: `${dir}:${process.env.PATH ?? ''}` }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ stderr, code }));
  });
  t.deepEqual(r, { stderr: "xl: invalid option -- 'q'\nunknown global option\n", code: 1 });
});

test('xlRun, in process: the same results without spawning (the shim is a thin wrapper)', async (t) => {
  const notes: string[] = [];
  const r = await xlRun('xl', ['domid', 'Domain-0'], (s) => notes.push(s), h.env);
  t.deepEqual(r, { stdout: '0\n', stderr: '', code: 0 });
  t.deepEqual(notes, []);
});
