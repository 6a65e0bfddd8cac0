import type { Clock, Timer } from './clock.js';

/**
 * Something a domain's timer wheel fires: a vCPU's periodic timer (VIRQ_TIMER), an
 * emulated LAPIC timer, or an emulated device producing events at a rate.
 */
export interface TimerSink {
  /** Called with the number of expiries (ticks, device events) since the last call, n ≥ 1. */
  fire(n: number, nowNs: number): void;
}

interface Entry {
  sink: TimerSink;
  /** Expiries per second (1e9 / period for periodic timers). */
  rate: number;
  startNs: number;
  /** Expiries delivered so far. */
  fired: number;
  /** When the next expiry falls due. */
  nextNs: number;
  cancelled: boolean;
}

/**
 * floor(elapsed × rate / 1e9): how many expiries of a timer at `rate` per second fall
 * in `elapsedNs`, exact for whole-numbered rates (the seconds and the remainder are
 * multiplied apart, so nothing exceeds 2^53 for rates up to a million per second).
 */
export function expiriesBy(elapsedNs: number, rate: number): number {
  if (elapsedNs <= 0) return 0;
  const secs = Math.floor(elapsedNs / 1e9);
  const rem = elapsedNs - secs * 1e9;
  return Math.floor(secs * rate + (rem * rate) / 1e9 + 1e-9);
}

export interface TimerHandle {
  cancel(): void;
  /** Where the timer is in its run, for a save: load passes it back to continue in phase. */
  phase(): TimerPhase;
}

/**
 * A timer's progress, independent of any clock: how long ago it started and how many
 * expiries it has delivered. A timer resumed from it on another clock falls due at
 * the same offsets and counts on from `fired`, so no tick is lost or repeated.
 */
export interface TimerPhase {
  elapsedNs: number;
  fired: number;
}

/**
 * The timers of one domain, on one clock timer. Xen runs a vCPU's periodic timer and
 * its emulated devices' timers on the physical CPU's timer heap, and coalesces expiries
 * that fall within `timer_slop` of each other into one interrupt. xenemu does the
 * same with a much larger slop: every expiry of a domain is rounded up to the next
 * multiple of the host's slop (one second by default), and one clock timer per domain
 * delivers everything due at that instant. A 100 Hz timer on 1000 idle domains with
 * 4 vCPUs each then costs one clock timer per domain per second instead of 400, and
 * each delivery carries the number of expiries it stands for, so a guest that counts
 * ticks (FreeBSD's hardclock(cnt), Linux's old xen timer_interrupt) counts every one.
 * When someone looks (flush), whatever is due is delivered at once, so the counts
 * they read are exact although nobody paid for them meanwhile.
 *
 * Counting is exact on the clock: expiry k of an entry falls at start + k / rate, and
 * a delivery at time T carries floor((T - start) × rate) - delivered expiries.
 */
export class DomainTimers {
  private readonly entries: Entry[] = [];
  private timer: Timer | null = null;
  private timerAt = Infinity;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly slopNs: () => number,
  ) {}

  /** A periodic timer: `periodNs` between expiries, the first one period from now. */
  periodic(periodNs: number, sink: TimerSink, resume?: TimerPhase): TimerHandle {
    return this.add(1e9 / periodNs, sink, resume);
  }

  /** An event source at `perSecond` events per second (fractions allowed). */
  rate(perSecond: number, sink: TimerSink, resume?: TimerPhase): TimerHandle {
    return this.add(perSecond, sink, resume);
  }

  /** A new timer, or one continuing from a saved phase. */
  private add(rate: number, sink: TimerSink, resume: TimerPhase = { elapsedNs: 0, fired: 0 }): TimerHandle {
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`a timer needs a positive rate, not ${rate}`);
    const startNs = this.clock.now() - resume.elapsedNs;
    const fired = resume.fired;
    const e: Entry = { sink, rate, startNs, fired, nextNs: startNs + ((fired + 1) * 1e9) / rate, cancelled: false };
    this.entries.push(e);
    this.arm();
    return {
      cancel: () => {
        if (e.cancelled) return;
        e.cancelled = true;
        const i = this.entries.indexOf(e);
        if (i >= 0) this.entries.splice(i, 1);
        this.arm();
      },
      phase: () => ({ elapsedNs: this.clock.now() - e.startNs, fired: e.fired }),
    };
  }

  /** Expiries of `e` due by `t`. */
  private static due(e: Entry, t: number): number {
    return expiriesBy(t - e.startNs, e.rate);
  }

  /** Make sure the clock timer is set for the earliest expiry, rounded up to the slop. */
  private arm(): void {
    if (this.closed) return;
    let next = Infinity;
    for (const e of this.entries) if (e.nextNs < next) next = e.nextNs;
    if (next === Infinity) {
      this.timer?.cancel();
      this.timer = null;
      this.timerAt = Infinity;
      return;
    }
    const slop = Math.max(1, this.slopNs());
    const at = Math.ceil(next / slop) * slop;
    if (this.timer !== null && this.timerAt <= at) return;
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = this.clock.after(Math.max(0, at - this.clock.now()), () => this.run());
  }

  private run(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = this.clock.now();
    // Entries may be added or cancelled by the sinks; work on a copy.
    for (const e of this.entries.slice()) {
      if (e.cancelled || e.nextNs > now) continue;
      const due = DomainTimers.due(e, now);
      const n = due - e.fired;
      e.fired = due;
      e.nextNs = e.startNs + ((due + 1) * 1e9) / e.rate;
      if (n > 0) e.sink.fire(n, now);
    }
    this.arm();
  }

  /**
   * Deliver now whatever fell due since the last delivery, without waiting for the
   * slop boundary: someone is looking at the counts, and they should be exact.
   */
  flush(): void {
    if (this.closed) return;
    const now = this.clock.now();
    if (this.entries.some((e) => e.nextNs <= now)) {
      this.timer?.cancel();
      this.timer = null;
      this.timerAt = Infinity;
      this.run();
    }
  }

  /** Stop everything (the domain is being destroyed). */
  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = null;
    this.entries.length = 0;
  }

  get size(): number {
    return this.entries.length;
  }
}
