import test from 'ava';
import { cFixed1, domainLine, headerLine, intFieldWidth, strcasecmp, vbdLines, vcpuLines, networkLines, XentopBatch, XENTOP_FIELDS, type FieldWidths } from '../../src/ui/xentop-batch.js';
import { domain, frame } from './frames.js';

// `xentop -b` of Xen 4.17 (tools/xentop/xentop.c), field by field. Each expected string
// names the statement of xentop.c that prints it; test/top/xentop-real.test.ts checks
// the same printer against the real 4.17 binary.

const DEFAULT_WIDTHS = Object.fromEntries(XENTOP_FIELDS.map((f) => [f.id, f.width])) as FieldWidths;
const TOTAL_KIB = 16777216; // 16 GiB host

// do_header(): print("%*s", fields[i].default_width, fields[i].header), " " between.
const HEADER =
  '      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID\n';

test('do_header: every header right-aligned in its default width', (t) => {
  t.is(headerLine(DEFAULT_WIDTHS), HEADER);
});

test('do_domain: a running dom0, field by field', (t) => {
  const d = domain(0, 'Domain-0', { cpuNs: 12_999_999_999, cpuPct: 3.14159, memKiB: 1048576, maxMemKiB: 2097152, vcpus: 4 });
  const line = domainLine(d, TOTAL_KIB, DEFAULT_WIDTHS, false);
  t.is(
    line,
    [
      '  Domain-0', // print("%10.10s", xenstat_domain_name(domain))
      '-----r', // print("%c", state_funcs[i].get(domain) ? state_funcs[i].ch : '-'), "dsbcpr"
      '        12', // print("%10llu", xenstat_domain_cpu_ns(domain)/1000000000): truncated, not rounded
      '   3.1', // print("%6.1f", get_cpu_pct(domain))
      '   1048576', // print("%10llu", xenstat_domain_cur_mem(domain)/1024)
      '   6.2', // print("%6.1f", cur_mem / tot_mem * 100): 6.25, an exact tie, goes to the even digit
      '   2097152', // print("%10llu", max_mem/1024)
      '     12.5', // print("%9.1f", max_mem / tot_mem * 100)
      '    4', // print("%5u", xenstat_domain_num_vcpus(domain))
      '   0', // print("%4u", xenstat_domain_num_networks(domain))
      '       0', // print("%*llu", fields[FIELD_NET_TX-1].default_width, tot_net_bytes(domain, FALSE)/1024)
      '       0', // print("%*llu", fields[FIELD_NET_RX-1].default_width, tot_net_bytes(domain, TRUE)/1024)
      '   0', // print("%4u", xenstat_domain_num_vbds(domain))
      '       0', // print("%8llu", vbd_oo): tot_vbd_reqs shows 0 for a domain without vbds
      '       0', // print("%*llu", fields[FIELD_VBD_RD-1].default_width, vbd_rd)
      '       0', // print("%*llu", fields[FIELD_VBD_WR-1].default_width, vbd_wr)
      '         0', // print("%*llu", fields[FIELD_VBD_RSECT-1].default_width, vbd_rsect)
      '         0', // print("%*llu", fields[FIELD_VBD_WSECT-1].default_width, vbd_wsect)
      '   0', // print("%4u", xenstat_domain_ssid(domain))
    ].join(' ') + '\n',
  );
});

test('print_maxmem / print_max_pct: "no limit" and "n/a" for max_mem (unsigned long long)-1', (t) => {
  const line = domainLine(domain(0, 'Domain-0', { maxMemKiB: null }), TOTAL_KIB, DEFAULT_WIDTHS, false);
  // print("%10s", "no limit") then print("%9s", "n/a")
  t.true(line.includes('    524288    3.1   no limit       n/a     2 '));
});

test('print_state: the letters "dsbcpr" in place, "-" for each state not held', (t) => {
  const all = { dying: true, shutdown: true, blocked: true, crashed: true, paused: true, running: true };
  const none = { dying: false, shutdown: false, blocked: false, crashed: false, paused: false, running: false };
  const state = (s: Partial<typeof all>) => domainLine(domain(5, 'x', { state: { ...none, ...s } }), TOTAL_KIB, DEFAULT_WIDTHS, false).slice(11, 17);
  t.is(state(all), 'dsbcpr');
  t.is(state({}), '------');
  t.is(state({ crashed: true }), '---c--');
  t.is(state({ paused: true, blocked: true }), '--b-p-');
  t.is(state({ shutdown: true, dying: true }), 'ds----');
});

