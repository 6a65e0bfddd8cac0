import { atoi, strtol, toInt32 } from '../common/c-number.js';
import { XenemuError } from '../common/errors.js';

/**
 * Permission strings the way libxenstore handles them, so that our tools print what
 * the C tools print even when a daemon stores an odd spelling: the C tools never show
 * the daemon's text, they parse it (xenstore_strings_to_perms: a letter, then strtol
 * base 0 into an unsigned int) and print it back with "%c%i".
 */

const PERM_LETTERS = new Set(['r', 'w', 'b', 'n']);

/** GET_PERMS reply entries → the text `xenstore-ls -p` prints; null where libxenstore fails (EINVAL). */
export function normalisePerms(entries: readonly string[]): string[] | null {
  const out: string[] = [];
  for (const e of entries) {
    const letter = e[0] ?? '';
    if (!PERM_LETTERS.has(letter)) return null;
    const digits = e.slice(1);
    const { value, end } = strtol(digits, 0);
    if (digits.length === 0 || end !== digits.length) return null;
    out.push(`${letter}${toInt32(value)}`);
  }
  return out;
}

/** A perm argument of xenstore-chmod that does not start with r, w, b or n. */
export class InvalidPermSpec extends XenemuError {
  constructor(readonly letter: string) {
    super('EINVAL', `Invalid permission specification: '${letter}'`);
  }
}

/**
 * xenstore-chmod's perm arguments → the SET_PERMS entries it sends: the letter, then
 * atoi() of the rest, formatted "%i" (so `r1x` → `r1`, `b999999999999` → `b-727379969`).
 * An empty argument has the letter NUL, which the tool prints as a NUL byte.
 */
export function parsePermSpecs(specs: readonly string[]): string[] {
  return specs.map((spec) => {
    const letter = spec.length > 0 ? spec[0]! : '\0';
    if (!PERM_LETTERS.has(letter)) throw new InvalidPermSpec(letter);
    return `${letter}${atoi(spec.slice(1))}`;
  });
}
