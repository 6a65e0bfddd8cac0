import type { DomainStats, StatsFrame } from '../../protocol/stats.js';
import { formatField, stateLetters, strcasecmp, totNetBytes, totVbdReqs, XENTOP_FIELDS, type FieldWidths, type XentopFieldId } from '../xentop-batch.js';
import { domainRowsShown } from './layout.js';
import { fit, human, right, seg, type Line } from './lines.js';

/** A column of the dashboard's domain table: xentop's fields, plus xenemu's event rate. */
export type ColumnId = XentopFieldId | 'events';

export interface Column {
  id: ColumnId;
  header: string;
  width: number;
}

/** The event rate, which no Xen tool shows: event channel raises per second on the domain's ports. */
const EVENTS_COLUMN: Column = { id: 'events', header: 'EVTS/s', width: 6 };

/** Every column in display order (xentop's order, then EVTS/s): also the `s` sort cycle. */
export const COLUMNS: readonly Column[] = [...XENTOP_FIELDS.map((f) => ({ id: f.id, header: f.header, width: f.width })), EVENTS_COLUMN];

/**
 * Which columns survive on a narrow terminal, most important first. MAXMEM(%) and the
 * sector counts are left to wide terminals (and -b); SSID only shows when some domain
 * has a security label, since without XSM it is 0 everywhere.
 */
const PRIORITY: readonly ColumnId[] = [
  'name',
  'state',
  'cpu',
  'cpuPct',
  'mem',
  'memPct',
  'vcpus',
  'events',
  'maxmem',
  'nets',
  'vbds',
  'netTx',
  'netRx',
  'vbdOo',
  'vbdRd',
  'vbdWr',
  'maxPct',
  'vbdRsect',
  'vbdWsect',
  'ssid',
];

/** The selection marker's column. */
export const MARKER_WIDTH = 1;

/** The columns that fit in `width`, in display order. */
export function visibleColumns(width: number, domains: readonly DomainStats[]): Column[] {
  const meaningful = (id: ColumnId) => id !== 'ssid' || domains.some((d) => d.ssid !== 0);
  const chosen = new Set<ColumnId>();
  let used = MARKER_WIDTH;
  for (const id of PRIORITY) {
    if (!meaningful(id)) continue;
    const c = COLUMNS.find((x) => x.id === id)!;
    const need = c.width + (chosen.size > 0 ? 1 : 0);
    if (used + need > width) break;
    chosen.add(id);
    used += need;
  }
  return COLUMNS.filter((c) => chosen.has(c.id));
}

const desc = (f: (d: DomainStats) => number) => (a: DomainStats, b: DomainStats) => f(b) - f(a);

/** xentop's compare_state: the first state (in "dsbcpr" order) one domain is in and the other not decides. */
function compareState(a: DomainStats, b: DomainStats): number {
  const sa = stateLetters(a);
  const sb = stateLetters(b);
  for (let i = 0; i < 6; i++) {
    const x = sa[i] !== '-';
    const y = sb[i] !== '-';
    if (x && !y) return -1;
    if (y && !x) return 1;
  }
  return 0;
}

/** max_mem of "no limit" is (unsigned long long)-1 in xentop: the largest of all. */
const maxMem = (d: DomainStats) => (d.maxMemKiB === null ? Number.POSITIVE_INFINITY : d.maxMemKiB);

/**
 * xentop's compare functions, by column: name and SSID ascending, everything else
 * largest first. (xentop 4.17's compare_vbd_rd/wr/rsect/oo compare a domain with
 * itself, so sorting by them does nothing there; here they sort.)
 */
const COMPARE: Record<ColumnId, (a: DomainStats, b: DomainStats) => number> = {
  name: (a, b) => strcasecmp(a.name, b.name),
  state: compareState,
  cpu: desc((d) => d.cpuNs),
  cpuPct: desc((d) => d.cpuPct),
  mem: desc((d) => d.memKiB),
  memPct: desc((d) => d.memKiB),
  maxmem: desc(maxMem),
  maxPct: desc(maxMem),
  vcpus: desc((d) => d.vcpus),
  nets: desc((d) => d.nets.length),
  netTx: desc((d) => totNetBytes(d, false)),
  netRx: desc((d) => totNetBytes(d, true)),
  vbds: desc((d) => d.vbds.length),
  vbdOo: desc((d) => totVbdReqs(d, 'oo').total),
  vbdRd: desc((d) => totVbdReqs(d, 'rd').total),
  vbdWr: desc((d) => totVbdReqs(d, 'wr').total),
  vbdRsect: desc((d) => totVbdReqs(d, 'rsect').total),
  vbdWsect: desc((d) => totVbdReqs(d, 'wsect').total),
  ssid: (a, b) => a.ssid - b.ssid,
  events: desc((d) => d.eventsPerSec),
};

export interface SortOrder {
  column: ColumnId;
  reverse: boolean;
}

