import test from 'ava';
import { render } from 'ink-testing-library';
import { stripVTControlCharacters } from 'node:util';
import { createElement } from 'react';
import { TopApp, type TopAppProps } from '../../src/ui/top/components/TopApp.js';
import { installInkLineCache } from '../../src/ui/top/ink-line-cache.js';
import { detail, domain, FakeFeed, frame, until } from './frames.js';

// The dashboard's components and keys, rendered into ink-testing-library's fake
// terminal at a fixed size. Waits are on what the last frame shows, never on time.
// Frames are read as text: bold and inverse stay even without colour, and are
// checked in terminal.test.ts.

// Through Ink's line cache, as `xenemu top` draws.
test.before(async () => {
  await installInkLineCache();
});

const ARROW_UP = '\u001B[A';
const ARROW_DOWN = '\u001B[B';
const END = '\u001B[F';

interface Run {
  feed: FakeFeed;
  quit: number[];
  last(): string;
  lines(): string[];
  press(keys: string): void;
  show(text: string | RegExp): Promise<string>;
  rerender(props: Partial<TopAppProps>): void;
  unmount(): void;
}

function dashboard(props: Partial<TopAppProps> = {}, feed = new FakeFeed()): Run {
  const quit: number[] = [];
  const base: TopAppProps = { feed, delayMs: 1000, color: false, size: { columns: 80, rows: 24 }, onQuit: (s) => quit.push(s), ...props };
  const app = render(createElement(TopApp, base));
  const last = () => stripVTControlCharacters(app.lastFrame() ?? '');
  return {
    feed,
    quit,
    last,
    lines: () => last().split('\n').map((l) => l.trimEnd()),
    press: (keys) => app.stdin.write(keys),
    show: (text) => until(() => (typeof text === 'string' ? last().includes(text) : text.test(last())) && last(), `the dashboard shows ${String(text)}:\n${last()}`),
    rerender: (p) => app.rerender(createElement(TopApp, { ...base, ...p })),
    unmount: () => app.unmount(),
  };
}

const web = detail(3, 'web', [
  { name: 'timer', kind: 'virq', rates: [250, 250] },
  { name: 'net0', handler: 'ithread', rates: [0, 2000] },
  { name: 'xenstore', rates: [2, 0] },
]);

function host() {
  const feed = new FakeFeed();
  feed.details.set(0, detail(0, 'Domain-0', [{ name: 'upcall', kind: 'upcall', handler: 'none', rates: [5, 5, 5, 5] }], 4));
  feed.details.set(3, web);
  feed.details.set(5, detail(5, 'db', [{ name: 'disk0', rates: [100, 0] }]));
  feed.push(
    frame([
      domain(0, 'Domain-0', { cpuNs: 12e9, cpuPct: 2.5, memKiB: 1048576, vcpus: 4, eventsPerSec: 20 }),
      domain(3, 'web', { cpuNs: 5e9, cpuPct: 12.25, eventsPerSec: 2502 }),
      domain(5, 'db', { cpuNs: 900e9, cpuPct: 50, memKiB: 2097152, eventsPerSec: 100, state: { dying: false, shutdown: false, blocked: false, crashed: false, paused: true, running: false } }),
    ]),
  );
  return feed;
}

test('80x24: summary, xentop\'s table sorted by name, the selected row marked, exactly 24 lines of at most 80 columns', async (t) => {
  const d = dashboard({}, host());
  t.teardown(() => d.unmount());
  const out = await d.show('Domain-0');
  const lines = d.lines();
  t.is(lines.length, 24);
  t.true(lines.every((l) => l.length <= 80), lines.find((l) => l.length > 80));
  t.regex(lines[0]!, /^xenemu top - \d\d:\d\d:\d\d {3}Xen 4\.17\.7-xenemu {3}host testhost {3}up 01:02:03/);
  t.is(lines[1], '3 domains: 1 running, 1 blocked, 1 paused, 0 crashed, 0 dying, 0 shutdown');
  t.regex(lines[2]!, /^Mem: 16777216k total, 2777216k used, 14000000k free {4}CPUs: 4 @ 2400MHz/);
  t.is(lines[3]!.trimEnd(), '       NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) VCPUS EVTS/s');
  // Sorted by NAME like xentop (strcasecmp): db, Domain-0, web; the first row is selected.
  t.is(lines[4]!.trimEnd(), '>        db ----p-        900   50.0    2097152   12.5     524288     2    100');
  t.is(lines[5]!.trimEnd(), '   Domain-0 -----r         12    2.5    1048576    6.2     524288     4     20');
  t.is(lines[6]!.trimEnd(), '        web --b---          5   12.2     524288    3.1     524288     2   2.5k');
  t.regex(lines[23]!, /^ {2}Delay {2}Sort {2}Grid: heat {2}Help {2}Quit {2}delay 1s {2}sort NAME/);
  await until(() => d.feed.selects.includes(5), 'the daemon told about the selection');
  t.truthy(out);
});

