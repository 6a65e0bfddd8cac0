import { Text } from 'ink';
import type { Line } from '../lines.js';

export interface LinesProps {
  lines: readonly Line[];
  /** false under NO_COLOR: colours (and faint) are dropped, bold and inverse stay. */
  color: boolean;
}

/** Lines of styled segments, one Ink <Text> each; they arrive cut to the width, so nothing wraps. */
export function Lines({ lines, color }: LinesProps) {
  return (
    <>
      {lines.map((line, i) => (
        <Text key={i} wrap="truncate-end">
          {line.length === 0
            ? ' '
            : line.map((s, j) => (
                <Text key={j} color={color ? s.color : undefined} dimColor={color && s.dim === true} bold={s.bold === true} inverse={s.inverse === true}>
                  {s.text}
                </Text>
              ))}
        </Text>
      ))}
    </>
  );
}
