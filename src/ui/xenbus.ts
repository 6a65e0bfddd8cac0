import type { XenbusDeviceRow } from '../protocol/xenbus-rpc.js';

/** A state as "4 Connected", or "-" for a device with no handshake (a child of xenstore). */
const stateCell = (n: number | null, name: string | null): string => (n === null ? '-' : `${n} ${name}`);

/**
 * `xenemu xenbus list`: one line per device, its bus, node and type, its state, the
 * other end (domain, path, state) and the driver ("-" when none took it). Columns are
 * aligned; the last one is not padded.
 */
export function formatXenbusList(rows: readonly XenbusDeviceRow[]): string {
  const header = ['Bus', 'Node', 'Type', 'State', 'Peer', 'Peer path', 'Peer state', 'Driver'];
  const body = rows.map((r) => [
    r.bus,
    r.node,
    r.type,
    stateCell(r.state, r.stateName),
    r.otherendId === null ? '-' : String(r.otherendId),
    r.otherendPath ?? '-',
    stateCell(r.otherendState, r.otherendStateName),
    r.driver ?? '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...body.map(line)].join('\n');
}
