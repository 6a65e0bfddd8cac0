import { Transform } from 'ink';
import type { Line } from '../lines.js';
import { lineToSgr } from '../sgr.js';

export interface LinesProps {
  lines: readonly Line[];
  /** false under NO_COLOR: colours (and faint) are dropped, bold and inverse stay. */
  color: boolean;
}

/**
 * Lines of styled segments, cut to the width already, so nothing wraps.
 *
 * Each line is a <Transform> over one space that writes the finished line in its place.
 * Ink measures a text node by its text and remembers every text it ever measured
 * (measure-text's cache has no bound, ink#986): a dashboard whose numbers change every
 * second would grow by every line it ever drew. The space is all Ink measures, so that
 * cache holds one entry, and layout skips the work of squashing styled children.
 */
export function Lines({ lines, color }: LinesProps) {
  return (
    <>
      {lines.map((line, i) => {
        const text = lineToSgr(line, color);
        return (
          <Transform key={i} transform={() => text}>
            {' '}
          </Transform>
        );
      })}
    </>
  );
}
