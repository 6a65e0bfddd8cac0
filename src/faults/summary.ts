import type { FaultRow, FaultSummary } from '../protocol/fault-rpc.js';

/** How `host status`, `top` and `fault list` name what a fault applies to. */
export function faultTarget(target: FaultRow['target']): string {
  if (target === null) return 'all';
  if (target === 'socket') return 'socket';
  return target.name ?? String(target.domid);
}

/** The one-line view of each fault in force (`host status`, `top`). */
export function faultSummaries(registry: { rows(): FaultRow[] }): FaultSummary[] {
  return registry.rows().map((f) => ({ id: f.id, kind: f.kind, target: faultTarget(f.target), fired: f.fired }));
}
