/**
 * A config diagnostic as data, and its one printed form. Imports nothing: the CLI
 * prints what the daemon's config reader found (domain.createFile) without loading
 * that reader.
 */

/** A 1-based position in a config source (a file, or an override argument). */
export interface ConfigLocation {
  file: string;
  line: number;
  column: number;
}

/** One problem found in a config, at a place, about a key ('' when no key applies). */
export interface ConfigIssue extends ConfigLocation {
  key: string;
  message: string;
}

/** Something the config asks for that xenemu reads but does not act on, or a deprecated form. */
export type ConfigWarning = ConfigIssue;

/**
 * Whether a warning is xenemu's note rather than a mistake in the config: a key xenemu
 * reads but does not emulate, or a deprecated form xl still takes (phy:, file:,
 * builder, netdev). xl prints nothing about either, so xenemu shows them only with -v
 * (create, config convert, config check). The others (a multicast or duplicate mac, a
 * key that does not apply to the guest type) point at a likely mistake and are always
 * shown. The messages' wording is the mark: every such note says "not emulated",
 * "deprecated" or "not supported".
 */
export function isVerboseOnly(w: ConfigWarning): boolean {
  return /\b(not emulated|deprecated|not supported)\b/.test(w.message);
}

/** The warnings to print: all of them with -v, else those xl users need to see. */
export function warningsToShow(warnings: readonly ConfigWarning[], verbose: boolean): ConfigWarning[] {
  return verbose ? [...warnings] : warnings.filter((w) => !isVerboseOnly(w));
}

/** `file:line:column: key: message`, the one format of every config diagnostic. */
export function formatIssue(issue: ConfigIssue): string {
  const key = issue.key === '' ? '' : `${issue.key}: `;
  return `${issue.file}:${issue.line}:${issue.column}: ${key}${issue.message}`;
}
