/**
 * Errors and warnings of the domain config readers. Every one names a place
 * (file:line:column), the key it is about, and what to do about it.
 */

import { XenemuError } from '../../common/errors.js';
import { editDistance } from '../../common/edit-distance.js';
import { formatIssue, type ConfigIssue, type ConfigLocation } from './issues.js';

export { formatIssue, isVerboseOnly, warningsToShow, type ConfigIssue, type ConfigLocation, type ConfigWarning } from './issues.js';

/**
 * A config that cannot be used. Carries every issue found (at least one); the
 * location fields are those of the first. `xl create` exits 1 on a config it cannot
 * parse ("Failed to parse config", and nearly every key error in xl_parse.c), so
 * the CLI maps this error to exit status 1.
 */
export class ConfigError extends XenemuError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly key: string;
  /** The first issue's message without its location. */
  readonly reason: string;
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    if (issues.length === 0) throw new TypeError('ConfigError needs at least one issue');
    super('EINVAL', issues.map(formatIssue).join('\n'));
    const first = issues[0]!;
    this.file = first.file;
    this.line = first.line;
    this.column = first.column;
    this.key = first.key;
    this.reason = first.message;
    this.issues = issues;
  }

  /** Each problem on its own line, "file:line:column: key: message", like a compiler. */
  override cliMessage(): string {
    return this.message;
  }

  static at(loc: ConfigLocation, key: string, message: string): ConfigError {
    return new ConfigError([{ file: loc.file, line: loc.line, column: loc.column, key, message }]);
  }
}

/** A path into the config object: keys and list indexes. */
export type ConfigPath = readonly (string | number)[];

/** `xenemu.events[0].rate`: how messages name a place in the config. */
export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}

/** Line and column (1-based) of a character offset in a text. */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/**
 * The candidate a mistyped word was most likely meant to be: same letters in another
 * case, or within an edit distance that grows with the word (1 for short words, up
 * to 3), so `memroy` finds `memory` but `foo` finds nothing.
 */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase().replace(/-/g, '_');
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const cl = c.toLowerCase().replace(/-/g, '_');
    if (cl === lower) return c;
    const d = editDistance(lower, cl);
    const limit = Math.min(3, Math.max(1, Math.floor(Math.min(lower.length, cl.length) / 3)));
    if (d <= limit && d < bestScore) {
      best = c;
      bestScore = d;
    }
  }
  return best;
}

/** ` (did you mean "x"?)` or '' */
export function suggestion(word: string, candidates: Iterable<string>): string {
  const hit = didYouMean(word, candidates);
  return hit === undefined ? '' : ` (did you mean "${hit}"?)`;
}
