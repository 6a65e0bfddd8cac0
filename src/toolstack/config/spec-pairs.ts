import { XenemuError } from '../../common/errors.js';

/** A problem in a key=value spec string, at `offset` characters into it (for line:column). */
export class SpecError extends XenemuError {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super('EINVAL', message);
  }
}

/**
 * Walk a spec string of comma-separated key=value pairs (a vifspec's syntax, which
 * fits in an xl.cfg list), calling `pair` with each key, value and the value's offset.
 * `what` and `keys` word the error for a token that is not key=value.
 */
export function forEachSpecPair(spec: string, what: string, keys: readonly string[], pair: (key: string, value: string, keyAt: number, valueAt: number) => void): void {
  let pos = 0;
  for (const raw of spec.split(',')) {
    const start = pos;
    pos += raw.length + 1;
    const token = raw.trim();
    const at = start + raw.length - raw.trimStart().length;
    if (token === '') continue;
    const eq = token.indexOf('=');
    if (eq < 0) throw new SpecError(`"${token}" is not key=value: ${what} take ${keys.join(', ')}`, at);
    pair(token.slice(0, eq).trim(), token.slice(eq + 1).trim(), at, at + eq + 1);
  }
}
