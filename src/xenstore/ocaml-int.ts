/**
 * OCaml's `int_of_string` (runtime/ints.c, parse_intnat on a 63-bit int), which
 * oxenstored 4.17 parses some requests' domids with (RESUME: `domid :: _ ->
 * int_of_string domid`). Accepted: an optional sign, then decimal digits, or 0x/0o/0b/0u
 * and digits of that base, with `_` anywhere after the first digit. null where OCaml
 * raises Failure (no digits, a stray character, or out of range). Values OCaml would
 * wrap (unsigned forms of 2^62 and above) come back unwrapped: they are no domid
 * either way.
 */
export function ocamlIntOfString(text: string): bigint | null {
  let i = 0;
  let negative = false;
  if (text[i] === '-') {
    negative = true;
    i++;
  } else if (text[i] === '+') i++;
  let base = 10;
  let signed = true;
  if (text[i] === '0') {
    const b = BASES[text[i + 1] ?? ''];
    if (b !== undefined) {
      base = b;
      signed = false;
      i += 2;
    }
  }
  const first = digit(text[i], base);
  if (first < 0) return null;
  let value = BigInt(first);
  for (i++; i < text.length; i++) {
    if (text[i] === '_') continue;
    const d = digit(text[i], base);
    if (d < 0) return null;
    value = value * BigInt(base) + BigInt(d);
    if (value > UINTNAT_MAX) return null;
  }
  const limit = 1n << 62n;
  if (signed ? (negative ? value > limit : value >= limit) : value >= limit << 1n) return null;
  return negative ? -value : value;
}

const BASES: Readonly<Record<string, number>> = { x: 16, X: 16, o: 8, O: 8, b: 2, B: 2, u: 10, U: 10 };
const UINTNAT_MAX = (1n << 64n) - 1n;

function digit(c: string | undefined, base: number): number {
  if (c === undefined) return -1;
  const d = parseInt(c, 36);
  return Number.isNaN(d) || d >= base ? -1 : d;
}
