import type { SelectedDomainStats } from '../../protocol/stats.js';
import { HISTORY_MS, type History, type HistorySample } from './history.js';
import type { PanelNeeds } from './layout.js';
import { block, fit, human, left, right, seg, type Color, type Line } from './lines.js';

export type GridMode = 'heat' | 'spark';

export interface PanelView {
  detail: SelectedDomainStats | null;
  /** The selected domain's name while its detail has not arrived yet. */
  pendingName: string | null;
  history: History;
  nowMs: number;
  mode: GridMode;
  /** The delay between frames: a sparkline column is never narrower than one. */
  intervalMs: number;
  width: number;
  /** Exactly this many lines are returned. */
  height: number;
  /** Also the IPIs that never fired (the `a` key), which the grid leaves out otherwise. */
  allSources: boolean;
}

/** Source name, handler, rate: the columns left of the grid. */
const NAME_W = 12;
const HANDLER_W = 7;
const RATE_W = 6;
export const PREFIX_W = NAME_W + 1 + HANDLER_W + 1 + RATE_W + 1;
/** A numeric cell: a rate in 6 columns and a space. */
const NUM_CELL = 7;

/** Eight heights of a block, the heat map's and the sparklines' levels; '·' is zero. */
const LEVELS = '▁▂▃▄▅▆▇█';
const ZERO = '·';

const LEVEL_COLORS: readonly Color[] = ['blue', 'blue', 'cyan', 'cyan', 'green', 'yellow', 'yellow', 'red'];

/** Level 1..8 of `v` on a log scale up to `max` (0 for nothing): quiet sources stay visible beside a busy one. */
export function heatLevel(v: number, max: number): number {
  if (!(v > 0) || !(max > 0)) return 0;
  const l = Math.ceil((8 * Math.log1p(v)) / Math.log1p(max));
  return Math.max(1, Math.min(8, l));
}

/** Level 1..8 of `v` on a linear scale (sparklines show a series' shape). */
export function sparkLevel(v: number, max: number): number {
  if (!(v > 0) || !(max > 0)) return 0;
  return Math.max(1, Math.min(8, Math.ceil((8 * v) / max)));
}

function levelSeg(level: number, text?: string): Line[number] {
  if (level === 0) return seg(text ?? ZERO, { color: 'gray', dim: true });
  return seg(text ?? LEVELS[level - 1]!, { color: LEVEL_COLORS[level - 1]! });
}

/** Runs of equal style become one segment, so a 64-cell row is a few Ink nodes, not 64. */
function merge(line: Line): Line {
  const out: Line = [];
  for (const s of line) {
    const last = out[out.length - 1];
    if (last !== undefined && last.color === s.color && last.dim === s.dim && last.bold === s.bold && last.inverse === s.inverse) {
      out[out.length - 1] = { ...last, text: last.text + s.text };
    } else out.push(s);
  }
  return out;
}

function prefix(name: string, handler: string, rate: string, style: { bold?: boolean; color?: Color } = {}): Line {
  return [seg(left(name, NAME_W), style), seg(' '), seg(left(handler, HANDLER_W), { color: 'gray' }), seg(' '), seg(right(rate, RATE_W), style), seg(' ')];
}

/** The selected domain's title: name, callback, HZ, and where handler time goes. */
function titleLine(d: SelectedDomainStats, width: number): Line {
  const line: Line = [seg(d.name, { bold: true }), seg(` (${d.domid})`), seg('  callback '), seg(d.callback.label, { color: 'cyan' })];
  if (d.hz !== null) line.push(seg(`  HZ ${d.hz}`));
  if (d.handlerShare !== null) {
    line.push(seg('  handlers: '), seg(`filter ${Math.round(d.handlerShare.filter)}%`, { color: 'green' }), seg(' / '), seg(`ithread ${Math.round(d.handlerShare.ithread)}%`, { color: 'magenta' }));
  } else if (d.counters === 'kernel') {
    line.push(seg('  handlers: idle'));
  }
  if (d.counters === 'hypervisor') line.push(seg('  (kernel keeps no per-source counts: upcalls only)', { color: 'gray' }));
  return fit(line, width);
}

function evtchnLine(d: SelectedDomainStats, width: number): Line {
  const e = d.evtchn;
  const s = e.byState;
  const parts = [`${s.interdomain} interdomain`, `${s.virq} virq`, `${s.ipi} ipi`, `${s.unbound} unbound`];
  if (s.pirq > 0) parts.push(`${s.pirq} pirq`);
  const r = e.rates;
  return fit(
    [
      seg('evtchn ', { bold: true }),
      seg(`${e.inUse}/${e.max} ports: ${parts.join(', ')}`),
      seg('   per s: '),
      seg(`raised ${human(r.raises)} sent ${human(r.sends)} coalesced ${human(r.coalesced)} masked ${human(r.masked)} kicks ${human(r.kicks)}`),
    ],
    width,
  );
}

