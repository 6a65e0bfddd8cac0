import type { StatsFrame } from '../../../protocol/stats.js';
import { summaryLines } from '../summary.js';
import { Lines } from './Lines.js';

export interface SummaryProps {
  frame: StatsFrame;
  width: number;
  height: number;
  color: boolean;
}

/** The host: time, Xen version, domains by state, memory, CPUs. */
export function Summary({ frame, width, height, color }: SummaryProps) {
  const lines = summaryLines(frame, width);
  // On a short terminal only the line with the domain counts is kept.
  return <Lines lines={height >= 3 ? lines.slice(0, height) : lines.slice(1, 1 + height)} color={color} />;
}