test('the selected domain\'s grid: sources by vCPU, handlers, totals, callback, event channels, filter/ithread share', async (t) => {
  const d = dashboard({}, host());
  t.teardown(() => d.unmount());
  await d.show('db (5)');
  d.press(ARROW_DOWN);
  d.press(ARROW_DOWN);
  const out = await d.show('web (3)');
  // Two quick presses: the daemon hears of the final selection (and maybe the one between).
  await until(() => d.feed.selects.at(-1) === 3, 'stats.select 3');
  t.is(d.feed.selects[0], 5);
  t.regex(out, /web \(3\) {2}callback vector 0x93 {2}HZ 250 {2}handlers: filter 75% \/ ithread 25%/);
  t.regex(out, /evtchn 12\/1023 ports: 3 interdomain, 6 virq, 2 ipi, 1 unbound/);
  const grid = d.lines().slice(9, 16).map((l) => l.trimEnd());
  t.deepEqual(grid, [
    'SOURCE       HANDLER RATE/s     v0     v1',
    'timer        filter     500    250    250',
    'net0         ithread   2.0k      0   2.0k',
    'xenstore     filter       2      2      0',
    'total                  2.5k    252   2.3k',
    'cpu %                          0.0    1.5',
    '',
  ]);
  t.regex(d.lines()[6]!, /^> +web /);
});

test('keys: s and S cycle the sort column like xentop, r reverses, arrows keep following the domain', async (t) => {
  const d = dashboard({}, host());
  t.teardown(() => d.unmount());
  await d.show('db (5)');
  d.press('s');
  await d.show('sort STATE');
  d.press('s');
  await d.show('sort CPU(sec)');
  // Largest first: db (900 s), Domain-0 (12 s), web (5 s); db stays selected.
  const rows = d.lines().slice(4, 7).map((l) => l.trim().split(/\s+/)[0]);
  t.deepEqual(rows, ['>', 'Domain-0', 'web']);
  t.regex(d.lines()[4]!, /^> +db /);
  d.press('r');
  await d.show('sort CPU(sec) (reversed)');
  t.regex(d.lines()[6]!, /^> +db /);
  d.press('S');
  d.press('S');
  await d.show(/sort NAME \(reversed\)/);
  t.regex(d.lines()[4]!, /^ +web /);
});

test('d opens xentop\'s Delay(sec) prompt; Enter sets the delay and tells the daemon, a bad value is refused', async (t) => {
  const d = dashboard({}, host());
  t.teardown(() => d.unmount());
  await d.show('Domain-0');
  d.press('d');
  await d.show('Delay(sec):');
  d.press('2.5');
  await d.show('Delay(sec): 2.5');
  d.press('\r');
  await d.show('delay 2.5s');
  await until(() => d.feed.intervals.includes(2500), 'stats.interval 2500');
  d.press('d');
  d.press('abc');
  d.press('\r');
  await d.show('"abc" is not a positive number of seconds: delay unchanged');
  d.press('d');
  d.press('0.01');
  d.press('\r');
  await d.show('the shortest delay is 0.1s');
  await until(() => d.feed.intervals.includes(100), 'stats.interval 100');
  d.press('d');
  d.press('7');
  d.press('\u001B'); // Esc cancels the prompt
  await d.show(/delay 0\.1s/);
  t.deepEqual(d.feed.intervals, [2500, 100]);
});

test('h shows the help over the table; any key closes it', async (t) => {
  const d = dashboard({}, host());
  t.teardown(() => d.unmount());
  await d.show('Domain-0');
  d.press('h');
  const help = await d.show('xenemu top: keys');
  t.regex(help, /q {2}Esc {6}quit/);
  t.false(help.includes('Domain-0 -----r'));
  t.is(d.lines().length, 24);
  d.press('x');
  await d.show('Domain-0 -----r');
  t.deepEqual(d.quit, []);
});

