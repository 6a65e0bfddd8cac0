/**
 * `xl list`, `xl list -v/-Z/-c/-n` and `xl claims`, as tools/xl/xl_info.c
 * (list_domains) prints them in Xen 4.17; `xl list -l` is list-long.ts.
 */

import { printBitmap } from './bitmap.js';
import { cprintf, nsToSecondsLikeXl } from './cprintf.js';
import { SHUTDOWN_REASON_CODE, type XlDomainRow } from '../../toolstack/libxl/rows.js';
import type { XlListOptions } from './options.js';
import { formatUuid } from '../../toolstack/libxl/uuid.js';

/** The header's fixed part; note the two real tab characters (list_domains). */
export const LIST_HEADER = 'Name                                        ID   Mem VCPUs\tState\tTime(s)';

/** Index = libxl_shutdown_reason; anything outside prints '?' (list_domains). */
const SHUTDOWN_REASON_LETTERS = '-rscwS';

/** glibc prints a NULL %s argument as "(null)". */
const cstr = (s: string | null | undefined): string => s ?? '(null)';

/** The text `xl list [options]` writes to stdout for these domains, in the given order. */
export function formatList(rows: readonly XlDomainRow[], options: XlListOptions = {}): string {
  return listHeader(options) + rows.map((row) => listLine(row, options)).join('');
}

/** The header line of `xl list [options]`. */
export function listHeader(options: XlListOptions = {}): string {
  const { verbose = false, context = false, claim = false, cpupool = false, numa = false } = options;
  let out = LIST_HEADER;
  if (verbose) out += '   UUID                            Reason-Code\tSecurity Label';
  if (context && !verbose) out += '   Security Label';
  if (claim) out += '  Claimed';
  if (cpupool) out += '         Cpupool';
  if (numa) out += ' NODE Affinity';
  return `${out}\n`;
}

/** One domain's line of `xl list [options]`; throws on a row whose numbers are not numbers. */
export function listLine(row: XlDomainRow, options: XlListOptions = {}): string {
  const { verbose = false, context = false, claim = false, cpupool = false, numa = false } = options;
  const f = row.stateFlags;
  const reason = f.shutdown ? SHUTDOWN_REASON_CODE[row.shutdownReason ?? 'unknown'] : 0;
  const letter = reason >= 0 && reason < SHUTDOWN_REASON_LETTERS.length ? SHUTDOWN_REASON_LETTERS[reason]! : '?';
  const outstanding = BigInt(row.outstandingMemKb ?? 0);
  // (unsigned long)((current_memkb + outstanding_memkb) / 1024): uint64 arithmetic.
  const memMiB = BigInt.asUintN(64, BigInt(row.currentMemKb) + outstanding) / 1024n;
  let out = cprintf(
    '%-40s %5d %5lu %5d     %c%c%c%c%c%c  %8.1f',
    cstr(row.name),
    row.domid,
    memMiB,
    row.vcpusOnline,
    f.running ? 'r' : '-',
    f.blocked ? 'b' : '-',
    f.paused ? 'p' : '-',
    f.shutdown ? 's' : '-',
    letter,
    f.dying ? 'd' : '-',
    nsToSecondsLikeXl(row.cpuTimeNs),
  );
  if (verbose) {
    out += ` ${formatUuid(row.uuid)}`;
    out += f.shutdown ? cprintf(' %8x', reason) : cprintf(' %8s', '-');
  }
  if (claim) out += cprintf(' %5lu', BigInt.asUintN(64, outstanding) / 1024n);
  if (verbose || context) out += cprintf(' %16s', row.ssidLabel ?? '-');
  if (cpupool) out += cprintf('%16s', cstr(row.cpupoolName));
  if (numa) out += ` ${printBitmap(row.nodeAffinity ?? [], options.nrNodes ?? 0)}`;
  return `${out}\n`;
}

/** `xl vm-list` (list_vm): the domains libxl_list_vm() answers (Domain-0 among them) with their UUIDs. */
export function formatVmList(rows: readonly { uuid: string; domid: number; name: string | null }[]): string {
  let out = 'UUID                                  ID    name\n';
  for (const r of rows) out += `${formatUuid(r.uuid)}${cprintf('  %d    %-30s\n', r.domid, cstr(r.name))}`;
  return out;
}

/** `xl domid NAME` on success. */
export function formatDomid(domid: number): string {
  return cprintf('%u\n', domid);
}

/** `xl domname ID` on success. */
export function formatDomname(name: string): string {
  return `${name}\n`;
}

/** stderr of `xl domid NAME` for an unknown name (main_domid). */
export function domidNotFoundMessage(name: string): string {
  return `Can't get domid of domain name '${name}', maybe this domain does not exist.\n`;
}

/** stderr of `xl domname ID` for an unknown id (main_domname); domid as the uint32_t xl holds. */
export function domnameNotFoundMessage(domid: number): string {
  return cprintf("Can't get domain name of domain id '%u', maybe this domain does not exist.\n", domid);
}

/** stderr of `xl list NAME` when the domain does not exist (main_list). */
export function listDomainNotFoundMessage(arg: string): string {
  return `Error: Domain '${arg}' does not exist.\n`;
}
