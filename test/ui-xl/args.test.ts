// tools/xl/xl_parse.c of Xen 4.17: parse_range (:138-164), update_cpumap_range
// (:166-236), parse_cpurange (:242-257), parse_mem_size_kb (:2775-2805); xl_mem.c's
// "invalid memory size" check.
import test from 'ava';
import { parseCpuList, parseMemSizeKb, parseMemSizeKbRaw, parseRange, XlArgError } from '../../src/ui/xl/args.js';

const cpus = (spec: string, maxCpus = 8): number[] => parseCpuList(spec, { maxCpus });

test('cpu lists: single CPUs, ranges, "^" removal applied left to right, "all"', (t) => {
  const table: [string, number[]][] = [
    ['3', [3]],
    ['0-3', [0, 1, 2, 3]],
    ['0-3,^2', [0, 1, 3]],
    ['^2,0-3', [0, 1, 2, 3]], // removal before the add has nothing to remove
    ['all', [0, 1, 2, 3, 4, 5, 6, 7]],
    ['all,^0-1', [2, 3, 4, 5, 6, 7]],
    ['nodes:all', [0, 1, 2, 3, 4, 5, 6, 7]], // "nodes:all" is plain "all"
    ['1,,5,', [1, 5]], // strtok skips empty items
    ['', []],
    [' 2', [2]], // strtoul skips leading white space
    ['+4', [4]],
    ['6-100', [6, 7]], // CPUs past the map are ignored (libxl_bitmap_set)
    ['-2', []], // strtoul("-2") is 2^64-2: accepted, outside the map
  ];
  for (const [spec, want] of table) t.deepEqual(cpus(spec), want, spec);
  // The map is max_cpus rounded up to bytes: with 6 CPUs, "all" still sets bits 6 and 7.
  t.deepEqual(cpus('all', 6), [0, 1, 2, 3, 4, 5, 6, 7]);
  t.deepEqual(cpus('7', 6), [7]);
});

test('cpu list errors carry xl\'s stderr line', (t) => {
  const err = (spec: string): XlArgError => t.throws(() => cpus(spec), { instanceOf: XlArgError })!;
  t.is(err('^all').stderr, 'Can\'t combine "^" and "all".\n');
  t.is(err('^nodes:all').code, 'caret-all');
  t.is(err('3-1').stderr, 'Invalid pcpu range: 3-1.\n');
  t.is(err('x').stderr, 'Invalid pcpu range: x.\n');
  t.is(err('1 ').stderr, 'Invalid pcpu range: 1 .\n');
  t.is(err('0x1').code, 'invalid-cpu-range');
  t.is(err('18446744073709551615').code, 'invalid-cpu-range'); // ULONG_MAX is refused
  t.is(err('^-1').stderr, 'Invalid pcpu range: -1.\n'); // strtoul("-1") is ULONG_MAX
  t.is(err('2-').code, 'invalid-cpu-range');
  t.is(err('node:0').code, 'nodes-unsupported');
});

test('node items use the NUMA layout when one is given', (t) => {
  const nodeCpus = [
    [0, 1, 2, 3],
    [4, 5, 6, 7],
  ];
  t.deepEqual(parseCpuList('nodes:1', { maxCpus: 8, nodeCpus }), [4, 5, 6, 7]);
  t.deepEqual(parseCpuList('all,^node:0', { maxCpus: 8, nodeCpus }), [4, 5, 6, 7]);
  t.deepEqual(parseCpuList('nodes:0-5', { maxCpus: 8, nodeCpus }), [0, 1, 2, 3, 4, 5, 6, 7]);
});

test('parse_range', (t) => {
  t.deepEqual(parseRange('4'), { a: 4n, b: 4n });
  t.deepEqual(parseRange('4-4'), { a: 4n, b: 4n });
  t.deepEqual(parseRange('3--4'), { a: 3n, b: 2n ** 64n - 4n }); // strtoul("-4")
  t.is(parseRange('4-3'), null);
  t.is(parseRange(''), null);
});

test('memory sizes: a bare number is MiB; suffixes b k m g t in any case; result in KiB', (t) => {
  const table: [string, bigint][] = [
    ['512', 524288n],
    ['512m', 524288n],
    ['512M', 524288n],
    ['1g', 1048576n],
    ['1G', 1048576n],
    ['2t', 2147483648n],
    ['2048k', 2048n],
    ['1048576b', 1024n],
    ['1500b', 1n], // bytes >> 10 truncates
    ['0', 0n],
    ['', 0n], // strtoll finds no digits, the empty rest takes the MiB branch
    ['k', 0n],
    ['  64', 65536n],
    ['+1g', 1048576n],
    ['-2', -2048n],
    ['99999999999999999999', -1024n], // strtoll saturates at LLONG_MAX; << 10 wraps
    ['9999999999999999t', -7210192635749728256n], // the int64 shifts wrap (checked against gcc)
  ];
  for (const [arg, kb] of table) t.is(parseMemSizeKbRaw(arg), kb, arg);
  for (const bad of ['1x', '1kb', '1 ', '0x10', ' ', '-', '+m', '1é', '1\u00e9']) t.is(parseMemSizeKbRaw(bad), -1n, bad);
});

test('mem-set/mem-max reject -1 with xl\'s message, including "-1k" which is -1 KiB', (t) => {
  t.is(parseMemSizeKb('256'), 262144n);
  t.is(t.throws(() => parseMemSizeKb('lots'), { instanceOf: XlArgError })!.stderr, 'invalid memory size: lots\n');
  t.is(t.throws(() => parseMemSizeKb('-1k'), { instanceOf: XlArgError })!.code, 'invalid-memory-size');
  t.is(parseMemSizeKb('-2k'), -2n); // xl only checks for -1
});
