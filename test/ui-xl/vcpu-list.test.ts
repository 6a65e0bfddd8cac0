// tools/xl/xl_vcpu.c (print_vcpuinfo :27-53, vcpulist :138) and print_bitmap
// (xl_utils.c:205-253) of Xen 4.17.
import test from 'ava';
import { printBitmap } from '../../src/ui/xl/bitmap.js';
import type { XlVcpuRow } from '../../src/toolstack/libxl/rows.js';
import { formatVcpuList, formatVcpuPinDryRun, VCPU_LIST_HEADER } from '../../src/ui/xl/vcpu-list.js';

const vcpu = (over: Partial<XlVcpuRow> = {}): XlVcpuRow => ({
  domName: 'Domain-0',
  domid: 0,
  vcpuid: 0,
  online: true,
  running: true,
  blocked: false,
  cpu: 2,
  vcpuTimeNs: 61_600_000_000n,
  hardAffinity: 'all',
  softAffinity: 'all',
  ...over,
});

test('header: "%-32s %5s %5s %5s %5s %9s %s" (xl_vcpu.c:138)', (t) => {
  t.is(VCPU_LIST_HEADER, 'Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)');
});

test('rows: online "%5u %3c%c- ", offline "%5c %3c%cp ", then "%9.1f  " and the maps (xl_vcpu.c:34-51)', (t) => {
  const out = formatVcpuList(
    [
      vcpu(),
      vcpu({ vcpuid: 1, running: false, blocked: true, cpu: 0, hardAffinity: [0, 1, 2, 3, 5], softAffinity: [2, 3, 4, 5, 6, 7] }),
      vcpu({ domName: 'guest', domid: 3, vcpuid: 2, online: false, running: false, cpu: 7, vcpuTimeNs: 0n, hardAffinity: [], softAffinity: 'all' }),
    ],
    { nrCpus: 8 },
  );
  t.is(
    out,
    `${VCPU_LIST_HEADER}\n` +
      'Domain-0                             0     0    2   r--      61.6  all / all\n' +
      'Domain-0                             0     1    0   -b-      61.6  0-3,5 / 2-7\n' +
      'guest                                3     2    -   --p       0.0  none / all\n',
  );
});

test('print_bitmap: "all" only for one run from 0 to the end; bits past maplen are ignored', (t) => {
  t.is(printBitmap('all', 4), 'all');
  t.is(printBitmap([0, 1, 2, 3], 4), 'all');
  t.is(printBitmap([0, 1, 2, 3, 9], 4), 'all');
  t.is(printBitmap([1, 2, 3], 4), '1-3');
  t.is(printBitmap([0, 1, 2], 4), '0-2');
  t.is(printBitmap([0, 2], 4), '0,2');
  t.is(printBitmap([0, 2, 3], 4), '0,2-3');
  t.is(printBitmap([3], 4), '3');
  t.is(printBitmap([], 4), 'none');
  t.is(printBitmap('all', 0), 'none');
  t.is(printBitmap([0, 1, 4, 5, 6, 9], 16), '0-1,4-6,9');
});

test("xenemu's -l appends the vcpu_info column after two spaces; the standard columns keep their bytes", (t) => {
  const rows = [vcpu({ vcpuInfoLocation: 'shared_info slot 0' }), vcpu({ vcpuid: 33, vcpuInfoLocation: 'gfn 0x1f2e3+0x40' }), vcpu({ vcpuid: 34 })];
  const plain = formatVcpuList(rows, { nrCpus: 8 }).split('\n');
  const long = formatVcpuList(rows, { nrCpus: 8, long: true }).split('\n');
  t.is(long[0], `${plain[0]}  vcpu_info`);
  t.is(long[1], `${plain[1]}  shared_info slot 0`);
  t.is(long[2], `${plain[2]}  gfn 0x1f2e3+0x40`);
  t.is(long[3], `${plain[3]}  -`);
});

test('xl -N vcpu-pin prints "cpumap: HARD[ SOFT]" (xl_vcpu.c main_vcpupin)', (t) => {
  t.is(formatVcpuPinDryRun([0, 1, 2, 3], null, 8), 'cpumap: 0-3\n');
  t.is(formatVcpuPinDryRun(null, 'all', 8), 'cpumap: - all\n');
});
