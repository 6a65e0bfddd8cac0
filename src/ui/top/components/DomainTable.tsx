import { tableLines, type TableView } from '../table.js';
import { Lines } from './Lines.js';

export type DomainTableProps = TableView & { color: boolean };

/** xentop's domain table, sorted, the selected row highlighted. */
export function DomainTable(props: DomainTableProps) {
  return <Lines lines={tableLines(props)} color={props.color} />;
}
