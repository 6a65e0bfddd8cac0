import test from 'ava';
import { detectConfigFormat, expandCpuList, kernelCommandLine } from '../../src/toolstack/config/index.js';
import { strtol as cStrtol, parseCLong } from '../../src/common/c-number.js';

test('the format comes from the extension, else from the first setting', (t) => {
  t.is(detectConfigFormat('a.yaml', 'name = "x"'), 'yaml');
  t.is(detectConfigFormat('a.YML', ''), 'yaml');
  t.is(detectConfigFormat('a.cfg', 'name: x'), 'xlcfg');
  t.is(detectConfigFormat('/etc/xen/web', '# xl\n\nname = "web"\n'), 'xlcfg');
  t.is(detectConfigFormat('/etc/xen/web', '# yaml\nname: web\n'), 'yaml');
  t.is(detectConfigFormat('/etc/xen/web', 'Name="web"\n'), 'xlcfg');
  t.is(detectConfigFormat('/etc/xen/web', ''), 'yaml');
});

test('the kernel command line is built as xl builds it', (t) => {
  t.is(kernelCommandLine({ cmdline: 'a', root: '/dev/xvda1', extra: 'b' }), 'a');
  t.is(kernelCommandLine({ root: '/dev/xvda1', extra: 'quiet' }), 'root=/dev/xvda1 quiet');
  t.is(kernelCommandLine({ root: '/dev/xvda1' }), 'root=/dev/xvda1');
  t.is(kernelCommandLine({ extra: 'quiet' }), 'quiet');
  t.is(kernelCommandLine({}), undefined);
});

test('CPU lists expand as xl.cfg(5) describes', (t) => {
  t.deepEqual(expandCpuList('0-3,5,^1', 8), [0, 2, 3, 5]);
  t.deepEqual(expandCpuList('all,^7', 8), [0, 1, 2, 3, 4, 5, 6]);
  t.deepEqual(expandCpuList('all', 2), [0, 1]);
  t.throws(() => expandCpuList('^all', 4), { message: '"^all": "^" cannot be combined with "all"' });
  t.throws(() => expandCpuList('3-1', 4), { message: '"3-1": the range ends before it starts' });
});

test('NUMA node lists are the CPUs of those nodes: the host is one node, 0, with every CPU (as xl reads them on a one-node host)', (t) => {
  t.deepEqual(expandCpuList('node:0', 4), [0, 1, 2, 3]);
  t.deepEqual(expandCpuList('nodes:0-1,^2', 4), [0, 1, 3]);
  t.deepEqual(expandCpuList('nodes:all', 2), [0, 1]);
  t.deepEqual(expandCpuList('node:1,3', 4), [3], 'a node the host lacks has no CPUs (libxl_node_to_cpumap)');
  t.deepEqual(expandCpuList('all,^node:0', 4), []);
  t.throws(() => expandCpuList('^nodes:all', 4), { message: '"^nodes:all": "^" cannot be combined with "all"' });
  t.throws(() => expandCpuList('socket:0', 4), { message: '"socket:0" is not a CPU range: write N, N-M, all, node:N, or ^N to exclude, e.g. "0-3,^2"' });
});

test('numbers parse as strtol base 0 does', (t) => {
  t.deepEqual(parseCLong('0x200'), { value: 512 });
  t.deepEqual(parseCLong('010'), { value: 8 });
  t.deepEqual(parseCLong(' -5'), { value: -5 });
  t.deepEqual(parseCLong('12abc'), { problem: '"12abc" is not a valid number' });
  t.deepEqual(parseCLong(''), { problem: '"" is not a valid number' });
  t.deepEqual(parseCLong('9223372036854775808'), { problem: '9223372036854775808 is out of range' });
  t.is(cStrtol('0x', 0).end, 1);
});
