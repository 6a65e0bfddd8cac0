// tools/xl/xl_info.c of Xen 4.17: uptime_to_string (:677-706), print_dom0_uptime and
// print_domU_uptime (:782-790, :819-827), print_uptime's header (:845).
import test from 'ava';
import { dom0Uptime, domainUptime, formatUptime, UPTIME_HEADER, uptimeToString } from '../../src/ui/xl/uptime.js';

test('header "%-33s %4s %s": Name, 31 spaces, "  ID", "Uptime"', (t) => {
  t.is(UPTIME_HEADER, 'Name' + ' '.repeat(29) + '   ID Uptime');
});

test('durations: the hour is %2d, days singular and plural', (t) => {
  t.is(uptimeToString(312, false), ' 0:05:12');
  t.is(uptimeToString(86400 + 3 * 3600 + 120, false), '1 day,  3:02:00');
  t.is(uptimeToString(2 * 86400 + 11 * 3600, false), '2 days, 11:00:00');
  t.is(uptimeToString(312, true), ' 0:05');
  t.is(uptimeToString(86400 + 3 * 3600 + 120, true), '1 day,  3:02');
  t.is(uptimeToString(0, false), ' 0:00:00');
  t.is(uptimeToString(4294967295, false), '49710 days,  6:28:15');
});

test('long form "%-33s %4d %s" and short form " HH:MM:SS up …, NAME (ID)"', (t) => {
  const rows = [
    { name: 'Domain-0', domid: 0, uptimeSeconds: 90061 },
    { name: 'web', domid: 12, uptimeSeconds: 59 },
  ];
  t.is(formatUptime(rows), `${UPTIME_HEADER}\nDomain-0                             0 1 day,  1:01:01\nweb                                 12  0:00:59\n`);
  const now = new Date(2024, 0, 2, 9, 8, 7);
  t.is(formatUptime(rows, { short: true, now }), ' 09:08:07 up 1 day,  1:01, Domain-0 (0)\n 09:08:07 up  0:00, web (12)\n');
  t.throws(() => formatUptime(rows, { short: true }));
});

test('domU uptime is now - start_time in a uint32_t; dom0 takes strtoul of /proc/uptime', (t) => {
  t.is(domainUptime(1_700_000_100, 1_700_000_000), 100);
  t.is(domainUptime(1_700_000_000, 1_700_000_001), 4294967295);
  t.is(dom0Uptime('12345.67 23456.78\n'), 12345);
  t.is(dom0Uptime('  42 1'), 42);
  t.is(dom0Uptime('x'), 0);
});
