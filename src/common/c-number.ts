/**
 * The C library's number parsing (glibc, LP64), the one copy every layer uses. It
 * matters for compatibility because the C tools read numbers this way and rarely
 * reject one: xl reads every number in an xl.cfg with strtol(s, &end, 0) (so
 * `memory = "0x200"` is 512 and `010` is 8), xl's commands take "3abc" as domain 3,
 * `xenstore-watch -n abc` means 0 events and `xenstore-chmod K r1x` means r1.
 * strtoll is strtol on LP64.
 */

const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);
export const ULONG_MAX = (1n << 64n) - 1n;

export type CBase = 0 | 8 | 10 | 16;

export interface CNumber {
  /** The value strtol/strtoul returns: clamped on overflow, 0 when no digits were found. */
  value: bigint;
  /** Index just past the digits; 0 when no digits were found (C's endptr == nptr). */
  end: number;
  /** strtol/strtoul set errno to ERANGE: the value was clamped. */
  overflow: boolean;
}

/** isspace() in the "C" locale. */
const isSpace = (c: string | undefined): boolean => c !== undefined && ' \t\n\v\f\r'.includes(c);

function digitValue(ch: string | undefined): number {
  const c = ch === undefined ? NaN : ch.charCodeAt(0);
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 122) return c - 87;
  if (c >= 65 && c <= 90) return c - 55;
  return 99;
}

/** What strtol and strtoul share (glibc's ____strtol_l_internal): spaces, sign, prefix, digits. */
function scan(s: string, base: CBase): { negative: boolean; magnitude: bigint; end: number } {
  let i = 0;
  while (isSpace(s[i])) i++;
  let negative = false;
  if (s[i] === '+' || s[i] === '-') {
    negative = s[i] === '-';
    i++;
  }
  let radix: number = base;
  // "0x" counts as a prefix only when a hex digit follows: "0x" alone is 0, end after the 0.
  if ((radix === 0 || radix === 16) && s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X') && digitValue(s[i + 2]) < 16) {
    i += 2;
    radix = 16;
  } else if (radix === 0) {
    radix = s[i] === '0' ? 8 : 10;
  }
  const start = i;
  let magnitude = 0n;
  const big = BigInt(radix);
  while (i < s.length && digitValue(s[i]) < radix) {
    magnitude = magnitude * big + BigInt(digitValue(s[i]));
    i++;
  }
  if (i === start) return { negative: false, magnitude: 0n, end: 0 };
  return { negative, magnitude, end: i };
}

/** strtol(s, &end, base) (and strtoll): clamped to [LONG_MIN, LONG_MAX] with ERANGE. */
export function strtol(s: string, base: CBase = 0): CNumber {
  const { negative, magnitude, end } = scan(s, base);
  const v = negative ? -magnitude : magnitude;
  if (v > LONG_MAX) return { value: LONG_MAX, end, overflow: true };
  if (v < LONG_MIN) return { value: LONG_MIN, end, overflow: true };
  return { value: v, end, overflow: false };
}

/** strtoul(s, &end, base): ULONG_MAX with ERANGE when out of range, sign or not; else "-N" is 2^64 - N. */
export function strtoul(s: string, base: CBase = 0): CNumber {
  const { negative, magnitude, end } = scan(s, base);
  if (magnitude > ULONG_MAX) return { value: ULONG_MAX, end, overflow: true };
  return { value: negative ? BigInt.asUintN(64, -magnitude) : magnitude, end, overflow: false };
}

/** Wrap to a C `int` (what a long → int conversion does on every platform Xen runs on). */
export function toInt32(v: bigint): number {
  return Number(BigInt.asIntN(32, v));
}

/** glibc's atoi: (int) strtol(s, NULL, 10). */
export function atoi(s: string): number {
  return toInt32(strtol(s, 10).value);
}

/**
 * The whole string as a C `long`, the way xlu_cfg_get_long() accepts it: strtol
 * base 0, nothing left over, no overflow. Returns a message when it is not one.
 */
export function parseCLong(s: string): { value: number } | { problem: string } {
  const r = strtol(s, 0);
  if (r.end === 0 || r.end !== s.length) return { problem: `"${s}" is not a valid number` };
  if (r.overflow) return { problem: `${s} is out of range` };
  if (r.value > BigInt(Number.MAX_SAFE_INTEGER) || r.value < BigInt(Number.MIN_SAFE_INTEGER)) {
    return { problem: `${s} is out of range` };
  }
  return { value: Number(r.value) };
}
