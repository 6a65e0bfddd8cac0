import { XenemuError } from './errors.js';

const UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, s: 512 };

/**
 * A byte count as dd and fio take one: a decimal number with an optional binary unit,
 * k, m, g or t (KiB, MiB, ...; a trailing "iB" or "B" is allowed), or s for 512-byte
 * sectors. `what` names the option in the error.
 */
export function parseByteSize(text: string, what: string): number {
  const m = /^([0-9]+)\s*([kmgtsb]?)(?:i?b)?$/i.exec(text.trim());
  const n = m === null ? NaN : Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
  if (!Number.isSafeInteger(n)) throw new XenemuError('EINVAL', `${what}: "${text}" is not a size (a number of bytes, optionally with k, m, g, t or s for 512-byte sectors)`);
  return n;
}
