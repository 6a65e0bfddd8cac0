import test from 'ava';
import { atoi, strtol } from '../../src/common/c-number.js';
import { InvalidPermSpec, normalisePerms, parsePermSpecs } from '../../src/client/xenstore-perms.js';
import { getoptLong, type GetoptEvent } from '../../src/compat/getopt.js';
import { parseToolArgs, usageText } from '../../src/compat/xenstore-args.js';

const LONG = [
  { name: 'help', hasArg: false, short: 'h' },
  { name: 'prefix', hasArg: false, short: 'p' },
  { name: 'recurse', hasArg: false, short: 'r' },
  { name: 'number', hasArg: true, short: 'n' },
  { name: 'raw', hasArg: false, short: 'R' },
];

function run(argv: string[], env: NodeJS.ProcessEnv = {}): { events: GetoptEvent[]; operands: string[] } {
  const it = getoptLong(argv, 'hprn:R', LONG, env);
  const events: GetoptEvent[] = [];
  let step = it.next();
  for (; !step.done; step = it.next()) events.push(step.value);
  return { events, operands: step.value };
}

test('getopt permutes: operands may come before options', (t) => {
  t.deepEqual(run(['prog', '/a', '-p', '/b']), { events: [{ kind: 'option', opt: 'p' }], operands: ['/a', '/b'] });
});

test('getopt stops at the first operand under POSIXLY_CORRECT, and at --', (t) => {
  t.deepEqual(run(['prog', '/a', '-p'], { POSIXLY_CORRECT: '1' }).operands, ['/a', '-p']);
  t.deepEqual(run(['prog', '-p', '--', '-R', '/b']), { events: [{ kind: 'option', opt: 'p' }], operands: ['-R', '/b'] });
});

test('getopt reads clusters and attached or separate arguments', (t) => {
  t.deepEqual(run(['prog', '-pRn3', '-n', '-p']).events, [
    { kind: 'option', opt: 'p' },
    { kind: 'option', opt: 'R' },
    { kind: 'option', opt: 'n', arg: '3' },
    { kind: 'option', opt: 'n', arg: '-p' },
  ]);
});

test('getopt abbreviates long options and reports what glibc reports', (t) => {
  const { events, operands } = run(['read', '--pre', '--r', '--number=4', '--prefix=1', '--bogus=x', '-x', '--number', '-:']);
  t.deepEqual(events, [
    { kind: 'option', opt: 'p' },
    { kind: 'error', diagnostic: "read: option '--r' is ambiguous; possibilities: '--recurse' '--raw'" },
    { kind: 'option', opt: 'n', arg: '4' },
    { kind: 'error', diagnostic: "read: option '--prefix' doesn't allow an argument" },
    { kind: 'error', diagnostic: "read: unrecognized option '--bogus=x'" },
    { kind: 'error', diagnostic: "read: invalid option -- 'x'" },
    { kind: 'option', opt: 'n', arg: '-:' },
  ]);
  t.deepEqual(operands, []);
  t.deepEqual(run(['p', '-n']).events, [{ kind: 'error', diagnostic: "p: option requires an argument -- 'n'" }]);
  t.deepEqual(run(['p', '--number']).events, [{ kind: 'error', diagnostic: "p: option '--number' requires an argument" }]);
});

test('a lone dash is an operand', (t) => {
  t.deepEqual(run(['p', '-']).operands, ['-']);
});

test('tool arguments: options a mode does not take end in its usage', (t) => {
  t.is(parseToolArgs('read', ['xenstore-read', '-f', '/a']).request, null);
  t.is(parseToolArgs('exists', ['xenstore-exists', '-p', '/a']).request, null);
  t.is(parseToolArgs('read', ['xenstore-read', '-h', '/a']).request, null);
  t.is(parseToolArgs('write', ['xenstore-write', '/a']).request, null);
  t.is(parseToolArgs('read', ['xenstore-read']).request, null);
  t.not(parseToolArgs('ls', ['xenstore-ls']).request, null);
  t.deepEqual(parseToolArgs('watch', ['watch', '-n', ' 2x', '/a']).request?.number, 2);
  t.deepEqual(parseToolArgs('read', ['read', '-x', '-s', '/a']).diagnostics, ["read: invalid option -- 'x'"]);
});

test('usage lines are the 4.17 binary\'s', (t) => {
  t.is(usageText('exists', 'xenstore-exists', false), 'Usage: xenstore-exists [-h] [-p] [-s] key [...]');
  t.is(usageText('chmod', 'xenstore', true), 'Usage: xenstore chmod [-h] [-u] [-r] [-s] key <mode [modes...]>');
});

test('atoi reads what glibc reads', (t) => {
  const rows: Array<[string, number]> = [
    ['5', 5],
    [' 2x', 2],
    ['abc', 0],
    ['', 0],
    ['-1', -1],
    ['+3', 3],
    ['999999999999', -727379969],
    ['99999999999999999999', -1],
  ];
  for (const [s, v] of rows) t.is(atoi(s), v, s);
});

test('strtol base 0 reads octal and hex prefixes', (t) => {
  t.deepEqual(strtol('010', 0), { value: 8n, end: 3, overflow: false });
  t.deepEqual(strtol('0x1f', 0), { value: 31n, end: 4, overflow: false });
  t.deepEqual(strtol('0x', 0), { value: 0n, end: 1, overflow: false });
  t.deepEqual(strtol('08', 0), { value: 0n, end: 1, overflow: false });
  t.deepEqual(strtol('x', 0), { value: 0n, end: 0, overflow: false });
});

test('chmod perm arguments become what the C tool sends', (t) => {
  t.deepEqual(parsePermSpecs(['r1x', 'w2', 'b999999999999', 'n', 'r+3', 'w 4']), ['r1', 'w2', 'b-727379969', 'n0', 'r3', 'w4']);
  t.is(t.throws(() => parsePermSpecs([' n7']))?.message, "Invalid permission specification: ' '");
  const err = t.throws(() => parsePermSpecs(['n0', '']), { instanceOf: InvalidPermSpec });
  t.is(err?.message, "Invalid permission specification: '\0'");
});

test('GET_PERMS entries are printed as libxenstore parses them', (t) => {
  t.deepEqual(normalisePerms(['n0', 'r5', 'b-1', 'w010', 'r0x10', 'n4294967295']), ['n0', 'r5', 'b-1', 'w8', 'r16', 'n-1']);
  t.is(normalisePerms(['x1']), null);
  t.is(normalisePerms(['r']), null);
  t.is(normalisePerms(['r1z']), null);
});
