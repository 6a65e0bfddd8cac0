/**
 * Ink's styled cells for the lines the dashboard writes, without Ink's tokenizer.
 *
 * Ink splits every line into graphemes with Intl.Segmenter and parses each escape
 * (ansi-tokenize), ~2 µs a character. The dashboard's lines (sgr.ts) use a handful of
 * one-column characters and a handful of SGR codes, so they can be read in one pass
 * of charCodeAt. This gives the same cells as ansi-tokenize's
 * styledCharsFromTokens(tokenize(line)) (test/top/ink-cells.test.ts holds it to that),
 * or null for anything else, which then goes the long way.
 */

import { END_INTENSITY, SGR_CODES } from './sgr.js';

export interface AnsiCode {
  type: 'ansi';
  code: string;
  endCode: string;
}

export interface StyledChar {
  type: 'char';
  value: string;
  fullWidth: boolean;
  styles: AnsiCode[];
}

const sgr = (param: string): string => `\x1b[${param}m`;

/** The start codes sgr.ts writes, by their parameter, with the code that ends each. */
const START = new Map<string, AnsiCode>(SGR_CODES.map(([start, end]) => [String(start), { type: 'ansi', code: sgr(String(start)), endCode: sgr(String(end)) }]));
const END = new Set(SGR_CODES.map(([, end]) => String(end)));
const RESET = '0';
const INTENSITY_END = sgr(String(END_INTENSITY));

/**
 * One-column characters Intl.Segmenter keeps as one grapheme each: printable ASCII
 * and the dashboard's symbols (µ · … ↑ ↓, block elements and shades, box drawing).
 */
function plain(c: number): boolean {
  return (c >= 0x20 && c <= 0x7e) || c === 0xb5 || c === 0xb7 || c === 0x2026 || c === 0x2191 || c === 0x2193 || (c >= 0x2500 && c <= 0x259f);
}

/** As ansi-tokenize's reduceAnsiCodesIncremental, for one parameter of the table above. */
function apply(styles: AnsiCode[], param: string): AnsiCode[] | null {
  if (param === RESET) return [];
  if (END.has(param)) {
    const end = sgr(param);
    return styles.filter((s) => s.endCode !== end);
  }
  const start = START.get(param);
  if (start === undefined) return null;
  // Bold and faint share their end code and live side by side.
  if (start.endCode === INTENSITY_END) return styles.some((s) => s.code === start.code) ? styles : [...styles, start];
  return [...styles.filter((s) => s.endCode !== start.endCode), start];
}

/** The cells of `line`, or null when it holds anything this reader does not know. */
export function styledChars(line: string): StyledChar[] | null {
  const out: StyledChar[] = [];
  // Shared by the cells of one run: nothing changes a cell's styles after this.
  let styles: AnsiCode[] = [];
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 0x1b) {
      // ESC [ params m, params ';'-separated
      if (line.charCodeAt(i + 1) !== 0x5b) return null;
      const m = line.indexOf('m', i + 2);
      if (m === -1) return null;
      for (const param of line.slice(i + 2, m).split(';')) {
        const next = apply(styles, param);
        if (next === null) return null;
        styles = next;
      }
      i = m;
    } else if (plain(c)) {
      out.push({ type: 'char', value: line[i]!, fullWidth: false, styles });
    } else {
      return null;
    }
  }
  return out;
}
