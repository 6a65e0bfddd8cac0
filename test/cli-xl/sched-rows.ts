import type { Outcome } from './helpers.js';

/** What the sched-* tests expect: xl's credit header and rows (`%-33s %4d %6d %4d`), and outcomes. */
export const HEADER = 'Name                                ID Weight  Cap\n';

export const row = (name: string, domid: number, weight: number, cap: number): string =>
  `${name.padEnd(33)} ${String(domid).padStart(4)} ${String(weight).padStart(6)} ${String(cap).padStart(4)}\n`;

/** Status 0 with this stdout and nothing on stderr. */
export const ok = (stdout = ''): Outcome => ({ stdout, stderr: '', code: 0 });

/** Status 1 with this stderr, after what xl had printed on stdout. */
export const fails = (stderr: string, stdout = ''): Outcome => ({ stdout, stderr, code: 1 });