/** How the grid's columns map to vCPUs. */
interface GridShape {
  numeric: boolean;
  /** vCPUs per cell (heat map on a narrow terminal). */
  perCell: number;
  cells: number;
}

function gridShape(vcpus: number, width: number): GridShape {
  const room = Math.max(1, width - PREFIX_W);
  if (vcpus * NUM_CELL <= room) return { numeric: true, perCell: 1, cells: vcpus };
  const perCell = Math.ceil(vcpus / room);
  return { numeric: false, perCell, cells: Math.ceil(vcpus / perCell) };
}

/** Values of one row by cell: the largest of the vCPUs a cell covers, null when all of them are offline. */
function cellValues(values: readonly number[], online: readonly boolean[], shape: GridShape): Array<number | null> {
  const out: Array<number | null> = [];
  for (let c = 0; c < shape.cells; c++) {
    let v: number | null = null;
    for (let i = c * shape.perCell; i < Math.min(values.length, (c + 1) * shape.perCell); i++) {
      if (!online[i]) continue;
      v = Math.max(v ?? 0, values[i] ?? 0);
    }
    out.push(v);
  }
  return out;
}

function gridCells(values: Array<number | null>, shape: GridShape, max: number, fmt: (v: number) => string = human): Line {
  return merge(
    values.map((v) => {
      if (shape.numeric) {
        const text = right(v === null ? '-' : fmt(v), NUM_CELL - 1) + ' ';
        return v === null || v <= 0 ? seg(text, { color: 'gray' }) : seg(text, { color: LEVEL_COLORS[heatLevel(v, max) - 1]! });
      }
      return v === null ? seg(' ') : levelSeg(heatLevel(v, max));
    }),
  );
}

/** The vCPU ruler above the heat map: an index every 8 cells. */
function heatRuler(shape: GridShape): string {
  const chars = new Array<string>(shape.cells).fill(' ');
  for (let c = 0; c < shape.cells; c += 8) {
    const label = String(c * shape.perCell);
    if (c + label.length > shape.cells) break;
    for (let i = 0; i < label.length; i++) chars[c + i] = label[i]!;
  }
  return chars.join('');
}

function sourceRate(d: SelectedDomainStats, i: number): number {
  return (d.rates[i] ?? []).reduce((a, b) => a + b, 0);
}

const neverFired = (d: SelectedDomainStats, i: number): boolean => (d.totals[i] ?? 0) === 0;

/**
 * The sources the grid shows, by index: all of them but the IPIs that never fired
 * (a guest binds half a dozen per vCPU, most of which a quiet guest never sends),
 * unless asked for all.
 */
export function shownSources(d: SelectedDomainStats, all: boolean): number[] {
  return d.sources.map((s, i) => (all || s.kind !== 'ipi' || !neverFired(d, i) ? i : -1)).filter((i) => i >= 0);
}

/** Which rows make way first when they do not all fit: never fired (2), then idle in the interval (1). */
function idleRanks(d: SelectedDomainStats, shown: readonly number[]): number[] {
  return shown.map((i) => (neverFired(d, i) ? 2 : sourceRate(d, i) > 0 ? 0 : 1));
}

function heatLines(d: SelectedDomainStats, shown: readonly number[], width: number, room: number): Line[] {
  const shape = gridShape(d.vcpus.length, width);
  const online = d.vcpus.map((v) => v.online);
  const header: Line = [seg(left('SOURCE', NAME_W) + ' ' + left('HANDLER', HANDLER_W) + ' ' + right('RATE/s', RATE_W) + ' ', { bold: true })];
  if (shape.numeric) header.push(seg(d.vcpus.map((v) => right(`v${v.id}`, NUM_CELL - 1) + ' ').join(''), { bold: true }));
  else header.push(seg(heatRuler(shape), { bold: true }), seg(shape.perCell > 1 ? `  vCPUs, ${shape.perCell}/cell` : '  vCPU', { color: 'gray' }));

  const perSource = shown.map((i) => cellValues(d.rates[i] ?? [], online, shape));
  const max = Math.max(0, ...perSource.flat().map((v) => v ?? 0));
  const rows: Line[] = shown.map((i, k) => {
    const s = d.sources[i]!;
    return [...prefix(s.name, s.handler === 'none' ? '-' : s.handler, human(sourceRate(d, i))), ...gridCells(perSource[k]!, shape, max)];
  });

  const totals = cellValues(
    d.vcpus.map((v) => v.intrPerSec),
    online,
    shape,
  );
  const totalMax = Math.max(0, ...totals.map((v) => v ?? 0));
  const total: Line = [...prefix('total', '', human(d.intrPerSec), { bold: true }), ...gridCells(totals, shape, totalMax)];
  const cpu = cellValues(
    d.vcpus.map((v) => v.cpuPct),
    online,
    shape,
  );
  const cpuLine: Line = [...prefix('cpu %', '', ''), ...gridCells(cpu, shape, 100, (v) => (v >= 99.95 ? '100' : v.toFixed(1)))];
  return fitRows(header, rows, [total, cpuLine], width, room, idleRanks(d, shown));
}

