/**
 * `xl vcpu-list` as tools/xl/xl_vcpu.c (vcpulist, print_vcpuinfo) prints it in 4.17,
 * plus xenemu's `-l` extension.
 */

import { printBitmap } from './bitmap.js';
import { cprintf, nsToSecondsLikeXl } from './cprintf.js';
import type { XlVcpuRow } from '../../toolstack/libxl/rows.js';
import type { XlVcpuListOptions } from './options.js';

/** vcpulist()'s header line. */
export const VCPU_LIST_HEADER = cprintf('%-32s %5s %5s %5s %5s %9s %s', 'Name', 'ID', 'VCPU', 'CPU', 'State', 'Time(s)', 'Affinity (Hard / Soft)');

/**
 * xenemu's `-l` column: appended after the affinity column, separated by two spaces,
 * so every standard column keeps its bytes and a script that splits the first six
 * fields is unaffected. Real xl has no -l here; its vcpu-list takes no options.
 */
export const VCPU_INFO_HEADER = 'vcpu_info';

/** The text `xl vcpu-list` writes to stdout for these vCPUs, in the given order. */
export function formatVcpuList(rows: readonly XlVcpuRow[], options: XlVcpuListOptions): string {
  let out = VCPU_LIST_HEADER;
  if (options.long) out += `  ${VCPU_INFO_HEADER}`;
  out += '\n';
  for (const v of rows) {
    let line = cprintf('%-32s %5u %5u', v.domName ?? '(null)', v.domid, v.vcpuid);
    // An offline vCPU: CPU "-" and state "--p"; online: the pCPU and r/b flags.
    if (!v.online) line += cprintf('%5c %3c%cp ', '-', '-', '-');
    else line += cprintf('%5u %3c%c- ', v.cpu, v.running ? 'r' : '-', v.blocked ? 'b' : '-');
    line += cprintf('%9.1f  ', nsToSecondsLikeXl(v.vcpuTimeNs));
    line += `${printBitmap(v.hardAffinity, options.nrCpus)} / ${printBitmap(v.softAffinity, options.nrCpus)}`;
    if (options.long) line += `  ${v.vcpuInfoLocation ?? '-'}`;
    out += `${line}\n`;
  }
  return out;
}

/**
 * `xl -N vcpu-pin`'s dry-run line: "cpumap: HARD[ SOFT]", "-" for an untouched hard
 * map; nrCpus is libxl_get_max_cpus().
 */
export function formatVcpuPinDryRun(hard: readonly number[] | 'all' | null, soft: readonly number[] | 'all' | null, nrCpus: number): string {
  let out = 'cpumap: ';
  out += hard === null ? '-' : printBitmap(hard, nrCpus);
  if (soft !== null) out += ` ${printBitmap(soft, nrCpus)}`;
  return `${out}\n`;
}
