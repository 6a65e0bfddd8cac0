// Expectations follow tools/xl/xl_info.c of Xen 4.17 (Debian's 4.17.5+72-g01140da4e8
// tree, stable-4.17 at 01140da4e8); line numbers refer to that file.
import test from 'ava';
import { formatDomid, formatDomname, formatList, formatVmList, LIST_HEADER } from '../../src/ui/xl/list.js';
import type { XlDomainRow } from '../../src/toolstack/libxl/rows.js';

const row = (over: Partial<XlDomainRow> = {}): XlDomainRow => ({
  domid: 0,
  name: 'Domain-0',
  currentMemKb: 1024 * 1024,
  vcpusOnline: 4,
  stateFlags: { running: true, blocked: false, paused: false, shutdown: false, dying: false },
  cpuTimeNs: 123_400_000_000n,
  uuid: '00000000-0000-0000-0000-000000000000',
  ...over,
});

test('header: "Name" padded to column 44, then ID, Mem, VCPUs and two real tabs (xl_info.c:378)', (t) => {
  t.is(LIST_HEADER, 'Name' + ' '.repeat(40) + 'ID   Mem VCPUs\tState\tTime(s)');
  t.is(formatList([]), `${LIST_HEADER}\n`);
});

test('a row is "%-40s %5d %5lu %5d     %c%c%c%c%c%c  %8.1f" (xl_info.c:402)', (t) => {
  t.is(formatList([row()]).split('\n')[1], 'Domain-0                                     0  1024     4     r-----     123.4');
  // The README's example row, byte for byte.
  const lines = formatList([row(), row({ domid: 12, name: 'guest', currentMemKb: 524288 + 1023, vcpusOnline: 2, cpuTimeNs: 5_049_999_999n, stateFlags: { running: false, blocked: true, paused: false, shutdown: false, dying: false } })]).split('\n');
  // Mem is (current + outstanding) / 1024 in integers: 512.999 MiB prints 512.
  t.is(lines[2], 'guest                                       12   512     2     -b----       5.0');
  t.is(lines[3], '');
  t.is(lines.length, 4);
});

test('state letters r b p s, the reason letter from "-rscwS", then d (xl_info.c:371, 408-415)', (t) => {
  const flags = (f: Partial<XlDomainRow['stateFlags']>) => ({ running: false, blocked: false, paused: false, shutdown: false, dying: false, ...f });
  const state = (r: Partial<XlDomainRow>): string => formatList([row(r)]).split('\n')[1]!.slice(63, 69);
  t.is(state({ stateFlags: flags({ running: true, blocked: true, paused: true }) }), 'rbp---');
  t.is(state({ stateFlags: flags({ shutdown: true }), shutdownReason: 'poweroff' }), '---s--');
  t.is(state({ stateFlags: flags({ shutdown: true }), shutdownReason: 'reboot' }), '---sr-');
  t.is(state({ stateFlags: flags({ shutdown: true }), shutdownReason: 'suspend' }), '---ss-');
  t.is(state({ stateFlags: flags({ shutdown: true }), shutdownReason: 'crash' }), '---sc-');
  t.is(state({ stateFlags: flags({ shutdown: true }), shutdownReason: 'watchdog' }), '---sw-');
  t.is(state({ stateFlags: flags({ shutdown: true }), shutdownReason: 'soft_reset' }), '---sS-');
  t.is(state({ stateFlags: flags({ shutdown: true }), shutdownReason: 'unknown' }), '---s?-');
  // The reason only counts while shut down: shutdown_reason = shutdown ? reason : 0.
  t.is(state({ stateFlags: flags({ dying: true }), shutdownReason: 'crash' }), '-----d');
});

