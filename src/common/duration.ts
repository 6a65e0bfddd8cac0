/** Units a duration may carry, in milliseconds; a bare number is seconds, as sleep(1) reads it. */
const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, '': 1000, m: 60_000, h: 3_600_000 };

/** "250ms", "2s", "1.5m", "1h" or "3" (seconds) in milliseconds; null when it is none of these. */
export function parseDurationMs(text: string): number | null {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|)$/.exec(text.trim());
  if (m === null) return null;
  const ms = Math.round(Number(m[1]) * UNITS[m[2]!]!);
  return Number.isSafeInteger(ms) ? ms : null;
}

/** A duration for people: "250 ms", "2 s", "1 m 30 s". */
export function formatDurationMs(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return s === 0 ? `${m} m` : `${m} m ${s} s`;
}