test('q and Esc quit with status 0, Ctrl-C with 130', async (t) => {
  for (const [key, status] of [
    ['q', 0],
    ['\u001B', 0],
    ['\u0003', 130],
  ] as const) {
    const d = dashboard({}, host());
    await d.show('Domain-0');
    d.press(key);
    await until(() => d.quit.length > 0, 'quit');
    t.deepEqual(d.quit, [status], JSON.stringify(key));
    d.unmount();
  }
});

test('g switches the grid to sparklines of the last minute, drawn from the history of frames', async (t) => {
  const feed = host();
  const d = dashboard({}, feed);
  t.teardown(() => d.unmount());
  await d.show('db (5)');
  d.press(ARROW_DOWN);
  d.press(ARROW_DOWN);
  await d.show('web (3)');
  d.press('g');
  await d.show('last 60 s, 1.2 s per column');
  const base = frame([domain(0, 'Domain-0'), domain(3, 'web'), domain(5, 'db')]);
  for (let i = 0; i < 30; i++) {
    const rate = i * 100;
    feed.push({ ...base, seq: 3 + i, timeMs: base.timeMs + i * 1000, selected: detail(3, 'web', [{ name: 'timer', kind: 'virq', rates: [250, 250] }, { name: 'net0', handler: 'ithread', rates: [0, rate] }]) });
  }
  const out = await d.show(/net0 +ithread +2\.9k +.*█/);
  const net = out.split('\n').find((l) => l.startsWith('net0'))!;
  // A rising rate: the sparkline climbs to the full block at the right end.
  t.regex(net, /·▁+▂+▃+▄+▅+▆+▇+█+ *$/u);
  const timer = out.split('\n').find((l) => l.startsWith('timer'))!;
  // 30 s of 1 s frames over 52 columns of 60/52 s: a steady rate is a flat line without gaps.
  t.regex(timer, /HANDLER|filter +500 +█{26}$/u, 'a steady rate is a flat line');
  d.press('g');
  await d.show('SOURCE       HANDLER RATE/s     v0     v1');
});

test('64 vCPUs on 80 columns: a heat map with two vCPUs a cell; at 200x60 the numbers and every column', async (t) => {
  const feed = new FakeFeed();
  const rates = Array.from({ length: 64 }, (_, v) => (v === 17 ? 10000 : v % 2 === 0 ? 100 : 0));
  feed.details.set(1, detail(1, 'big', [{ name: 'timer', kind: 'virq', rates }], 64));
  feed.push(frame([domain(1, 'big', { vcpus: 64 })]));
  const d = dashboard({}, feed);
  t.teardown(() => d.unmount());
  const out = await d.show('vCPUs, 2/cell');
  const timer = out.split('\n').find((l) => l.startsWith('timer'))!;
  const cells = timer.slice(28, 28 + 32);
  t.is(cells.length, 32);
  t.is(cells[8], '█', 'vCPU 17 (cell 8) is the hottest');
  t.is(cells[0], '▅', 'the others show on the log scale: 100/s beside 10000/s is level 5 of 8');
  t.true(d.lines().every((l) => l.length <= 80));

  const wide = new FakeFeed();
  wide.details.set(1, detail(1, 'big', [{ name: 'timer', kind: 'virq', rates: rates.slice(0, 16) }], 16));
  wide.push(frame([domain(1, 'big', { vcpus: 16 })]));
  const w = dashboard({ size: { columns: 200, rows: 60 } }, wide);
  t.teardown(() => w.unmount());
  const big = await w.show('v15');
  t.is(w.lines().length, 60);
  t.regex(big, /NAME {2}STATE {3}CPU\(sec\) CPU\(%\) {5}MEM\(k\) MEM\(%\) {2}MAXMEM\(k\) MAXMEM\(%\) VCPUS NETS NETTX\(k\) NETRX\(k\) VBDS {3}VBD_OO {3}VBD_RD {3}VBD_WR {2}VBD_RSECT {2}VBD_WSECT EVTS\/s/);
  t.false(big.includes('SSID'), 'no SSID column without security labels');
  t.true(w.lines().some((l) => l.startsWith('timer        filter     800    100      0    100      0    100')));
});

