/**
 * The slice of C's printf that xl's output formats use, reproduced with glibc's
 * semantics because scripts parse those columns byte for byte:
 *
 * - `%f` rounds the exact binary value of the double to the precision, ties to even
 *   (glibc formats the exact decimal expansion under the current rounding mode, which
 *   is round-to-nearest-even). `0.25` gives `0.2`, `0.35` gives `0.3` because the
 *   double nearest 0.35 is 0.34999999999999997779…
 * - Widths count bytes, not characters: `%-40s` pads a UTF-8 name by its byte length.
 * - Integer conversions take the argument as the C type the length modifier names
 *   (`%d` int, `%u` unsigned int, `%ld`/`%lld` long, `%lu` unsigned long), so an
 *   out-of-range value wraps the way it does in C.
 *
 * Supported: flags `-0+ #`, a decimal width, `.precision`, the length modifiers
 * `hh h l ll z j`, and the conversions `d i u x X o c s f %`.
 */

import { XenemuError } from '../../common/errors.js';

export type CArg = number | bigint | string;

/** A format the emulation does not support; a programming error, not a user one. */
export class CFormatError extends XenemuError {
  constructor(message: string) {
    super('EINVAL', message);
  }
}

const SPEC = /%([-0+ #]*)(\d*)(?:\.(\d*))?(hh|h|ll|l|z|j)?([diuxXocsf%])/g;

/** sprintf(fmt, ...args) with glibc's output for the supported conversions. */
export function cprintf(fmt: string, ...args: readonly CArg[]): string {
  let next = 0;
  const take = (): CArg => {
    if (next >= args.length) throw new CFormatError(`too few arguments for "${fmt}"`);
    return args[next++]!;
  };
  const out = fmt.replace(SPEC, (_m, flags: string, width: string, precision: string | undefined, length: string | undefined, conv: string) => {
    if (conv === '%') return '%';
    const spec: Spec = {
      left: flags.includes('-'),
      zero: flags.includes('0'),
      plus: flags.includes('+'),
      space: flags.includes(' '),
      alt: flags.includes('#'),
      width: width === '' ? 0 : Number(width),
      precision: precision === undefined ? undefined : precision === '' ? 0 : Number(precision),
    };
    const arg = take();
    switch (conv) {
      case 'd':
      case 'i':
        return formatInteger(toCInt(arg, length, true), spec, 10, false);
      case 'u':
        return formatInteger(toCInt(arg, length, false), spec, 10, false);
      case 'x':
        return formatInteger(toCInt(arg, length, false), spec, 16, false);
      case 'X':
        return formatInteger(toCInt(arg, length, false), spec, 16, true);
      case 'o':
        return formatInteger(toCInt(arg, length, false), spec, 8, false);
      case 'c':
        return pad(typeof arg === 'string' ? arg.slice(0, 1) : String.fromCharCode(Number(BigInt.asUintN(8, BigInt(arg)))), spec, false);
      case 's': {
        if (typeof arg !== 'string') throw new CFormatError(`%s needs a string in "${fmt}"`);
        return pad(spec.precision === undefined ? arg : truncateBytes(arg, spec.precision), spec, false);
      }
      case 'f': {
        if (typeof arg === 'string') throw new CFormatError(`%f needs a number in "${fmt}"`);
        return formatFloat(Number(arg), spec);
      }
    }
    throw new CFormatError(`unsupported conversion %${conv}`);
  });
  if (next !== args.length) throw new CFormatError(`too many arguments for "${fmt}"`);
  return out;
}

interface Spec {
  left: boolean;
  zero: boolean;
  plus: boolean;
  space: boolean;
  alt: boolean;
  width: number;
  precision: number | undefined;
}

/** Bytes C would count for a JS string written as UTF-8. */
export function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function truncateBytes(s: string, max: number): string {
  if (byteLength(s) <= max) return s;
  // Cut on the byte count like C does; a split multi-byte character is dropped whole,
  // since a JS string cannot hold half of one.
  let out = '';
  for (const ch of s) {
    if (byteLength(out + ch) > max) break;
    out += ch;
  }
  return out;
}

function pad(body: string, spec: Spec, numeric: boolean, signLength = 0): string {
  const fill = spec.width - byteLength(body);
  if (fill <= 0) return body;
  if (spec.left) return body + ' '.repeat(fill);
  if (numeric && spec.zero) return body.slice(0, signLength) + '0'.repeat(fill) + body.slice(signLength);
  return ' '.repeat(fill) + body;
}

/** The argument as the C integer type of the conversion (wrapping like a C cast). */
function toCInt(arg: CArg, length: string | undefined, signed: boolean): bigint {
  if (typeof arg === 'string') throw new CFormatError('integer conversion of a string');
  if (typeof arg === 'number' && !Number.isInteger(arg)) throw new CFormatError(`integer conversion of ${arg}`);
  const v = BigInt(arg);
  const bits = length === 'hh' ? 8 : length === 'h' ? 16 : length === undefined ? 32 : 64;
  return signed ? BigInt.asIntN(bits, v) : BigInt.asUintN(bits, v);
}

function formatInteger(v: bigint, spec: Spec, radix: number, upper: boolean): string {
  const negative = v < 0n;
  let digits = (negative ? -v : v).toString(radix);
  if (upper) digits = digits.toUpperCase();
  if (spec.precision !== undefined) {
    // An explicit precision is a minimum digit count, and turns off the 0 flag.
    if (spec.precision === 0 && v === 0n) digits = '';
    digits = digits.padStart(spec.precision, '0');
  }
  let prefix = negative ? '-' : radix === 10 && spec.plus ? '+' : radix === 10 && spec.space ? ' ' : '';
  if (spec.alt && v !== 0n && radix === 16) prefix += upper ? '0X' : '0x';
  if (spec.alt && radix === 8 && !digits.startsWith('0')) digits = '0' + digits;
  const zero = spec.zero && spec.precision === undefined;
  return pad(prefix + digits, { ...spec, zero }, true, prefix.length);
}

function formatFloat(x: number, spec: Spec): string {
  const precision = spec.precision ?? 6;
  // A NaN's sign bit is not observable from JS, so NaN always prints as "nan".
  const negative = x < 0 || Object.is(x, -0);
  let body: string;
  let finite = true;
  if (Number.isNaN(x)) {
    body = 'nan';
    finite = false;
  } else if (!Number.isFinite(x)) {
    body = 'inf';
    finite = false;
  } else {
    body = fixedDigits(Math.abs(x), precision);
    if (spec.alt && precision === 0) body += '.';
  }
  const sign = negative ? '-' : spec.plus ? '+' : spec.space ? ' ' : '';
  // C pads inf and nan with spaces even under the 0 flag.
  return pad(sign + body, { ...spec, zero: spec.zero && finite }, true, sign.length);
}

/**
 * The digits of %.Nf for a finite non-negative double: its exact value m·2^e scaled
 * by 10^N and rounded to an integer, ties to even.
 */
export function fixedDigits(x: number, precision: number): string {
  const { mantissa, exponent } = decompose(x);
  const scale = 10n ** BigInt(precision);
  let q: bigint;
  if (exponent >= 0) {
    q = (mantissa << BigInt(exponent)) * scale;
  } else {
    const num = mantissa * scale;
    const den = 1n << BigInt(-exponent);
    q = num / den;
    const twice = (num % den) * 2n;
    if (twice > den || (twice === den && (q & 1n) === 1n)) q += 1n;
  }
  const s = q.toString().padStart(precision + 1, '0');
  return precision === 0 ? s : `${s.slice(0, s.length - precision)}.${s.slice(s.length - precision)}`;
}

/** x = mantissa · 2^exponent exactly, for a finite non-negative double. */
function decompose(x: number): { mantissa: bigint; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  const frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased === 0) return { mantissa: frac, exponent: -1074 };
  return { mantissa: frac | (1n << 52n), exponent: biased - 1075 };
}

/**
 * `(float)v` for a C uint64_t: round to the nearest float, ties to even. Going through
 * a double first would round twice and can differ above 2^53.
 */
export function u64ToFloat(v: bigint | number): number {
  let b = BigInt.asUintN(64, BigInt(v));
  if (b < 1n << 24n) return Number(b);
  const bits = b.toString(2).length;
  const shift = BigInt(bits - 24);
  let top = b >> shift;
  const rest = b & ((1n << shift) - 1n);
  const half = 1n << (shift - 1n);
  if (rest > half || (rest === half && (top & 1n) === 1n)) top += 1n;
  b = top << shift;
  return Number(b);
}

/** xl's `((float)ns / 1e9)`: nanoseconds through a float, then divided as a double. */
export function nsToSecondsLikeXl(ns: bigint | number): number {
  return u64ToFloat(ns) / 1e9;
}
