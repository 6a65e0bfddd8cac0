/** How the terminal's rows are shared: summary, table (header + rows), panel, bottom line. */
export interface ScreenLayout {
  summary: number;
  /** Domain rows, below the table's header line (the last one says "more" when not all fit). */
  tableRows: number;
  panel: number;
  footer: number;
}

/** What the interrupt panel asks for: every line it has, and the ones it needs first. */
export interface PanelNeeds {
  wants: number;
  /** Title, grid header, the sources that fired in the interval, totals: the rest are idle rows. */
  essential: number;
}

/**
 * The table gets at least three rows (fewer domains, fewer rows); the panel then its
 * essential lines within what is left; then the table a row per domain before the
 * panel's idle rows, which get what remains. The parts always add up to `rows`, so
 * the screen is exactly the terminal's height: Ink never scrolls it.
 */
export function screenLayout(rows: number, domains: number, panel: PanelNeeds, summaryWants = 3): ScreenLayout {
  const footer = 1;
  if (rows < 8) {
    return { summary: 0, tableRows: Math.max(0, rows - footer - 1), panel: 0, footer };
  }
  const summary = rows >= 14 ? summaryWants : 1;
  const available = rows - summary - footer - 1;
  const minTable = Math.min(Math.max(1, domains), 3);
  const essential = available - minTable >= 4 ? Math.min(panel.essential, panel.wants, available - minTable) : 0;
  const tableRows = Math.max(minTable, Math.min(domains, available - essential));
  return { summary, tableRows, panel: available - tableRows, footer };
}

/** Domains shown in `rows` table rows: one row less when they do not all fit, for the "more" line. */
export function domainRowsShown(rows: number, domains: number): number {
  return domains > rows ? Math.max(1, rows - 1) : rows;
}
