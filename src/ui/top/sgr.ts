import type { Color, Line, Seg } from './lines.js';

/**
 * A line of styled segments as one string with SGR escapes, the form Ink's output
 * grid takes. Each segment closes what it opened with the specific reset codes
 * (39 colour, 22 bold/faint, 27 inverse), as chalk does, so that the styles of one
 * segment never leak into the next.
 */

const FOREGROUND: Record<Color, number> = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, white: 37, gray: 90 };

function open(s: Seg, color: boolean): string {
  const codes: number[] = [];
  if (s.bold === true) codes.push(1);
  if (color && s.dim === true) codes.push(2);
  if (s.inverse === true) codes.push(7);
  if (color && s.color !== undefined) codes.push(FOREGROUND[s.color]);
  return codes.length === 0 ? '' : `\x1b[${codes.join(';')}m`;
}

function close(s: Seg, color: boolean): string {
  const codes: number[] = [];
  if (color && s.color !== undefined) codes.push(39);
  if (s.inverse === true) codes.push(27);
  if (s.bold === true || (color && s.dim === true)) codes.push(22);
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