function sparkCells(series: Array<number | null>): Line {
  const max = Math.max(0, ...series.map((v) => v ?? 0));
  return merge(series.map((v) => (v === null ? seg(' ') : levelSeg(sparkLevel(v, max)))));
}

function sparkLines(d: SelectedDomainStats, shown: readonly number[], history: History, nowMs: number, intervalMs: number, width: number, room: number): Line[] {
  // At most one column per frame, so that no column of a steady series is empty.
  const cells = Math.max(1, Math.min(120, width - PREFIX_W, Math.floor(HISTORY_MS / Math.max(1, intervalMs))));
  const perCell = HISTORY_MS / 1000 / cells;
  const header: Line = [
    seg(left('SOURCE', NAME_W) + ' ' + left('HANDLER', HANDLER_W) + ' ' + right('RATE/s', RATE_W) + ' ', { bold: true }),
    seg(`last 60 s, ${Number.isInteger(perCell) ? perCell : perCell.toFixed(1)} s per column, each row to its own peak`, { color: 'gray' }),
  ];
  const series = (value: (s: HistorySample) => number) => history.buckets(d.domid, cells, nowMs, value);
  const rows: Line[] = shown.map((i) => {
    const s = d.sources[i]!;
    return [...prefix(s.name, s.handler === 'none' ? '-' : s.handler, human(sourceRate(d, i))), ...sparkCells(series((h) => h.sources.get(s.key) ?? 0))];
  });
  const total: Line = [...prefix('total', '', human(d.intrPerSec), { bold: true }), ...sparkCells(series((h) => h.total))];
  return fitRows(header, rows, [total], width, room, idleRanks(d, shown));
}

/**
 * The header, as many source rows as fit (a last line says how many did not), then
 * the footer rows; when even that is too much the footer rows go first. Sources that
 * never fired make way first, as vmstat -i leaves them out, then those idle in the
 * interval (`ranks` 2 and 1); the rest keep their order.
 */
function fitRows(header: Line, rows: Line[], footer: Line[], width: number, room: number, ranks: readonly number[]): Line[] {
  if (room <= 0) return [];
  const foot = footer.slice(0, Math.max(0, room - 2));
  const space = room - 1 - foot.length;
  let shown = rows;
  if (rows.length > space) {
    const keep = Math.max(0, space - 1);
    let surplus = rows.length - keep;
    const dropped = new Set<number>();
    for (const rank of [2, 1]) {
      for (let i = rows.length - 1; i >= 0 && surplus > 0; i--) {
        if (ranks[i] === rank) {
          dropped.add(i);
          surplus--;
        }
      }
    }
    const kept = rows.filter((_, i) => !dropped.has(i)).slice(0, keep);
    const hidden = rows.length - kept.length;
    const never = [...dropped].filter((i) => ranks[i] === 2).length;
    const idle = dropped.size - never;
    const why = [never > 0 ? `${never} never fired` : '', idle > 0 ? `${idle} idle` : ''].filter((w) => w !== '').join(', ');
    shown = [...kept, [seg(`… ${hidden} more source${hidden === 1 ? '' : 's'}${why !== '' ? ` (${why})` : ''}: enlarge the terminal`, { color: 'gray' })]];
  }
  return [header, ...shown, ...foot].map((l) => fit(l, width)).slice(0, room);
}

/** The interrupt panel of the selected domain, exactly `height` lines. */
export function panelLines(v: PanelView): Line[] {
  const d = v.detail;
  if (v.height <= 0) return [];
  if (d === null) {
    const msg = v.pendingName === null ? 'Select a domain with ↑/↓ to see its interrupts by vCPU and source.' : `Sampling ${v.pendingName}…`;
    return block([fit([seg(msg, { color: 'gray' })], v.width)], v.height);
  }
  const head = [titleLine(d, v.width), evtchnLine(d, v.width)].slice(0, v.height >= 4 ? 2 : 1);
  const room = v.height - head.length;
  const shown = shownSources(d, v.allSources);
  const grid = v.mode === 'heat' ? heatLines(d, shown, v.width, room) : sparkLines(d, shown, v.history, v.nowMs, v.intervalMs, v.width, room);
  return block([...head, ...grid], v.height);
}

/**
 * Lines the panel would like (the title lines, the grid header, a row per shown
 * source, total and cpu) and the ones it needs before the table gets a row per
 * domain: all but the idle sources' rows, which then share one "more" line.
 */
export function panelNeeds(detail: SelectedDomainStats | null, allSources: boolean): PanelNeeds {
  if (detail === null) return { wants: 2, essential: 2 };
  const shown = shownSources(detail, allSources);
  const active = idleRanks(detail, shown).filter((r) => r === 0).length;
  return { wants: 2 + 1 + shown.length + 2, essential: 2 + 1 + active + (active < shown.length ? 1 : 0) + 2 };
}
