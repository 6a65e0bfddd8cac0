/**
 * `xl uptime [-s]` as tools/xl/xl_info.c (print_uptime, uptime_to_string) prints it.
 */

import { cprintf } from './cprintf.js';
import type { XlUptimeRow } from '../../toolstack/libxl/rows.js';

export interface XlUptimeOptions {
  /** -s: " HH:MM:SS up …, NAME (ID)" lines and no header. */
  short?: boolean;
  /** The local wall-clock time the short form starts with (localtime + "%H:%M:%S"). */
  now?: Date;
}

/** The header of the long form: printf("%-33s %4s %s\n", "Name", "ID", "Uptime"). */
export const UPTIME_HEADER = cprintf('%-33s %4s %s', 'Name', 'ID', 'Uptime');

/**
 * The text of `xl uptime`. xl lists dom0 first (from /proc/uptime), then the other
 * domains of libxl_list_vm(); a domU whose /vm/UUID/start_time cannot be read is
 * skipped. Ordering and skipping are the caller's.
 */
export function formatUptime(rows: readonly XlUptimeRow[], options: XlUptimeOptions = {}): string {
  let out = options.short ? '' : `${UPTIME_HEADER}\n`;
  for (const r of rows) {
    const name = r.name ?? '(null)';
    if (options.short) {
      if (options.now === undefined) throw new RangeError('xl uptime -s needs the current time');
      out += cprintf(' %s up %s, %s (%d)\n', clock(options.now), uptimeToString(r.uptimeSeconds, true), name, r.domid);
    } else {
      out += cprintf('%-33s %4d %s\n', name, r.domid, uptimeToString(r.uptimeSeconds, false));
    }
  }
  return out;
}

/** strftime("%H:%M:%S", localtime(now)). */
function clock(now: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(now.getHours())}:${two(now.getMinutes())}:${two(now.getSeconds())}`;
}

/**
 * uptime_to_string(): "H:MM:SS" with the hour padded to two columns (" 0:05:12"),
 * "1 day,  3:02:00", "2 days, 11:00:00"; the short form drops the seconds.
 * Above 24855 days the C code multiplies past INT_MAX (undefined behaviour); this
 * uses exact arithmetic there, which only a start_time in the future can reach.
 */
export function uptimeToString(uptime: number, short: boolean): string {
  let u = uptime >>> 0;
  const day = Math.floor(u / 86400);
  u -= day * 86400;
  const hour = Math.floor(u / 3600);
  u -= hour * 3600;
  const min = Math.floor(u / 60);
  const sec = u - min * 60;
  const days = day > 1 ? cprintf('%d days, ', day) : day === 1 ? cprintf('%d day, ', day) : '';
  return days + (short ? cprintf('%2d:%02d', hour, min) : cprintf('%2d:%02d:%02d', hour, min, sec));
}

/**
 * A domU's uptime as print_domU_uptime() computes it: time(NULL) minus the uint32_t
 * start_time libxl reads from /vm/UUID/start_time, stored in a uint32_t (so a start
 * time in the future wraps to a huge uptime rather than going negative).
 */
export function domainUptime(nowEpochSeconds: number, startTimeEpochSeconds: number): number {
  return Number(BigInt.asUintN(32, BigInt(Math.floor(nowEpochSeconds)) - BigInt(startTimeEpochSeconds >>> 0)));
}

/**
 * Dom0's uptime: strtoul() of /proc/uptime (after strtok() cut it at the first space,
 * which strtoul would stop at anyway), kept as a uint32_t.
 */
export function dom0Uptime(procUptime: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d*)/.exec(procUptime)!;
  if (m[2] === '') return 0;
  const v = BigInt(m[2]!);
  const clamped = v > 0xffffffffffffffffn ? 0xffffffffffffffffn : v;
  return Number(BigInt.asUintN(32, m[1] === '-' ? -clamped : clamped));
}
