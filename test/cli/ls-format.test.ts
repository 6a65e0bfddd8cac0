import test from 'ava';
import type { LsNode, LsResult } from '../../src/client/xenstore-tools.js';
import { lsLayout, renderLs } from '../../src/ui/xenstore-ls.js';

function node(path: string, depth: number, value: string | null, perms?: string[] | null): LsNode {
  const name = path.slice(path.lastIndexOf('/') + 1);
  return { path, name, depth, value, encoding: 'utf8', ...(perms !== undefined ? { perms } : {}) };
}

const tree = (...nodes: LsNode[]): LsResult => ({ paths: ['/t'], nodes });
const lines = (r: LsResult, flat: boolean, perms: boolean, cols?: number): string[] => renderLs(r, lsLayout(flat, perms, cols)).stdout.split('\n').slice(0, -1);

test('the default is an indented tree, one space per level', (t) => {
  t.deepEqual(lines(tree(node('/t/a', 0, ''), node('/t/a/b', 1, 'x y')), false, false), ['a = ""', ' b = "x y"']);
});

test('-p pads with a dotted filler to column 60: dots on odd columns', (t) => {
  // As in golden 16: `vm = ""` is 7 wide, then a space, then the filler from column 8.
  const [vm, y] = lines(tree(node('/t/vm', 0, '', ['n0']), node('/t/vm/y', 1, '1', ['n0', 'r5'])), false, true);
  t.is(vm, `vm = ""  ${'. '.repeat(26)} (n0)`);
  t.is(vm!.indexOf('(n0)') - 2, 60);
  t.is(y, ` y = "1" ${'. '.repeat(26)} (n0,r5)`);
});

test('a value too long for 80 columns is cut and ends with \\..."', (t) => {
  const long = '0123456789'.repeat(10);
  // name (4) + ` = "` ... the value gets 80 - 8 - 4 = 68 characters.
  t.deepEqual(lines(tree(node('/t/long', 0, long)), false, false), [`long = "${long.slice(0, 68)}\\..."`]);
  t.deepEqual(lines(tree(node('/t/long', 0, long)), true, false), [`/t/long = "${long}"`]);
});

test('the cut counts raw bytes but keeps escaped characters', (t) => {
  // 32 raw bytes of \x01 (4 chars escaped each) fit by raw length at 80 columns.
  const r = tree({ ...node('/t/bin', 0, Buffer.alloc(32, 1).toString('base64')), encoding: 'base64' });
  t.is(lines(r, false, false)[0], `bin = "${'\\001'.repeat(32)}"`);
  // 28 − 8 − 3 = 17 characters: the cut can split an escape, leaving a lone backslash.
  t.is(lines(r, false, false, 30)[0], `bin = "${'\\001'.repeat(4)}\\\\..."`);
});

test('on a terminal the width is its columns − 2, even with -f', (t) => {
  const r = tree(node('/t/short', 0, '0123456789'.repeat(4)));
  t.deepEqual(lines(r, false, false, 50), ['short = "01234567890123456789012345678901234\\..."']);
  t.deepEqual(lines(r, true, false, 50), ['/t/short = "0123456789012345678901234567890123456789"']);
  t.deepEqual(lines(r, true, false, 30), ['/t/short = "01234567890123456789\\..."']);
});

test('a long name is cut to leave room for the value frame', (t) => {
  const name = 'a'.repeat(90);
  t.deepEqual(lines(tree(node(`/t/${name}`, 0, '')), false, false), [`${'a'.repeat(72)} = ""`]);
});

test('a terminal of 0 or 1 columns cuts nothing (the C test is unsigned)', (t) => {
  t.deepEqual(lines(tree(node('/t/x', 2, 'value', ['n0'])), false, true, 1), ['  x = "value"   (n0)']);
});

test('-f -p puts the perms three spaces after the value', (t) => {
  t.deepEqual(lines(tree(node('/t/x', 0, '1', ['b5', 'r0'])), true, true), ['/t/x = "1"   (b5,r0)']);
});

test('an unreadable node prints "name:" and unreadable perms warn on stderr', (t) => {
  const r = tree(node('/t/x', 0, null, ['n0']), { ...node('/t/y', 0, 'v', null), permsErrno: 'EACCES' });
  const out = renderLs(r, lsLayout(false, true, undefined));
  t.is(out.stdout, `x:\n  (n0)\ny = "v" ${' .'.repeat(26)}\n`);
  t.deepEqual(out.warnings, ['\ncould not access permissions for y: Permission denied']);
});
