import type { Color, Line, Seg } from './lines.js';

/**
 * A line of styled segments as one string with SGR escapes, the form Ink's output
 * grid takes. Each segment closes what it opened with the specific reset codes
 * (39 colour, 22 bold/faint, 27 inverse), as chalk does, so that the styles of one
 * segment never leak into the next.
 */

const FOREGROUND: Record<Color, number> = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, white: 37, gray: 90 };
const BOLD = 1;
const FAINT = 2;
const INVERSE = 7;
/** Bold and faint both end with it. */
export const END_INTENSITY = 22;
const END_INVERSE = 27;
const END_FOREGROUND = 39;

/** Every start code this module writes, with the code that ends it (ink-cells.ts reads these). */
export const SGR_CODES: ReadonlyArray<readonly [start: number, end: number]> = [
  [BOLD, END_INTENSITY],
  [FAINT, END_INTENSITY],
  [INVERSE, END_INVERSE],
  ...Object.values(FOREGROUND).map((c) => [c, END_FOREGROUND] as const),
];

function open(s: Seg, color: boolean): string {
  const codes: number[] = [];
  if (s.bold === true) codes.push(BOLD);
  if (color && s.dim === true) codes.push(FAINT);
  if (s.inverse === true) codes.push(INVERSE);
  if (color && s.color !== undefined) codes.push(FOREGROUND[s.color]);
  return codes.length === 0 ? '' : `\x1b[${codes.join(';')}m`;
}

function close(s: Seg, color: boolean): string {
  const codes: number[] = [];
  if (color && s.color !== undefined) codes.push(END_FOREGROUND);
  if (s.inverse === true) codes.push(END_INVERSE);
  if (s.bold === true || (color && s.dim === true)) codes.push(END_INTENSITY);
  return codes.length === 0 ? '' : `\x1b[${codes.join(';')}m`;
}

/** C0 and C1 controls and DEL: in a text, they would be escape sequences for the terminal. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\x00-\x1f\x7f-\x9f]/g;

/**
 * `color` false (NO_COLOR, a dumb terminal): colours and faint go, bold and inverse stay.
 * A control character in a text is shown as "?", one column for one, so that nothing
 * a text carries (a name, a typed value echoed back) can move the cursor or restyle
 * the screen.
 */
export function lineToSgr(line: Line, color: boolean): string {
  let out = '';
  for (const s of line) {
    const text = s.text.replace(CONTROLS, '?');
    const on = open(s, color);
    out += on === '' ? text : on + text + close(s, color);
  }
  return out;
}
