/**
 * `xl block-list` as tools/xl/xl_block.c (main_blocklist) prints it, plus xenemu's
 * long form (`-l`) with what the toolstack and the backend know of each disk.
 */

import { cprintf } from './cprintf.js';
import type { VbdInfo } from '../../toolstack/devices/vbd.js';

/** printf("%-5s %-3s %-6s %-5s %-6s %-8s %-30s\n", "Vdev", "BE", "handle", ...). */
export const BLOCK_LIST_HEADER = cprintf('%-5s %-3s %-6s %-5s %-6s %-8s %-30s\n', 'Vdev', 'BE', 'handle', 'state', 'evt-ch', 'ring-ref', 'BE-path');

/** One row: devid, backend domid, frontend domid ("handle"), frontend state, event channel, ring-ref, backend path. */
export function blockListLine(r: VbdInfo): string {
  return cprintf('%-5d %-3d %-6d %-5d %-6d %-8d %-30s\n', r.devid, r.backendId, r.frontendId, r.state, r.evtch, r.rref, r.backendPath);
}

/** The long form's header: the disk as the guest and the backend see it, and the backend's counters. */
export const BLOCK_LIST_LONG_HEADER = cprintf(
  '%-6s %-5s %-3s %-3s %-3s %-4s %10s %10s %12s %12s %6s %6s %s\n',
  'Dom',
  'Vdev',
  'BE',
  'FE',
  'BEs',
  'Mode',
  'RD-reqs',
  'WR-reqs',
  'RD-sectors',
  'WR-sectors',
  'OO',
  'Errors',
  'Target',
);

export function blockListLongLine(r: VbdInfo): string {
  const s = r.stats;
  const n = (v: number | undefined): string => (v === undefined ? '-' : String(v));
  return cprintf(
    '%-6d %-5s %-3d %-3d %-3d %-4s %10s %10s %12s %12s %6s %6s %s\n',
    r.frontendId,
    r.vdev,
    r.backendId,
    r.state,
    r.backendState,
    r.mode === 'w' ? 'rw' : 'ro',
    n(s?.reads),
    n(s?.writes),
    n(s?.readSectors),
    n(s?.writeSectors),
    n(s?.outOfRequests),
    n(s?.errors),
    r.params === '' ? '(empty)' : r.params,
  );
}