test('100 domains: the table scrolls to keep the selection on screen', async (t) => {
  const feed = new FakeFeed();
  feed.push(frame(Array.from({ length: 100 }, (_, i) => domain(i, i === 0 ? 'Domain-0' : `guest${String(i).padStart(3, '0')}`))));
  const d = dashboard({}, feed);
  t.teardown(() => d.unmount());
  await d.show('Domain-0');
  d.press(END);
  await d.show(/> +guest099/);
  t.is(d.lines().length, 24);
  d.press(ARROW_UP);
  await d.show(/> +guest098/);
  t.true(d.last().includes('guest099'));
  d.press('\u001B[H'); // Home
  await d.show(/> +Domain-0/);
});

test('a resize redraws at the new size', async (t) => {
  const d = dashboard({}, host());
  t.teardown(() => d.unmount());
  await d.show('Domain-0');
  d.rerender({ size: { columns: 100, rows: 30 } });
  await until(() => d.lines().length === 30, 'a 30-line screen');
  t.regex(d.lines()[3]!, /MAXMEM\(k\) VCPUS NETS NETTX\(k\) VBDS EVTS\/s$/, 'the columns that fit in 100');
  t.true(d.lines().every((l) => l.length <= 100));
  d.rerender({ size: { columns: 60, rows: 10 } });
  await until(() => d.lines().length === 10, 'a 60x10 screen');
  t.true(d.lines().every((l) => l.length <= 60));
});

test('a domain that disappears moves the selection to the row that took its place', async (t) => {
  const feed = host();
  const d = dashboard({}, feed);
  t.teardown(() => d.unmount());
  await d.show('db (5)');
  d.press(ARROW_DOWN);
  await d.show(/> +Domain-0/);
  feed.push(frame([domain(3, 'web'), domain(5, 'db')]));
  await d.show(/> +web/);
  await until(() => d.feed.selects.at(-1) === 3, 'stats.select 3');
  t.pass();
});

test('IPIs that never fired stay out of the grid; with a they show, and when the sources do not fit those make way first, the others keep their order', async (t) => {
  const feed = new FakeFeed();
  const ipis = ['r', 'itlb', 'ipg', 'irg', 'ic', 'b', 'st', 'sp', 'sth', 'debug'].map((name) => ({ name, kind: 'ipi', rates: [0, 0] }));
  feed.details.set(0, detail(0, 'Domain-0', [{ name: 'timer', kind: 'virq', rates: [100, 100] }, ...ipis, { name: 'xenstore0', rates: [0, 7] }, { name: 'evtchn0', rates: [3, 0] }]));
  // Sorted by name, Domain-0 comes first and is selected.
  feed.push(frame([domain(0, 'Domain-0'), domain(1, 'web'), domain(2, 'www')]));
  const d = dashboard({}, feed);
  t.teardown(() => d.unmount());
  await d.show('xenstore0');
  const listed = () =>
    d
      .lines()
      .map((l) => l.split(' ')[0])
      .filter((n) => ['timer', 'xenstore0', 'evtchn0', ...ipis.map((s) => s.name)].includes(n!));
  t.deepEqual(listed(), ['timer', 'xenstore0', 'evtchn0']);
  t.false(d.last().includes('more source'));
  d.press('a');
  const out = await d.show('more source');
  const names = d
    .lines()
    .map((l) => l.split(' ')[0])
    .filter((n) => ['timer', 'xenstore0', 'evtchn0', ...ipis.map((s) => s.name)].includes(n!));
  t.deepEqual(names.slice(0, 1), ['timer']);
  t.deepEqual(names.slice(-2), ['xenstore0', 'evtchn0'], 'the busy sources after the quiet ones are shown');
  t.is(d.lines().length, 24);
  t.regex(out, /… \d+ more sources \(\d+ never fired\): enlarge the terminal/);
});

test('keys typed faster than a frame (a paste) are not lost at the delay prompt: one chunk, Enter and Backspace included', async (t) => {
  const d = dashboard({}, host());
  t.teardown(() => d.unmount());
  await d.show('Domain-0');
  d.press('d0.5\r');
  await d.show('delay 0.5s');
  d.press('d29\u007f\r');
  await d.show('delay 2s');
  // Keys after the prompt closes act as keys again: s sorts, then the delay prompt once more.
  d.press('sd3\r');
  await d.show('delay 3s');
  t.regex(d.last(), /sort STATE/);
  await until(() => d.feed.intervals.includes(3000), 'stats.interval 3000');
  t.deepEqual(d.feed.intervals, [500, 2000, 3000]);
});

