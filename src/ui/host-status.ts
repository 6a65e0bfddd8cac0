import { faultSummaryText } from './faults.js';
import type { ChalkInstance } from 'chalk';
import type { HostStatus } from '../protocol/host-rpc.js';
import { describeRecovery, type LastStart } from '../state/last-start.js';

/**
 * `host status` as text. `c` styles it (the state in colour, the keys faint); a chalk
 * at level 0, as on a pipe or under NO_COLOR, writes the plain text.
 */

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

export function formatHostStatus(s: HostStatus, c: ChalkInstance): string {
  const rows: Array<[string, string]> = [
    ['pid', String(s.pid)],
    ['version', s.version],
    ['state dir', s.home],
    ['xenstored socket', s.socket],
    ['read-only socket', s.socketRo],
    ['control socket', s.control],
    ['started', `${s.startedAt} (up ${s.uptimeSeconds} s)`],
    ['store nodes', String(s.nodes)],
    ['connections', String(s.connections)],
    ['memory (RSS)', mib(s.rssBytes)],
    ...Object.entries(s.persistence).map(([k, v]): [string, string] => [k, String(v)]),
    ['faults', s.faults.length === 0 ? 'none' : faultSummaryText(s.faults)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const recovery = s.recovery === null ? [] : [`  last recovery (${s.recovery.at}):`, ...describeRecovery(s.recovery).split('\n').map((l) => `    ${l}`)];
  return [`xenemu host: ${c.green.bold('running')}`, ...rows.map(([k, v]) => `  ${c.dim(k.padEnd(width))}  ${v}`), ...recovery].join('\n');
}

/** A stopped host, and what its last start made of the store if that start failed on it. */
export function formatStopped(home: string, last: LastStart | undefined, c: ChalkInstance): string {
  const head = `xenemu host: ${c.yellow.bold('stopped')} (state dir ${home})`;
  if (last === undefined || !('refused' in last)) return head;
  return [head, c.red(`  last start (${last.at}) refused the store:`), ...last.refused.split('\n').map((l) => `    ${l}`)].join('\n');
}
