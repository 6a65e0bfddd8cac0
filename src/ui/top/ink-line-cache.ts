import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { styledChars as dashboardStyledChars } from './ink-cells.js';

/**
 * Ink turns every line of every frame into styled cells (ansi-tokenize's tokenize and
 * styledCharsFromTokens, ~2 µs a character, Intl.Segmenter underneath) and keeps them
 * only for the frame at hand. On a dashboard most lines are the same from one frame to
 * the next, and at 200x60 that work is most of a frame. This keeps the cells of the
 * previous frame's lines for the next one: two generations, so memory stays at two
 * frames' worth whatever runs for how long. Lines that did change are read by
 * ink-cells.ts, which knows the dashboard's few characters and styles, when it can.
 *
 * It reaches into Ink's Output class (ink/build/output.js, not part of Ink's API), so
 * it checks the shape it relies on and changes nothing when that is not there: an Ink
 * upgrade that moves things costs speed, never correctness. test/top/ink-line-cache
 * fails when the pinned Ink no longer has that shape.
 */

interface OutputCachesLike {
  getStyledChars(line: string): unknown;
}
interface OutputLike {
  caches: OutputCachesLike;
  get(): unknown;
}
type OutputClass = (new (options: { width: number; height: number }) => OutputLike) & { prototype: OutputLike };

let installed: Promise<boolean> | null = null;

/** Where Ink's Output module is: beside Ink's entry point (ink's exports map hides it). */
export function inkOutputUrl(): string {
  return pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('ink')), 'output.js')).href;
}

/** Install once per process; resolves false (and leaves Ink alone) if Ink's internals differ. */
export function installInkLineCache(): Promise<boolean> {
  installed ??= install();
  return installed;
}

async function install(): Promise<boolean> {
  let Output: OutputClass;
  try {
    ({ default: Output } = (await import(inkOutputUrl())) as { default: OutputClass });
  } catch {
    return false;
  }
  const sample = typeof Output === 'function' ? new Output({ width: 0, height: 0 }) : null;
  const cachesProto = sample?.caches !== undefined ? (Object.getPrototypeOf(sample.caches) as OutputCachesLike | null) : null;
  if (cachesProto === null || typeof cachesProto.getStyledChars !== 'function' || typeof Output.prototype.get !== 'function') return false;

  const styledChars = cachesProto.getStyledChars;
  const get = Output.prototype.get;
  let previous = new Map<string, unknown>();
  let current = new Map<string, unknown>();
  cachesProto.getStyledChars = function (this: OutputCachesLike, line: string): unknown {
    let chars = current.get(line);
    if (chars === undefined) {
      // The cells are never mutated (Ink copies them into its grid), so sharing is safe.
      chars = previous.get(line) ?? dashboardStyledChars(line) ?? styledChars.call(this, line);
      current.set(line, chars);
    }
    return chars;
  };
  Output.prototype.get = function (this: OutputLike): unknown {
    previous = current;
    current = new Map();
    return get.call(this);
  };
  return true;
}