test('print_name: %10.10s keeps the first 10 characters, right-aligned', (t) => {
  t.is(domainLine(domain(1, 'a-very-long-domain-name'), TOTAL_KIB, DEFAULT_WIDTHS, false).slice(0, 11), 'a-very-lon ');
  t.is(domainLine(domain(1, 'web'), TOTAL_KIB, DEFAULT_WIDTHS, false).slice(0, 11), '       web ');
});

test('%.1f rounds an exact tie to even, as glibc; everything else as toFixed', (t) => {
  t.is(cFixed1(0.25), '0.2');
  t.is(cFixed1(0.75), '0.8');
  t.is(cFixed1(1.25), '1.2');
  t.is(cFixed1(2.5), '2.5');
  t.is(cFixed1(6.25), '6.2');
  t.is(cFixed1(99.75), '99.8');
  t.is(cFixed1(0.35), '0.3'); // 0.35 is 0.34999999999999997... in binary: no tie
  t.is(cFixed1(0.05), '0.1'); // 0.05000000000000000277...
  t.is(cFixed1(0), '0.0');
  t.is(cFixed1(100), '100.0');
  t.is(cFixed1(-0.25), '-0.2');
  t.is(cFixed1(Number.NaN), 'nan');
});

test('INT_FIELD_WIDTH is the digit count', (t) => {
  t.deepEqual([1, 9, 10, 99, 100, 12345678, 123456789].map(intFieldWidth), [1, 1, 2, 2, 3, 8, 9]);
});

test('strcasecmp compares bytes after ASCII tolower', (t) => {
  t.true(strcasecmp('alpha', 'Beta') < 0);
  t.true(strcasecmp('Domain-0', 'db') > 0); // 'o' > 'b'
  t.is(strcasecmp('WEB', 'web'), 0);
  t.true(strcasecmp('a_b', 'aZ') < 0); // '_' (0x5f) < 'z' (0x7a)
  t.true(strcasecmp('web', 'web1') < 0);
});

test('top(): batch iterations are sorted by name (sort_field FIELD_DOMID indexes fields[0], NAME), case-insensitively', (t) => {
  const out = new XentopBatch().iteration(frame([domain(0, 'Domain-0'), domain(3, 'zeta'), domain(1, 'Beta'), domain(2, 'alpha')]));
  const names = out
    .split('\n')
    .slice(1, -1)
    .map((l) => l.slice(0, 10).trim());
  t.deepEqual(names, ['alpha', 'Beta', 'Domain-0', 'zeta']);
  t.true(out.startsWith(HEADER), 'the header comes first (i == first_domain_index)');
  t.is(out.split(HEADER).length, 2, 'once per iteration without -r');
});

test('-r: do_header() before every domain', (t) => {
  const out = new XentopBatch({ repeatHeader: true, vcpus: false, networks: false, vbds: false, fullName: false }).iteration(frame([domain(0, 'Domain-0'), domain(1, 'web')]));
  t.is(out.split(HEADER).length, 3);
});

test('adjust_field_widths: NETTX(k) and VBD_RD grow to INT_FIELD_WIDTH(value + 1), the header with them', (t) => {
  const big = domain(1, 'web', {
    nets: [{ rbytes: 0, rpackets: 0, rerrs: 0, rdrop: 0, tbytes: 123456789 * 1024, tpackets: 0, terrs: 0, tdrop: 0 }],
    vbds: [{ backend: 'BlkBack', dev: 51712, error: false, oo: 0, rd: 999999999, wr: 0, rsect: 0, wsect: 0 }],
  });
  const out = new XentopBatch().iteration(frame([domain(0, 'Domain-0'), big]));
  const [header, dom0, web] = out.split('\n');
  // NETTX(k): 123456789 + 1 has 9 digits; VBD_RD: 999999999 + 1 has 10.
  t.true(header!.includes(' NETTX(k) NETRX(k)'));
  t.true(header!.includes('     VBD_RD   VBD_WR'));
  t.true(web!.includes(' 123456789        0    1        0  999999999        0 '));
  t.true(dom0!.includes('         0        0    0        0          0        0 '));
});

