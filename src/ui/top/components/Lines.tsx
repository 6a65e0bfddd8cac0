import { Text, Transform, useIsScreenReaderEnabled } from 'ink';
import { lineText, type Line } from '../lines.js';
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
 *
 * A screen reader (INK_SCREEN_READER=true) is given the text itself: in that mode Ink
 * reads out the nodes' text, not what a Transform writes.
 */
export function Lines({ lines, color }: LinesProps) {
  const screenReader = useIsScreenReaderEnabled();
  return (
    <>
      {lines.map((line, i) => {
        if (screenReader) return <Text key={i}>{line.length === 0 ? ' ' : lineText(line)}</Text>;
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
