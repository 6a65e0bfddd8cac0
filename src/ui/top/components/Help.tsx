import { block } from '../lines.js';
import { helpLines } from '../summary.js';
import { Lines } from './Lines.js';

export interface HelpProps {
  width: number;
  height: number;
  color: boolean;
}

/** The keys, over the table and the panel; any key closes it. */
export function Help({ width, height, color }: HelpProps) {
  return <Lines lines={block(helpLines(width, height), height)} color={color} />;
}
