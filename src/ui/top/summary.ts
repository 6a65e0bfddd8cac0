import { faultSummaryText } from '../faults.js';
import type { StatsFrame } from '../../protocol/stats.js';
import { clock, fit, seg, uptime, type Line } from './lines.js';
import { columnHeader, type SortOrder } from './table.js';

/**
 * The host summary, xentop's do_summary() with the host's name and uptime added:
 *   xentop - 12:34:56   Xen 4.17.7-xenemu   host h   up 02:03:04
 *   5 domains: 3 running, 1 blocked, 1 paused, 0 crashed, 0 dying, 0 shutdown
 *   Mem: 16777216k total, 9000000k used, 7777216k free    CPUs: 4 @ 2400MHz
 * (the state counts as xentop tallies them: each domain once, in that order).
 */
export function summaryLines(frame: StatsFrame, width: number): Line[] {
  const h = frame.host;
  let run = 0;
  let block = 0;
  let pause = 0;
  let crash = 0;
  let dying = 0;
  let shutdown = 0;
  for (const d of frame.domains) {
    const s = d.state;
    if (s.running) run++;
    else if (s.blocked) block++;
    else if (s.paused) pause++;
    else if (s.shutdown) shutdown++;
    else if (s.crashed) crash++;
    else if (s.dying) dying++;
  }
  const used = h.totalKiB - h.freeKiB;
  return [
    fit(
      [
        seg('xenemu top', { bold: true }),
        seg(` - ${clock(frame.timeMs)}   `),
        seg(`Xen ${h.xenVersion}`, { color: 'cyan' }),
        seg(`   host ${h.hostname}   up ${uptime(h.uptimeSec)}`),
      ],
      width,
    ),
    fit(
      [
        seg(`${frame.domains.length} domains: `),
        seg(`${run} running`, run > 0 ? { color: 'green' } : {}),
        seg(`, ${block} blocked, `),
        seg(`${pause} paused`, pause > 0 ? { color: 'yellow' } : {}),
        seg(', '),
        seg(`${crash} crashed`, crash > 0 ? { color: 'red' } : {}),
        seg(`, ${dying} dying, ${shutdown} shutdown`),
      ],
      width,
    ),
    fit([seg(`Mem: ${h.totalKiB}k total, ${used}k used, ${h.freeKiB}k free    CPUs: ${h.pcpus} @ ${h.cpuMhz}MHz`)], width),
    // Only while faults are in force: a host misbehaving on purpose says so.
    ...(h.faults.length > 0 ? [fit([seg('Faults: ', { color: 'red', bold: true }), seg(faultSummaryText(h.faults))], width)] : []),
  ];
}

export interface FooterView {
  width: number;
  prompt: { label: string; value: string } | null;
  message: string | null;
  order: SortOrder;
  delayMs: number;
  gridMode: 'heat' | 'spark';
}

/** A key's letter in inverse, then the rest of its word (xentop's bottom line). */
function key(letter: string, rest: string): Line {
  return [seg(letter, { inverse: true }), seg(`${rest}  `)];
}

export function formatDelay(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(ms % 100 === 0 ? 1 : 2)}s`;
}

/** The bottom line: the prompt being typed, a message, or the keys and current settings. */
export function footerLine(v: FooterView): Line {
  if (v.prompt !== null) return fit([seg(`  ${v.prompt.label}: ${v.prompt.value}`), seg(' ', { inverse: true })], v.width);
  // A message (a refused delay) takes the line until the next key.
  if (v.message !== null) return fit([seg('  '), seg(v.message, { color: 'yellow', bold: true })], v.width);
  const line: Line = [
    seg('  '),
    ...key('D', 'elay'),
    ...key('S', 'ort'),
    ...key('G', v.gridMode === 'heat' ? 'rid: heat' : 'rid: spark'),
    ...key('H', 'elp'),
    ...key('Q', 'uit'),
    seg(`delay ${formatDelay(v.delayMs)}  sort ${columnHeader(v.order.column)}${v.order.reverse ? ' (reversed)' : ''}`, { color: 'gray' }),
  ];
  return fit(line, v.width);
}

/** The keys, for the help overlay. */
export const HELP: ReadonlyArray<readonly [string, string]> = [
  ['↑ ↓  k j', 'select a domain; its interrupts show below'],
  ['PgUp PgDn', 'select a page up or down'],
  ['Home End', 'select the first or the last domain'],
  ['s  S', 'sort by the next / previous column (as xentop\'s s)'],
  ['r', 'reverse the sort order'],
  ['d', 'set the delay between updates, in seconds'],
  ['g', 'grid: heat map by vCPU, or sparklines of the last minute'],
  ['a', 'all sources: also the IPIs that never fired'],
  ['Ctrl-L', 'repaint the screen'],
  ['h  ?', 'this help (any key closes it)'],
  ['q  Esc', 'quit'],
];

export function helpLines(width: number, height: number): Line[] {
  const lines: Line[] = [
    fit([seg('xenemu top: keys', { bold: true })], width),
    [],
    ...HELP.map(([k, what]) => fit([seg(`  ${k.padEnd(12)}`, { bold: true }), seg(what)], width)),
    [],
    fit([seg('Columns are xentop\'s; EVTS/s is the interrupts per second the domain\'s kernel handled: the grid\'s total.', { color: 'gray' })], width),
    fit([seg('The grid shows the selected domain\'s interrupts per second by vCPU and source.', { color: 'gray' })], width),
  ];
  return lines.slice(0, height);
}