test('tot_vbd_reqs: "-" (%*c) when every vbd is in error; VBD_OO keeps its fixed %8c', (t) => {
  const d = domain(1, 'web', { vbds: [{ backend: 'BlkBack', dev: 51712, error: true, oo: 5, rd: 5, wr: 5, rsect: 5, wsect: 5 }] });
  const line = domainLine(d, TOTAL_KIB, DEFAULT_WIDTHS, false);
  t.true(line.endsWith('    1        -        -        -          -          -    0\n'));
});

test('do_vcpu: " %2u: %10llus" per online vCPU, a break and 8 spaces before an online vCPU whose index is a multiple of 5', (t) => {
  // print(" %2u: %10llus", i, xenstat_vcpu_ns(vcpu)/1000000000)
  const v = (i: number, s: number) => ` ${String(i).padStart(2)}: ${String(s).padStart(10)}s`;
  const BREAK = '\n        '; // print("\n        ")
  const d = domain(1, 'web', { vcpuNs: [1e9, 2.5e9, null, 3e9, 4e9, 5e9, 6e9, null, 8e9, 9e9, 10e9, 11e9] });
  t.is(vcpuLines(d), 'VCPUs(sec): ' + v(0, 1) + v(1, 2) + v(3, 3) + v(4, 4) + BREAK + v(5, 5) + v(6, 6) + v(8, 8) + v(9, 9) + BREAK + v(10, 10) + v(11, 11) + '\n');
  t.is(vcpuLines(d).split('\n')[1], '          5:          5s  6:          6s  8:          8s  9:          9s');
  // The break is inside `if (xenstat_vcpu_online(vcpu) > 0)`: an offline vCPU 5 breaks nothing.
  t.is(vcpuLines(domain(2, 'x', { vcpuNs: [0, 0, 0, 0, 0, null, 0] })), 'VCPUs(sec): ' + v(0, 0) + v(1, 0) + v(2, 0) + v(3, 0) + v(4, 0) + v(6, 0) + '\n');
});

test('do_network: "Net%d RX: %8llubytes %8llupkts %8lluerr %8lludrop  TX: ..."', (t) => {
  const d = domain(1, 'web', { nets: [{ rbytes: 1234, rpackets: 10, rerrs: 0, rdrop: 1, tbytes: 999999999, tpackets: 20, terrs: 2, tdrop: 0 }] });
  t.is(networkLines(d), 'Net0 RX:     1234bytes       10pkts        0err        1drop  TX: 999999999bytes       20pkts        2err        0drop\n');
});

test('do_vbd: type, %4d dev, "[%2x:%2x] " (MAJOR, MINOR), then the counters or "-"', (t) => {
  const ok = { backend: 'BlkBack' as const, dev: 51712, error: false, oo: 1, rd: 22, wr: 333, rsect: 4444, wsect: 55555 };
  const d = domain(1, 'web', { vbds: [ok, { ...ok, backend: 'BlkTap', dev: 51728, error: true }, { ...ok, backend: 'Unidentified', dev: 768, error: false }] });
  t.is(
    vbdLines(d),
    'VBD BlkBack 51712 [ca: 0]  OO:        1   RD:       22   WR:      333   RSECT:       4444   WSECT:      55555\n' +
      'VBD BlkTap 51728 [ca:10]  OO:        -   RD:        -   WR:        -   RSECT:          -   WSECT:          -\n' +
      'VBD Unidentified  768 [ 3: 0]  OO:        1   RD:       22   WR:      333   RSECT:       4444   WSECT:      55555\n',
  );
});

test('-f: names in full, NAME as wide as the longest name, and never narrower in later iterations', (t) => {
  const b = new XentopBatch({ repeatHeader: false, vcpus: false, networks: false, vbds: false, fullName: true });
  const first = b.iteration(frame([domain(0, 'Domain-0'), domain(1, 'a-rather-long-name')]));
  t.true(first.startsWith(' '.repeat(14) + 'NAME  STATE'));
  t.true(first.includes('\na-rather-long-name --b---'));
  // The long-named domain is gone; reset_field_widths() does not reset NAME.
  const second = b.iteration(frame([domain(0, 'Domain-0')]));
  t.true(second.startsWith(' '.repeat(14) + 'NAME  STATE'));
  t.true(second.includes('\n          Domain-0 -----r'));
});
