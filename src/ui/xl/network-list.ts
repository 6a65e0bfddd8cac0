/**
 * `xl network-list` as tools/xl/xl_nic.c (main_networklist) prints it: the header,
 * then per vif its devid, backend domain, MAC (LIBXL_MAC_FMT), devid again ("handle"),
 * the frontend's state, event channel, tx/rx ring-refs and the backend path, -1 for
 * a missing node (so event-channel with split channels, which only libxl reads).
 */

import type { NicInfo } from '../../toolstack/devices/vif.js';
import { cprintf } from './cprintf.js';

export const NETWORK_LIST_HEADER = cprintf('%-3s %-2s %-17s %-6s %-5s %-6s %5s/%-5s %-30s\n', 'Idx', 'BE', 'Mac Addr.', 'handle', 'state', 'evt-ch', 'tx-', 'rx-ring-ref', 'BE-path');

export function networkListLine(n: NicInfo): string {
  return cprintf('%-3d %-2d ', n.devid, n.backendId) + n.mac.toLowerCase() + cprintf('%6d %5d %6d %5d/%-11d %-30s\n', n.devid, n.state, n.evtch, n.rrefTx, n.rrefRx, n.backendPath);
}
