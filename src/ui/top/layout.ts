/** How the terminal's rows are shared: summary, table (header + rows), panel, bottom line. */
export interface ScreenLayout {
  summary: number;
  /** Domain rows, below the table's header line. */
  tableRows: number;
  panel: number;
  footer: number;
}

/**
 * The table gets at least three rows (fewer domains, fewer rows), the panel what it
 * asks for within what is left, and whatever remains after the table has a row per
 * domain goes to the panel. The parts always add up to `rows`, so the screen is
 * exactly the terminal's height: Ink never scrolls it.
 */
export function screenLayout(rows: number, domains: number, panelWants: number): ScreenLayout {
  const footer = 1;
  if (rows < 8) {
    return { summary: 0, tableRows: Math.max(0, rows - footer - 1), panel: 0, footer };
  }
  const summary = rows >= 14 ? 3 : 1;
  const available = rows - summary - footer - 1;
  const minTable = Math.min(Math.max(1, domains), 3);
  const panel = available - minTable >= 4 ? Math.min(panelWants, available - minTable) : 0;
  const tableRows = Math.max(minTable, Math.min(domains, available - panel));
  return { summary, tableRows, panel: available - tableRows, footer };
}
