import { chalkAt } from '../color.js';
import type { Color, Line, Seg } from './lines.js';

/**
 * A line of styled segments as one string with SGR escapes, the form Ink's output
 * grid takes, written by chalk: each segment opens its styles and closes them with
 * their own reset codes (39 colour, 22 bold/faint, 27 inverse), so that the styles of
 * one segment never leak into the next.
 *
 * The dashboard is a full-screen terminal program: bold and inverse (the header, the
 * selection) are always written, at chalk's basic level; colours and faint only when
 * colour is on (see colorLevel in ../color.ts).
 */

const CHALK = chalkAt(1);

type Style = 'bold' | 'dim' | 'inverse' | Color;
const STYLES: readonly Style[] = ['bold', 'dim', 'inverse', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white', 'gray'];

/** The SGR parameters chalk opens and closes `style` with. */
function codesOf(style: Style): readonly [start: number, end: number] {
  // eslint-disable-next-line no-control-regex -- reading chalk's escapes is the point
  const m = /^\x1b\[(\d+)mx\x1b\[(\d+)m$/.exec(CHALK[style]('x'));
  if (m === null) throw new Error(`chalk wrote ${JSON.stringify(CHALK[style]('x'))} for ${style}: not one SGR code each side`);
  return [Number(m[1]), Number(m[2])];
}

/** Every start code this module writes, with the code that ends it (ink-cells.ts reads these). */
export const SGR_CODES: ReadonlyArray<readonly [start: number, end: number]> = STYLES.map(codesOf);

/** Bold and faint both end with it. */
export const END_INTENSITY = codesOf('bold')[1];

/** One chalk chain per combination of styles, made once. */
const stylers = new Map<number, (text: string) => string>();

function stylerFor(s: Seg, color: boolean): ((text: string) => string) | null {
  const dim = color && s.dim === true;
  const fg = color ? s.color : undefined;
  if (s.bold !== true && !dim && s.inverse !== true && fg === undefined) return null;
  const key = (s.bold === true ? 1 : 0) | (dim ? 2 : 0) | (s.inverse === true ? 4 : 0) | ((fg === undefined ? 0 : STYLES.indexOf(fg)) << 3);
  let styler = stylers.get(key);
  if (styler === undefined) {
    let c = CHALK;
    if (s.bold === true) c = c.bold;
    if (dim) c = c.dim;
    if (s.inverse === true) c = c.inverse;
    if (fg !== undefined) c = c[fg];
    styler = c;
    stylers.set(key, styler);
  }
  return styler;
}

/** C0 and C1 controls and DEL: in a text, they would be escape sequences for the terminal. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\x00-\x1f\x7f-\x9f]/g;

/**
 * `color` false (NO_COLOR, a terminal without colours): colours and faint go, bold and
 * inverse stay. A control character in a text is shown as "?", one column for one, so
 * that nothing a text carries (a name, a typed value echoed back) can move the cursor
 * or restyle the screen.
 */
export function lineToSgr(line: Line, color: boolean): string {
  let out = '';
  for (const s of line) {
    const text = s.text.replace(CONTROLS, '?');
    const styler = stylerFor(s, color);
    out += styler === null ? text : styler(text);
  }
  return out;
}
