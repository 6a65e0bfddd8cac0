/**
 * How the xenstore tools print and parse values (xenstore_client.c sanitise_value /
 * unsanitise_value, Xen 4.17). Strings here are "byte strings": one char per byte
 * (latin1), which is how the tools' output is written, byte for byte.
 */

const BACKSLASH = 0x5c;

/**
 * Escape a value for xenstore-read (without -R) and xenstore-ls: printable ASCII as
 * is except the backslash; \t \n \r \\; other bytes below 8 as 3-digit octal; every
 * other byte as \xHH. The double quote is left alone, which is why ls can print
 * `"say "hi""`.
 */
export function escapeValue(value: Uint8Array): string {
  let out = '';
  for (const c of value) {
    if (c >= 0x20 && c <= 0x7e && c !== BACKSLASH) {
      out += String.fromCharCode(c);
      continue;
    }
    switch (c) {
      case 0x09:
        out += '\\t';
        break;
      case 0x0a:
        out += '\\n';
        break;
      case 0x0d:
        out += '\\r';
        break;
      case BACKSLASH:
        out += '\\\\';
        break;
      default:
        out += c < 0o10 ? `\\${c.toString(8).padStart(3, '0')}` : `\\x${c.toString(16).padStart(2, '0')}`;
    }
  }
  return out;
}

/**
 * Parse xenstore-write's escapes: \t \n \r \\, \xHH, \ooo; any other backslash is
 * dropped and the next byte kept (`\q` → q). The numeric forms are sscanf("%2x") and
 * sscanf("%3o") in the C tool, and we copy their corners because scripts hit them:
 * `\x` skips blanks and takes a sign or a "0x" (`\x 41` → A, `\x-1` → 0xff,
 * `\x0x41` → NUL then "41"), a failed `\xZZ` keeps the x, values wrap to a byte
 * (`\400` → NUL), and a backslash at the very end adds a NUL byte.
 */
export function unescapeValue(spec: Uint8Array): Buffer {
  // argv strings end at their first NUL; the C loop stops there.
  const nul = spec.indexOf(0);
  const n = nul < 0 ? spec.length : nul;
  const out = Buffer.allocUnsafe(n + 1);
  let o = 0;
  let i = 0;
  while (i < n) {
    let c = spec[i++]!;
    if (c === BACKSLASH) {
      c = i < n ? spec[i++]! : 0;
      switch (c) {
        case 0x74: // t
          c = 0x09;
          break;
        case 0x6e: // n
          c = 0x0a;
          break;
        case 0x72: // r
          c = 0x0d;
          break;
        case 0x78: {
          // x: on a failed conversion c stays 'x' and nothing is consumed.
          const m = scanNumber(spec, i, n, 16, 2);
          if (m) {
            c = m.value;
            i += m.consumed;
          }
          break;
        }
        default:
          if (c >= 0x30 && c <= 0x37) {
            const m = scanNumber(spec, i - 1, n, 8, 3)!;
            c = m.value;
            i += m.consumed - 1;
          }
        // Anything else (including the NUL at the end) is kept as it is.
      }
    }
    out[o++] = c & 0xff;
  }
  return out.subarray(0, o);
}

function isCSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function digitValue(c: number, base: 8 | 16): number {
  let d = -1;
  if (c >= 0x30 && c <= 0x39) d = c - 0x30;
  else if (base === 16 && c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
  else if (base === 16 && c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
  return d < base ? d : -1;
}

/**
 * glibc's scanf integer conversion with a field width, then "%n": skip blanks (not
 * counted in the width), an optional sign, for base 16 an optional "0x" (which reads
 * as 0 when the width ends there), then digits. Returns the low byte of the value
 * (what the tool stores in a char) and how many bytes the conversion read, or null
 * when it matched nothing (input or matching failure).
 */
function scanNumber(s: Uint8Array, start: number, end: number, base: 8 | 16, width: number): { value: number; consumed: number } | null {
  let i = start;
  while (i < end && isCSpace(s[i]!)) i++;
  if (i >= end) return null;
  let w = width;
  let negative = false;
  let digits = 0;
  let value = 0;
  if (s[i] === 0x2b || s[i] === 0x2d) {
    negative = s[i] === 0x2d;
    i++;
    w--;
  }
  if (w > 0 && s[i] === 0x30) {
    // A leading 0 is a digit of the number; for hex it may start "0x".
    i++;
    w--;
    digits++;
    if (base === 16 && w > 0 && (s[i] === 0x78 || s[i] === 0x58)) {
      i++;
      w--;
    }
  }
  while (w > 0 && i < end) {
    const d = digitValue(s[i]!, base);
    if (d < 0) break;
    value = value * base + d;
    digits++;
    i++;
    w--;
  }
  if (digits === 0) return null;
  // strtoul of "-N" is 2^64 - N; only the low byte survives the store into a char.
  if (negative) value = -value;
  return { value: value & 0xff, consumed: i - start };
}