/** Seven guests and a detail with busy and idle sources, as a host of a few VMs shows. */
function sevenDomains(count = 7) {
  const feed = new FakeFeed();
  const sources = [
    { name: 'timer', kind: 'virq', rates: [100, 100] },
    { name: 'xenstore0', rates: [2, 0] },
    { name: 'xc0', rates: [0, 1] },
    { name: 'debug', kind: 'virq', rates: [0, 0] },
    { name: 'evtchn0', rates: [0, 0] },
    { name: 'disk0', rates: [0, 0] },
    { name: 'net0', rates: [0, 0] },
    { name: 'spare0', rates: [0, 0] },
    { name: 'spare1', rates: [0, 0] },
    { name: 'spare2', rates: [0, 0] },
  ];
  const names = Array.from({ length: count }, (_, i) => (i === 0 ? 'Domain-0' : `vm${i}`));
  names.forEach((n, i) => feed.details.set(i, detail(i, n, sources)));
  feed.push(frame(names.map((n, i) => domain(i, n))));
  return feed;
}

test('80x24 with 7 domains: every domain has its row before the grid\'s idle sources; the grid keeps its busy ones', async (t) => {
  const d = dashboard({}, sevenDomains());
  t.teardown(() => d.unmount());
  await d.show('Domain-0 (0)');
  const lines = d.lines();
  t.is(lines.length, 24);
  for (const name of ['Domain-0', 'vm1', 'vm2', 'vm3', 'vm4', 'vm5', 'vm6']) t.true(lines.some((l) => new RegExp(`^[> ] +${name} `).test(l)), name);
  t.false(d.last().includes('more domain'));
  for (const busy of ['timer', 'xenstore0', 'xc0', 'total']) t.true(lines.some((l) => l.startsWith(busy)), busy);
  t.regex(d.last(), /… \d+ more sources \(\d+ never fired\): enlarge the terminal/);
});

test('more domains than rows: the last table row says how many more there are, above and below, and scrolling moves it', async (t) => {
  const d = dashboard({}, sevenDomains(20));
  t.teardown(() => d.unmount());
  await d.show('Domain-0 (0)');
  const more = () => d.lines().find((l) => l.includes('more domain'));
  t.regex(more()!, /^ {2}… \d+ more domains \(\d+ below\): ↑↓ PgUp PgDn to see them$/);
  d.press(END);
  await d.show(/> +vm9 /);
  t.regex(more()!, /… \d+ more domains \(\d+ above\)/);
  d.press(ARROW_UP);
  await d.show(/> +vm8 /);
  t.true(d.lines().some((l) => /^ +vm9 /.test(l)), 'the last domain stays in view, above the marker');
  t.is(d.lines().length, 24);
});

test('top -a starts with the IPIs that never fired in the grid; a hides them again', async (t) => {
  const feed = new FakeFeed();
  feed.details.set(0, detail(0, 'Domain-0', [{ name: 'timer', kind: 'virq', rates: [100, 100] }, { name: 'callfunc', kind: 'ipi', rates: [0, 0] }]));
  feed.push(frame([domain(0, 'Domain-0')]));
  const d = dashboard({ allSources: true }, feed);
  t.teardown(() => d.unmount());
  await d.show(/^callfunc /m);
  d.press('a');
  await until(() => !/^callfunc /m.test(d.last()) && d.last().includes('timer'), 'the IPI hidden');
  t.pass();
});

test('faults in force get a summary line of their own, and the screen still fits the terminal', async (t) => {
  const feed = host();
  const d = dashboard({}, feed);
  t.teardown(() => d.unmount());
  await d.show('Domain-0');
  const faulty = frame([domain(0, 'Domain-0', { cpuNs: 12e9, cpuPct: 2.5, memKiB: 1048576, vcpus: 4, eventsPerSec: 20 })]);
  faulty.host = { ...faulty.host, faults: [{ id: 2, kind: 'xs-eagain', target: 'all', fired: 17 }] };
  feed.push(faulty);
  await d.show('Faults:');
  const lines = d.lines();
  t.is(lines.length, 24);
  t.is(lines[3]!.trimEnd(), 'Faults: #2 xs-eagain on all (fired 17)');
  t.is(lines[4]!.trimEnd(), '       NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) VCPUS EVTS/s');
});
