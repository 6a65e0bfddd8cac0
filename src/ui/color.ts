import { Chalk, supportsColor, supportsColorStderr, type ChalkInstance, type ColorSupportLevel } from 'chalk';

/**
 * How much colour our own output may carry, and the chalk that writes it. chalk decides
 * for the process's stdout and stderr when it loads: FORCE_COLOR (0-3, "true",
 * "false"), --color / --no-color, TERM=dumb, whether the stream is a terminal and what
 * kind. chalk 5 does not read NO_COLOR, so it is applied on top (no-color.org: set and
 * not empty turns colour off), with FORCE_COLOR still winning, as in Node's own
 * getColorDepth.
 */
export type OutputStream = 'stdout' | 'stderr';

export function colorLevel(stream: OutputStream, env: NodeJS.ProcessEnv = process.env): ColorSupportLevel {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '' && env.FORCE_COLOR === undefined) return 0;
  const detected = stream === 'stdout' ? supportsColor : supportsColorStderr;
  return detected === false ? 0 : detected.level;
}

const instances = new Map<ColorSupportLevel, ChalkInstance>();

/** A chalk at `level`: no escapes at all at 0. */
export function chalkAt(level: ColorSupportLevel): ChalkInstance {
  let c = instances.get(level);
  if (c === undefined) {
    c = new Chalk({ level });
    instances.set(level, c);
  }
  return c;
}

/** The chalk for text written to `stream`. */
export function chalkFor(stream: OutputStream, env: NodeJS.ProcessEnv = process.env): ChalkInstance {
  return chalkAt(colorLevel(stream, env));
}
