import test from 'ava';
import { atoi, strtol, strtoul, type CBase } from '../../src/common/c-number.js';

// Each row is what glibc 2.36 (x86_64) answers: value, end (endptr - nptr) and whether
// errno was set to ERANGE, checked with a C program calling strtol/strtoul.
const STRTOL: [string, CBase, bigint, number, boolean][] = [
  ['  \t-12abc', 10, -12n, 6, false],
  ['+', 10, 0n, 0, false],
  ['-', 0, 0n, 0, false],
  ['0x', 0, 0n, 1, false],
  ['0xg', 16, 0n, 1, false],
  ['0X1F', 0, 31n, 4, false],
  ['010', 0, 8n, 3, false],
  ['08', 0, 0n, 1, false],
  ['9223372036854775807', 10, (1n << 63n) - 1n, 19, false],
  ['9223372036854775808', 10, (1n << 63n) - 1n, 19, true],
  ['-9223372036854775808', 10, -(1n << 63n), 20, false],
  ['-9223372036854775809', 0, -(1n << 63n), 20, true],
  ['ff', 16, 255n, 2, false],
  ['0x10', 8, 0n, 1, false],
  ['19', 8, 1n, 1, false],
  [' \v\f\r\n7', 0, 7n, 6, false],
  ['\u00a07', 10, 0n, 0, false],
];

test('strtol: spaces, sign, base prefixes, the end index and clamping with ERANGE as glibc', (t) => {
  for (const [s, base, value, end, overflow] of STRTOL) t.deepEqual(strtol(s, base), { value, end, overflow }, JSON.stringify([s, base]));
});

test('strtoul: "-N" wraps to 2^64 - N; out of range is ULONG_MAX with ERANGE, sign or not', (t) => {
  const max = (1n << 64n) - 1n;
  t.deepEqual(strtoul('-1', 10), { value: max, end: 2, overflow: false });
  t.deepEqual(strtoul('18446744073709551616', 10), { value: max, end: 20, overflow: true });
  t.deepEqual(strtoul('-18446744073709551616', 10), { value: max, end: 21, overflow: true });
  t.deepEqual(strtoul('0x', 16), { value: 0n, end: 1, overflow: false });
});

test('atoi is (int) strtol base 10: it wraps past INT_MAX and reads no prefix', (t) => {
  t.is(atoi('2147483648'), -2147483648);
  t.is(atoi('0x10'), 0);
  t.is(atoi(' 42abc'), 42);
});
