import type { FaultRow, FaultSummary } from '../protocol/fault-rpc.js';
import { faultTarget } from '../faults/summary.js';
import { formatDurationMs } from '../common/duration.js';

/** `host status` and `top`: "#1 xs-errno on web (fired 3)". */
export function faultSummaryText(faults: readonly FaultSummary[]): string {
  return faults.map((f) => `#${f.id} ${f.kind} on ${f.target} (fired ${f.fired})`).join(', ');
}

/** The kind's options as `fault add` takes them: errno=EACCES path=/x delay=250 ms. */
function options(row: FaultRow): string {
  const o = row.options;
  const parts: string[] = [];
  if (o.errno !== undefined) parts.push(`errno=${o.errno}`);
  if (o.op !== undefined) parts.push(`op=${o.op}`);
  if (o.path !== undefined) parts.push(`path=${o.path}`);
  if (o.delayMs !== undefined) parts.push(`delay=${formatDurationMs(o.delayMs)}`);
  if (o.intervalMs !== undefined) parts.push(`every=${formatDurationMs(o.intervalMs)}`);
  if (o.coalesce === true) parts.push('coalesce');
  if (o.vcpu !== undefined) parts.push(`vcpu=${o.vcpu}`);
  if (o.at !== undefined) parts.push(`at=${o.at}`);
  if (o.after !== undefined) parts.push(`after=${o.after}`);
  if (o.vif !== undefined) parts.push(`vif=${o.vif}`);
  if (o.vdev !== undefined) parts.push(`vdev=${o.vdev}`);
  if (o.sectors !== undefined) parts.push(`sectors=${o.sectors}`);
  for (const [k, v] of Object.entries(o.quota ?? {})) parts.push(`quota ${k}=${v}`);
  return parts.join(' ') || '-';
}

/** `fault list`: one line per fault, columns padded as xl pads its tables. */
export function formatFaultList(rows: readonly FaultRow[]): string {
  const table = [
    ['ID', 'KIND', 'TARGET', 'PROB', 'COUNT', 'FIRED', 'LEFT', 'SEED', 'OPTIONS'],
    ...rows.map((r) => [
      String(r.id),
      r.kind,
      r.target !== null && r.target !== 'socket' ? `${faultTarget(r.target)} (${r.target.domid})` : faultTarget(r.target),
      String(r.probability),
      r.count === null ? '-' : String(r.count),
      String(r.fired),
      r.durationMs === null ? '-' : formatDurationMs(Math.max(0, r.durationMs - r.ageMs)),
      String(r.seed),
      options(r),
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}
