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

/** `color` false (NO_COLOR, a dumb terminal): colours and faint go, bold and inverse stay. */
export function lineToSgr(line: Line, color: boolean): string {
  let out = '';
  for (const s of line) {
    const on = open(s, color);
    out += on === '' ? s.text : on + s.text + close(s, color);
  }
  return out;
}
