import type { StatsFrame } from '../../../protocol/stats.js';
import { tableLines, type SortOrder } from '../table.js';
import { Lines } from './Lines.js';

export interface DomainTableProps {
  frame: StatsFrame;
  order: SortOrder;
  selected: number | null;
  scroll: number;
  /** Domain rows (the header line comes on top). */
  rows: number;
  width: number;
  color: boolean;
}

/** xentop's domain table, sorted, the selected row highlighted. */
export function DomainTable(props: DomainTableProps) {
  return <Lines lines={tableLines(props)} color={props.color} />;
}
