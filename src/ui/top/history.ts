import type { StatsFrame } from '../../protocol/stats.js';

/** How far back the sparklines look. */
export const HISTORY_MS = 60_000;

export interface HistorySample {
  timeMs: number;
  /** Rate of each source of the selected domain, summed over its vCPUs, by source key. */
  sources: Map<string, number>;
  /** Interrupts per second on each vCPU. */
  vcpus: number[];
  /** All sources together (the grid's total row). */
  total: number;
}

/**
 * The selected domain's last minute, kept by the client: one sample per frame that
 * carried its detail. The daemon sends only the present; the sparklines are drawn
 * from here. Selecting another domain starts a new history.
 */
export class History {
  private samples: HistorySample[] = [];
  private domid: number | null = null;

  constructor(private readonly spanMs = HISTORY_MS) {}

  push(frame: StatsFrame): void {
    const sel = frame.selected;
    if (sel === null) return;
    if (sel.domid !== this.domid) {
      this.samples = [];
      this.domid = sel.domid;
    }
    // A subscription's first frame has no rates yet: nothing to draw from it.
    if (frame.elapsedNs === 0) return;
    const sources = new Map<string, number>();
    sel.sources.forEach((s, i) => sources.set(s.key, (sel.rates[i] ?? []).reduce((a, b) => a + b, 0)));
    this.samples.push({ timeMs: frame.timeMs, sources, vcpus: sel.vcpus.map((v) => v.intrPerSec), total: sel.intrPerSec });
    const cutoff = frame.timeMs - this.spanMs;
    let drop = 0;
    while (drop < this.samples.length && this.samples[drop]!.timeMs < cutoff) drop++;
    if (drop > 0) this.samples.splice(0, drop);
  }

  /** The samples of `domid` (none if another domain is being recorded). */
  of(domid: number): readonly HistorySample[] {
    return domid === this.domid ? this.samples : [];
  }

  /**
   * A series cut into `cells` equal time buckets ending at `nowMs`, each the mean of
   * the samples in it (null for a bucket with none): sparklines cover the last minute
   * whatever the delay.
   */
  buckets(domid: number, cells: number, nowMs: number, value: (s: HistorySample) => number): Array<number | null> {
    const out: Array<number | null> = new Array<number | null>(cells).fill(null);
    if (cells <= 0) return out;
    const sums = new Array<number>(cells).fill(0);
    const counts = new Array<number>(cells).fill(0);
    const start = nowMs - this.spanMs;
    const width = this.spanMs / cells;
    for (const s of this.of(domid)) {
      const i = Math.min(cells - 1, Math.floor((s.timeMs - start) / width));
      if (i < 0) continue;
      sums[i]! += value(s);
      counts[i]!++;
    }
    for (let i = 0; i < cells; i++) if (counts[i]! > 0) out[i] = sums[i]! / counts[i]!;
    return out;
  }
}