/** The domains in display order; ties stay in domid order. */
export function sortDomains(domains: readonly DomainStats[], order: SortOrder): DomainStats[] {
  const cmp = COMPARE[order.column];
  const sign = order.reverse ? -1 : 1;
  return [...domains].sort((a, b) => sign * cmp(a, b) || a.domid - b.domid);
}

export function nextSortColumn(column: ColumnId, step: number): ColumnId {
  const i = COLUMNS.findIndex((c) => c.id === column);
  return COLUMNS[(i + step + COLUMNS.length) % COLUMNS.length]!.id;
}

export function columnHeader(id: ColumnId): string {
  return COLUMNS.find((c) => c.id === id)!.header;
}

/** Fixed xentop widths for the dashboard: it has no room for widths that grow. */
const WIDTHS = Object.fromEntries(XENTOP_FIELDS.map((f) => [f.id, f.width])) as FieldWidths;

function cell(c: Column, d: DomainStats, totalKiB: number): string {
  if (c.id === 'events') return right(human(d.eventsPerSec), c.width);
  // The value as xentop prints it, kept to the column (a number wider than its column
  // shows its last digits, which is why -b output lets them grow instead).
  return right(formatField(c.id, d, totalKiB, WIDTHS, false), c.width);
}

/** The table's header line: inverse like xentop's (A_REVERSE), the sort column bold. */
export function tableHeaderLine(columns: readonly Column[], order: SortOrder, width: number): Line {
  const line: Line = [seg(' '.repeat(MARKER_WIDTH), { inverse: true })];
  columns.forEach((c, i) => {
    if (i > 0) line.push(seg(' ', { inverse: true }));
    const sorted = c.id === order.column;
    line.push(seg(right(c.header, c.width), { inverse: true, bold: sorted, ...(sorted ? { color: 'yellow' as const } : {}) }));
  });
  const used = line.reduce((n, s) => n + s.text.length, 0);
  if (used < width) line.push(seg(' '.repeat(width - used), { inverse: true }));
  return fit(line, width);
}

/** Colour of a domain's row by its state, as the eye reads a host: crashed red, paused yellow. */
function rowColor(d: DomainStats): Line[number]['color'] {
  if (d.state.crashed) return 'red';
  if (d.state.dying || d.state.shutdown) return 'magenta';
  if (d.state.paused) return 'yellow';
  return undefined;
}

export function domainRowLine(d: DomainStats, columns: readonly Column[], totalKiB: number, selected: boolean, width: number): Line {
  const color = rowColor(d);
  const style = { ...(selected ? { inverse: true, bold: true } : {}), ...(color ? { color } : {}) };
  const text = (selected ? '>' : ' ') + columns.map((c) => cell(c, d, totalKiB)).join(' ');
  return fit([seg(text.length < width ? text + ' '.repeat(width - text.length) : text, style)], width);
}

/** The first row to show so that `index` is visible, moving the window as little as possible. */
export function scrollFor(first: number, index: number, rows: number, count: number): number {
  if (rows <= 0) return 0;
  let f = Math.min(first, Math.max(0, count - rows));
  if (index < f) f = index;
  if (index >= f + rows) f = index - rows + 1;
  return Math.max(0, f);
}

export interface TableView {
  frame: StatsFrame;
  order: SortOrder;
  selected: number | null;
  scroll: number;
  /** Domain rows (the header line comes on top). */
  rows: number;
  width: number;
}

/**
 * The header line and `rows` domain lines (blank lines below the last domain). When
 * the domains do not all fit, the last line says how many more there are, above and
 * below, so that nobody takes the rows shown for the whole host.
 */
export function tableLines(v: TableView): Line[] {
  const sorted = sortDomains(v.frame.domains, v.order);
  const columns = visibleColumns(v.width, v.frame.domains);
  const index = sorted.findIndex((d) => d.domid === v.selected);
  const window = domainRowsShown(v.rows, sorted.length);
  const first = scrollFor(v.scroll, Math.max(0, index), window, sorted.length);
  const lines: Line[] = [tableHeaderLine(columns, v.order, v.width)];
  const end = Math.min(sorted.length, first + window);
  for (let i = first; i < end; i++) {
    const d = sorted[i]!;
    lines.push(domainRowLine(d, columns, v.frame.host.totalKiB, d.domid === v.selected, v.width));
  }
  if (window < sorted.length && v.rows > 1) lines.push(moreLine(first, sorted.length - end, v.width));
  while (lines.length < v.rows + 1) lines.push([]);
  return lines.slice(0, v.rows + 1);
}

function moreLine(above: number, below: number, width: number): Line {
  const where = [above > 0 ? `${above} above` : '', below > 0 ? `${below} below` : ''].filter((w) => w !== '').join(', ');
  const hidden = above + below;
  return fit([seg(`  … ${hidden} more domain${hidden === 1 ? '' : 's'} (${where}): ↑↓ PgUp PgDn to see them`, { color: 'gray' })], width);
}
