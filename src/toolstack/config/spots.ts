/**
 * Where each value of a config's input object came from, so that an issue found
 * about a path (`disk[1].vdev`) can name its line and column in the source.
 */

import type { ConfigPath } from './errors.js';

/** A place in a source: file, 1-based line and column of a value's first character. */
export interface SourceSpot {
  file: string;
  line: number;
  column: number;
  /** Column of a string's first content character, when its content maps 1:1 onto one source line. */
  contentColumn?: number;
}

export class SpotMap {
  private readonly values = new Map<string, SourceSpot>();
  private readonly keys = new Map<string, SourceSpot>();

  /** Where the value at `path` is. */
  set(path: ConfigPath, spot: SourceSpot): void {
    this.values.set(JSON.stringify(path), spot);
  }

  /** Where the key naming the value at `path` is (YAML mappings). */
  setKey(path: ConfigPath, spot: SourceSpot): void {
    this.keys.set(JSON.stringify(path), spot);
  }

  /** Forget a (non-empty) path and everything below it: a value replaced by an override. */
  clear(path: ConfigPath): void {
    const exact = JSON.stringify(path);
    const prefix = `${exact.slice(0, -1)},`;
    for (const map of [this.values, this.keys]) {
      for (const k of [...map.keys()]) if (k === exact || k.startsWith(prefix)) map.delete(k);
    }
  }

  /** Every recorded value spot, for copying between maps. */
  entries(): [ConfigPath, SourceSpot][] {
    return [...this.values].map(([k, v]) => [JSON.parse(k) as ConfigPath, v]);
  }

  /** The spot of a path, or of its nearest recorded ancestor; `exact` says which. */
  find(path: ConfigPath): { spot: SourceSpot; exact: boolean } | undefined {
    for (let n = path.length; n >= 0; n--) {
      const s = this.values.get(JSON.stringify(path.slice(0, n)));
      if (s) return { spot: s, exact: n === path.length };
    }
    return undefined;
  }

  /** The spot of the key of `path`, when one was recorded. */
  findKey(path: ConfigPath): { spot: SourceSpot; exact: boolean } | undefined {
    const s = this.keys.get(JSON.stringify(path));
    return s ? { spot: s, exact: false } : undefined;
  }
}