test('long names push the columns right; NULL names print "(null)"; numbers wrap like C', (t) => {
  const long = 'x'.repeat(45);
  t.is(formatList([row({ name: long })]).split('\n')[1], `${long}     0  1024     4     r-----     123.4`);
  t.is(formatList([row({ name: null })]).split('\n')[1]!.slice(0, 8), '(null)  ');
  // %-40s pads by bytes: "é" is two of them.
  t.is(formatList([row({ name: 'é' })]).split('\n')[1]!.indexOf('0'), 44);
  // vcpu_online and domid are unsigned in libxl but printed with %d.
  t.is(formatList([row({ domid: 0xffffffff, vcpusOnline: 100000 })]).split('\n')[1], 'Domain-0                                    -1  1024 100000     r-----     123.4');
  // Huge memory and CPU time just widen their columns.
  t.is(formatList([row({ currentMemKb: 2n ** 50n, cpuTimeNs: 2n ** 63n })]).split('\n')[1], 'Domain-0                                     0 1099511627776     4     r-----  9223372036.9');
});

test('Time(s) goes through a C float: 10^18 ns of CPU time prints as 999999984.3', (t) => {
  // (float)1e18 is 999999984306749440; glibc's printf of the same expression agrees
  // (tools/cprintf-oracle.c: "t 1000000000000000000").
  t.is(formatList([row({ cpuTimeNs: 10n ** 18n })]).split('\n')[1]!.slice(-12), ' 999999984.3');
  // 0.05 s exactly: (float)5e7 / 1e9 = 0.05000000000000000277… rounds up.
  t.is(formatList([row({ cpuTimeNs: 50_000_000n })]).split('\n')[1]!.slice(-8), '     0.1');
  // 0.25 s: an exact tie, rounded to even.
  t.is(formatList([row({ cpuTimeNs: 250_000_000n })]).split('\n')[1]!.slice(-8), '     0.2');
});

test('-v adds " UUID", " %8x" reason (or "-") and " %16s" label (xl_info.c:379, 418-426)', (t) => {
  const out = formatList(
    [
      row({ uuid: 'A1B2C3D4-0000-4000-8000-0000000000FF' }),
      row({ domid: 5, name: 'g', stateFlags: { running: false, blocked: false, paused: false, shutdown: true, dying: false }, shutdownReason: 'crash', ssidLabel: 'system_u:system_r:domU_t' }),
    ],
    { verbose: true },
  ).split('\n');
  t.is(out[0], `${LIST_HEADER}   UUID                            Reason-Code\tSecurity Label`);
  t.is(out[1], 'Domain-0                                     0  1024     4     r-----     123.4 a1b2c3d4-0000-4000-8000-0000000000ff        -                -');
  t.is(out[2], 'g                                            5  1024     4     ---sc-     123.4 00000000-0000-0000-0000-000000000000        3 system_u:system_r:domU_t');
});

test('-Z, -c, -n and the claims view (xl_info.c:380-396, 423-435)', (t) => {
  t.is(formatList([row({ ssidLabel: 'dom0_t' })], { context: true }), `${LIST_HEADER}   Security Label\nDomain-0                                     0  1024     4     r-----     123.4           dom0_t\n`);
  t.is(formatList([row({ cpupoolName: 'Pool-0' })], { cpupool: true }).split('\n')[1]!.slice(-16), '          Pool-0');
  t.is(formatList([row({ cpupoolName: 'Pool-0' })], { cpupool: true }).split('\n')[0], `${LIST_HEADER}         Cpupool`);
  const numa = formatList([row({ nodeAffinity: 'all' }), row({ nodeAffinity: [1] })], { numa: true, nrNodes: 2 }).split('\n');
  t.is(numa[0], `${LIST_HEADER} NODE Affinity`);
  t.true(numa[1]!.endsWith('123.4 all'));
  t.true(numa[2]!.endsWith('123.4 1'));
  const claims = formatList([row({ outstandingMemKb: 2048 })], { claim: true }).split('\n');
  t.is(claims[0], `${LIST_HEADER}  Claimed`);
  t.is(claims[1], 'Domain-0                                     0  1026     4     r-----     123.4     2');
});

test('vm-list, domid and domname outputs (list_vm, main_domid, main_domname)', (t) => {
  t.is(formatVmList([{ uuid: '6F1C8A52-3B1E-4C44-9D0A-2F7E5B9C1D20', domid: 3, name: 'web' }]), 'UUID                                  ID    name\n6f1c8a52-3b1e-4c44-9d0a-2f7e5b9c1d20  3    web                           \n');
  t.is(formatDomid(7), '7\n');
  t.is(formatDomname('web'), 'web\n');
});
