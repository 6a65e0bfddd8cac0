/**
 * The C library number parsing xl relies on: xlu_cfg_get_long() reads every number
 * in an xl.cfg with strtol(s, &end, 0), so `memory = "0x200"` is 512 and
 * `memory = 010` is 8 (octal). Kept here rather than shared with src/client because
 * the toolstack may not import from the layers above it.
 */

const C_SPACE = /[ \t\n\v\f\r]/;
const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);

export interface CNumber {
  /** The value; `overflow` says when strtol would have clamped it and set ERANGE. */
  value: bigint;
  /** Index just past the digits; 0 when no digits were found. */
  end: number;
  overflow: boolean;
}

function digitValue(ch: string): number {
  const c = ch.charCodeAt(0);
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 122) return c - 87;
  if (c >= 65 && c <= 90) return c - 55;
  return 99;
}

/** strtol(s, &end, base) for base 0 (0x → hex, leading 0 → octal) or 8/10/16. */
export function cStrtol(s: string, base: 0 | 8 | 10 | 16 = 0): CNumber {
  let i = 0;
  while (i < s.length && C_SPACE.test(s[i]!)) i++;
  let negative = false;
  if (s[i] === '+' || s[i] === '-') {
    negative = s[i] === '-';
    i++;
  }
  let radix: number = base;
  if ((radix === 0 || radix === 16) && s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X') && digitValue(s[i + 2] ?? '') < 16) {
    i += 2;
    radix = 16;
  } else if (radix === 0) {
    radix = s[i] === '0' ? 8 : 10;
  }
  const start = i;
  let value = 0n;
  const big = BigInt(radix);
  while (i < s.length && digitValue(s[i]!) < radix) {
    value = value * big + BigInt(digitValue(s[i]!));
    i++;
  }
  if (i === start) return { value: 0n, end: 0, overflow: false };
  if (negative) value = -value;
  const overflow = value > LONG_MAX || value < LONG_MIN;
  return { value, end: i, overflow };
}

/**
 * The whole string as a C `long`, the way xlu_cfg_get_long() accepts it: strtol
 * base 0, nothing left over, no overflow. Returns a message when it is not one.
 */
export function parseCLong(s: string): { value: number } | { problem: string } {
  const r = cStrtol(s, 0);
  if (r.end === 0 || r.end !== s.length) return { problem: `"${s}" is not a valid number` };
  if (r.overflow) return { problem: `${s} is out of range` };
  if (r.value > BigInt(Number.MAX_SAFE_INTEGER) || r.value < BigInt(Number.MIN_SAFE_INTEGER)) {
    return { problem: `${s} is out of range` };
  }
  return { value: Number(r.value) };
}
