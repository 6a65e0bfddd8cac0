/**
 * The C library's number parsing as the xenstore tools and libxenstore use it
 * (glibc, LP64). They matter for compatibility because the tools never reject a bad
 * number: `xenstore-watch -n abc` means 0 events, `xenstore-chmod K r1x` means r1.
 */

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const C_SPACE = new Set([' ', '\t', '\n', '\v', '\f', '\r']);

/** Wrap to a C `int` (what a long → int conversion does on every platform Xen runs on). */
export function toInt32(v: bigint): number {
  return Number(BigInt.asIntN(32, v));
}

export interface StrtolResult {
  /** The value, clamped to [LONG_MIN, LONG_MAX] as strtol does on overflow. */
  value: bigint;
  /** Index just past the digits; 0 when no number was found (strtol's end == start). */
  end: number;
}

/** strtol(s, &end, base) for base 10 or 0 (0: 0x → hex, leading 0 → octal). */
export function strtol(s: string, base: 0 | 10): StrtolResult {
  let i = 0;
  while (i < s.length && C_SPACE.has(s[i]!)) i++;
  let negative = false;
  if (s[i] === '+' || s[i] === '-') {
    negative = s[i] === '-';
    i++;
  }
  let radix: number = base === 0 ? 10 : base;
  if (base === 0 && s[i] === '0') {
    if ((s[i + 1] === 'x' || s[i + 1] === 'X') && /[0-9a-fA-F]/.test(s[i + 2] ?? '')) {
      radix = 16;
      i += 2;
    } else {
      radix = 8;
    }
  }
  const digitsStart = i;
  let value = 0n;
  for (; i < s.length; i++) {
    const d = Number.parseInt(s[i]!, radix);
    if (Number.isNaN(d)) break;
    value = value * BigInt(radix) + BigInt(d);
  }
  if (i === digitsStart) return { value: 0n, end: 0 };
  if (negative) value = -value;
  if (value > INT64_MAX) value = INT64_MAX;
  if (value < INT64_MIN) value = INT64_MIN;
  return { value, end: i };
}

/** glibc's atoi: (int) strtol(s, NULL, 10). */
export function atoi(s: string): number {
  return toInt32(strtol(s, 10).value);
}
