import type { DomainStats, SelectedDomainStats, StatsFrame } from '../../src/protocol/stats.js';
import type { StatsFeed } from '../../src/ui/top/feed.js';

/** A domain row with xenemu's usual values; override what a test is about. */
export function domain(domid: number, name: string, over: Partial<DomainStats> = {}): DomainStats {
  return {
    domid,
    name,
    state: { dying: false, shutdown: false, blocked: domid !== 0, crashed: false, paused: false, running: domid === 0 },
    cpuNs: 0,
    cpuPct: 0,
    memKiB: 524288,
    maxMemKiB: 524288,
    vcpus: 2,
    vcpusOnline: 2,
    nets: [],
    vbds: [],
    ssid: 0,
    eventsPerSec: 0,
    ...over,
  };
}

/** The detail of a selected domain with `vcpus` vCPUs and the given sources' per-vCPU rates. */
export function detail(domid: number, name: string, sources: Array<{ name: string; handler?: 'filter' | 'ithread' | 'both' | 'none'; kind?: string; rates: number[] }>, vcpus = sources[0]?.rates.length ?? 2): SelectedDomainStats {
  return {
    domid,
    name,
    callback: { mode: 'vector', label: 'vector 0x93' },
    evtchn: {
      inUse: 12,
      max: 1023,
      byState: { unbound: 1, interdomain: 3, virq: 6, ipi: 2, pirq: 0 },
      perVcpu: new Array<number>(vcpus).fill(0),
      rates: { sends: 1, raises: 250, coalesced: 3, masked: 0, kicks: 240 },
    },
    counters: 'kernel',
    hz: 250,
    sources: sources.map((s) => ({ key: `${s.kind ?? 'port'}:${s.name}`, name: s.name, kind: s.kind ?? 'port', handler: s.handler ?? 'filter' })),
    rates: sources.map((s) => s.rates),
    totals: sources.map((s) => s.rates.reduce((a, b) => a + b, 0) * 10),
    vcpus: Array.from({ length: vcpus }, (_, v) => ({
      id: v,
      online: true,
      pcpu: v % 4,
      cpuPct: 1.5 * v,
      intrPerSec: sources.filter((s) => (s.kind ?? 'port') !== 'upcall').reduce((a, s) => a + (s.rates[v] ?? 0), 0),
      upcallsPerSec: 10,
    })),
    intrPerSec: sources.filter((s) => (s.kind ?? 'port') !== 'upcall').reduce((a, s) => a + s.rates.reduce((x, y) => x + y, 0), 0),
    handlerShare: { filter: 75, ithread: 25 },
  };
}

export function frame(domains: DomainStats[], over: Partial<StatsFrame> = {}): StatsFrame {
  return {
    seq: 2,
    timeMs: Date.UTC(2026, 0, 1, 12, 0, 0),
    elapsedNs: 1e9,
    intervalMs: 1000,
    host: { hostname: 'testhost', xenVersion: '4.17.7-xenemu', pcpus: 4, cpuMhz: 2400, totalKiB: 16777216, freeKiB: 14000000, uptimeSec: 3723, faults: [] },
    domains,
    selected: null,
    ...over,
  };
}

/** A feed driven by the test: `push` a frame, and see what the dashboard asked for. */
export class FakeFeed implements StatsFeed {
  readonly selects: Array<number | null> = [];
  readonly intervals: number[] = [];
  closed = false;
  private latest: StatsFrame | null = null;
  private readonly frames = new Set<(f: StatsFrame) => void>();
  private readonly lost = new Set<(e: Error) => void>();
  /** What select() answers, by domid. */
  details = new Map<number, SelectedDomainStats>();

  push(f: StatsFrame): void {
    this.latest = f;
    for (const l of this.frames) l(f);
  }

  loseDaemon(): void {
    for (const l of this.lost) l(new Error('the xenemu daemon closed the connection (it stopped or crashed)'));
  }

  onFrame(listener: (f: StatsFrame) => void): () => void {
    this.frames.add(listener);
    if (this.latest !== null) listener(this.latest);
    return () => this.frames.delete(listener);
  }

  onLost(listener: (e: Error) => void): () => void {
    this.lost.add(listener);
    return () => this.lost.delete(listener);
  }

  async select(domid: number | null): Promise<SelectedDomainStats | null> {
    this.selects.push(domid);
    return domid === null ? null : (this.details.get(domid) ?? null);
  }

  async setInterval(ms: number): Promise<void> {
    this.intervals.push(ms);
  }

  close(): void {
    this.closed = true;
  }
}

/** Poll `check` until it holds: tests wait on states, never on time (the deadline is only a backstop). */
export async function until<T>(check: () => T | undefined | false | null, what: string, deadlineMs = 10_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false && v !== null) return v;
    if (Date.now() > end) throw new Error(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
