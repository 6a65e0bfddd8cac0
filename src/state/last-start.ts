/**
 * What the daemon's last start made of the store: the state dir's last-start.json,
 * written by the daemon and read by `xenemu host status` when no daemon runs, and the
 * recovery report inside it (also part of the running daemon's status).
 */

/** A point in the journal: byte `offset` of journal.<seq>. */
export interface JournalPosition {
  readonly seq: number;
  readonly offset: number;
}

/** Journal bytes that belong to the acknowledged history and cannot be applied. */
export interface Dropped {
  /** Frames that pass their CRC but follow the damage, and the entries they hold. */
  frames: number;
  entries: number;
  bytes: number;
  files: number;
}

/** What start-up recovery found and did: logged at every start, shown by `host status`. */
export interface RecoveryReport {
  /** When recovery ran (ISO 8601). */
  readonly at: string;
  readonly storeId: string;
  /** Journal frames and entries that SQLite did not have yet and now has. */
  readonly frames: number;
  readonly entries: number;
  /** Bytes of a write torn by a crash at the journal's end: never acknowledged, dropped. */
  readonly tornBytes: number;
  /** Where the new journal starts (journal.<seq>, first frame). */
  readonly resumeAt: JournalPosition;
  /** Damage found, one sentence each; empty when the store was whole. */
  readonly problems: readonly string[];
  /** What `--recover` could not apply, and where the files holding it are now. */
  readonly dropped: Dropped;
  readonly movedAside: readonly string[];
}

/** What the daemon's last start made of the store (the state dir's last-start.json). */
export type LastStart = { at: string; recovery: RecoveryReport } | { at: string; refused: string };

/** One paragraph for the daemon log and the CLI. */
export function describeRecovery(r: RecoveryReport): string {
  const replayed = `replayed ${r.frames} journal frames (${r.entries} entries)${r.tornBytes > 0 ? `, dropped a torn write of ${r.tornBytes} bytes at the end` : ''}`;
  if (r.problems.length === 0) return `store ${r.storeId}: ${replayed}`;
  const d = r.dropped;
  return [
    `store ${r.storeId}: RECOVERED FROM DAMAGE: ${replayed}; NOT applied: ${d.frames} frames (${d.entries} entries, ${d.bytes} bytes) in ${d.files} files`,
    ...r.problems.map((p) => `  damage: ${p}`),
    ...r.movedAside.map((p) => `  moved aside: ${p}`),
  ].join('\n');
}
