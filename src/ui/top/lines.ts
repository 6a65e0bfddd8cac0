/**
 * The dashboard is drawn as lines of styled segments, computed by pure functions
 * (this folder's *-lines.ts and model.ts) and printed by one small Ink component
 * (Lines.tsx). Every line is cut to the terminal width here, so Ink never wraps and
 * the screen is always exactly as tall as the terminal: that is what keeps a resize
 * clean and the layout stable at 80x24.
 */

export type Color = 'red' | 'green' | 'yellow' | 'blue' | 'magenta' | 'cyan' | 'gray' | 'white';

export interface Seg {
  text: string;
  color?: Color;
  bold?: boolean;
  inverse?: boolean;
  dim?: boolean;
}

export type Line = Seg[];

export function seg(text: string, style: Omit<Seg, 'text'> = {}): Seg {
  return { text, ...style };
}

export function lineText(line: Line): string {
  return line.map((s) => s.text).join('');
}

/**
 * Cut a line to `width` columns (all text here is one column per UTF-16 unit). It is
 * not padded: Ink trims the end of every line anyway, and each character Ink is
 * given costs it time; a styled row that must reach the edge pads itself.
 */
export function fit(line: Line, width: number): Line {
  const out: Line = [];
  let left = width;
  for (const s of line) {
    if (left <= 0) break;
    if (s.text.length <= left) {
      out.push(s);
      left -= s.text.length;
    } else {
      out.push({ ...s, text: s.text.slice(0, left) });
      left = 0;
    }
  }
  return out;
}

/** Exactly `count` lines: the first ones of `lines`, then blank ones. */
export function block(lines: readonly Line[], count: number): Line[] {
  const out = lines.slice(0, Math.max(0, count));
  while (out.length < count) out.push([]);
  return out;
}

/** Pad (right-align) or cut a string to a width. */
export function right(s: string, width: number): string {
  return s.length >= width ? s.slice(s.length - width) : ' '.repeat(width - s.length) + s;
}

export function left(s: string, width: number): string {
  return s.length >= width ? s.slice(0, width) : s + ' '.repeat(width - s.length);
}

/** A rate or count in at most 5 columns: 999, 1.2k, 12k, 123k, 1.2M. */
export function human(n: number): string {
  if (!Number.isFinite(n) || n <= 0) return '0';
  if (n < 10) return n < 1 ? n.toFixed(1).replace(/^0/, '') : n.toFixed(1).replace(/\.0$/, '');
  if (n < 1000) return String(Math.round(n));
  for (const [unit, div] of [
    ['k', 1e3],
    ['M', 1e6],
    ['G', 1e9],
    ['T', 1e12],
  ] as const) {
    const v = n / div;
    if (v < 9.95) return `${v.toFixed(1)}${unit}`;
    if (v < 999.5) return `${Math.round(v)}${unit}`;
  }
  return n.toExponential(0);
}

/** Seconds as "3d 04:05:06" / "04:05:06". */
export function uptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const hms = [Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60), s % 60].map((x) => String(x).padStart(2, '0')).join(':');
  return d > 0 ? `${d}d ${hms}` : hms;
}

/** HH:MM:SS of a wall-clock time, local time, as xentop's strftime("%H:%M:%S"). */
export function clock(ms: number): string {
  const t = new Date(ms);
  return [t.getHours(), t.getMinutes(), t.getSeconds()].map((x) => String(x).padStart(2, '0')).join(':');
}
