import { strerror } from '../client/strerror.js';
import { xsValueBytes, type LsResult } from '../client/xenstore-tools.js';
import { escapeValue } from './xenstore-escape.js';

/**
 * xenstore-ls's line layout (do_ls in xenstore_client.c, Xen 4.17), reproduced with
 * its arithmetic because scripts and eyes depend on it.
 */
export interface LsLayout {
  /** Line width: 80, or the terminal's width − 2 when stdout is a tty (even with -f). */
  maxWidth: number;
  /** Column the dotted filler of -p pads to: 60, or 0 with -f. */
  desiredWidth: number;
  /** -f: full paths, no indent. */
  wholePath: boolean;
  /** -p: append the permissions. */
  perms: boolean;
}

/** `strlen(" = \"...\"")`: room the layout keeps for the value's frame. */
const TAG_LEN = 8;
/** INT_MAX / 2, the C tool's "no limit" for -f. */
const NO_LIMIT = 0x3fffffff;

/**
 * The layout for `-f`/`-p` given the terminal width (undefined when stdout is not a
 * tty). The C tool sets -f's unlimited width while parsing options and only then asks
 * the terminal, so on a tty even `-f` lines are cut.
 */
export function lsLayout(flat: boolean, perms: boolean, ttyColumns: number | undefined): LsLayout {
  let maxWidth = flat ? NO_LIMIT : 80;
  if (ttyColumns !== undefined) maxWidth = ttyColumns - 2;
  return { maxWidth, desiredWidth: flat ? 0 : 60, wholePath: flat, perms };
}

/** C's "%.*s": a negative precision prints the whole string. */
function upTo(s: string, precision: number): string {
  return precision >= 0 ? s.slice(0, precision) : s;
}

/** The tool's stdout (a byte string) and its warnings (without the program name). */
export function renderLs(result: LsResult, layout: LsLayout): { stdout: string; warnings: string[] } {
  const lines: string[] = [];
  const warnings: string[] = [];
  for (const node of result.nodes) {
    let line: string;
    let width = 0;
    if (layout.wholePath) {
      line = node.path;
    } else {
      width = node.depth;
      const name = upTo(node.name, layout.maxWidth - TAG_LEN - width);
      line = ' '.repeat(node.depth) + name;
      width += name.length;
    }
    if (node.value === null) {
      line += ':\n';
    } else {
      const bytes = xsValueBytes({ value: node.value, encoding: node.encoding });
      const escaped = escapeValue(bytes);
      // The test compares the raw length (not the escaped one) in unsigned arithmetic,
      // so a negative width (a tty of 0 or 1 columns) never cuts.
      if (layout.maxWidth >= 0 && layout.maxWidth < width + bytes.length + TAG_LEN) {
        line += ` = "${upTo(escaped, layout.maxWidth - TAG_LEN - width)}\\..."`;
      } else {
        const shown = ` = "${escaped}"`;
        line += shown;
        width += shown.length;
        if (layout.perms) {
          line += ' ';
          for (width++; width < Math.min(layout.desiredWidth, layout.maxWidth); width++) line += width & 1 ? '.' : ' ';
        }
      }
    }
    if (layout.perms) {
      if (node.perms) line += `  (${node.perms.join(',')})`;
      else warnings.push(`\ncould not access permissions for ${node.name}: ${strerror(node.permsErrno ?? 'EINVAL')}`);
    }
    lines.push(`${line}\n`);
  }
  return { stdout: lines.join(''), warnings };
}
