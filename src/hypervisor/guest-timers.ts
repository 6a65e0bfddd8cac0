import { VIRQ } from '../abi/index.js';
import type { Domain } from './domain.js';
import type { DomainTimers, TimerHandle, TimerPhase } from './vtimers.js';

/** A vCPU timer or LAPIC timer as saved: its period and where it is in its run. */
export interface SavedPeriodicTimer {
  vcpu: number;
  periodNs: number;
  phase: TimerPhase;
}

/** An emulated event source as saved: its rate, its phase, and its unread count (its status register). */
export interface SavedEventSource {
  port: number;
  perSecond: number;
  phase: TimerPhase;
  posted: number;
  total: number;
}

/** Everything time-driven a domain has armed (what GuestTimers.save returns). */
export interface SavedTimers {
  vcpu: SavedPeriodicTimer[];
  lapic: SavedPeriodicTimer[];
  sources: SavedEventSource[];
}

/** What a guest's emulated LAPIC timer interrupt runs (the guest's IDT handler for its vector). */
export type LapicIsr = (vcpu: number) => void;

interface Periodic {
  handle: TimerHandle;
  periodNs: number;
}

interface Source {
  handle: TimerHandle;
  perSecond: number;
  /** Events posted and not yet taken, and all events ever posted. */
  counts: { posted: number; total: number };
}

/**
 * The timers a domain has armed, on the domain's own timer wheel: each vCPU's periodic
 * timer (VCPUOP_set_periodic_timer, which raises VIRQ_TIMER), the emulated LAPIC timers
 * of HVM vCPUs, and xenemu's emulated event sources. They belong to the domain, as
 * Xen's per-vCPU periodic_timer and vlapic timers do, so they go with it when it is
 * destroyed and are saved with it.
 */
export class GuestTimers {
  private readonly vcpu: Array<Periodic | undefined> = [];
  private readonly lapic: Array<(Periodic & { isr: LapicIsr }) | undefined> = [];
  private readonly sources = new Map<number, Source>();

  constructor(
    private readonly domain: Domain,
    /** The domain's timer wheel (expiries coalesced to the host's slop). */
    readonly wheel: DomainTimers,
  ) {}

  /** The vCPU's periodic timer: VIRQ_TIMER every `periodNs` (the caller checked the period). */
  startVcpu(vcpu: number, periodNs: number, resume?: TimerPhase): void {
    const d = this.domain;
    this.vcpu[vcpu]?.handle.cancel();
    const handle = this.wheel.periodic(
      periodNs,
      {
        fire: () => {
          // A vCPU that is down takes no timer interrupts (its timer is stopped when it
          // goes down; this covers a racing expiry).
          if (d.vcpus[vcpu]?.online) d.evtchn?.raiseVirq(VIRQ.TIMER, vcpu);
        },
      },
      resume,
    );
    this.vcpu[vcpu] = { handle, periodNs };
  }

  /** The period of the vCPU's periodic timer, if it has one running (Xen's v->periodic_period). */
  vcpuPeriodNs(vcpu: number): number | undefined {
    return this.vcpu[vcpu]?.periodNs;
  }

  stopVcpu(vcpu: number): void {
    this.vcpu[vcpu]?.handle.cancel();
    this.vcpu[vcpu] = undefined;
  }

  /** An HVM vCPU's LAPIC timer in periodic mode: `isr` runs on each expiry, unless the domain is not running. */
  startLapic(vcpu: number, periodNs: number, isr: LapicIsr, resume?: TimerPhase): void {
    const d = this.domain;
    this.lapic[vcpu]?.handle.cancel();
    const handle = this.wheel.periodic(
      periodNs,
      {
        // A timer expiry is not a hypercall: the interrupt is taken at once.
        fire: () => {
          if (d.vcpus[vcpu]?.online && !d.paused && d.shutdownReason === null && !d.dying) isr(vcpu);
        },
      },
      resume,
    );
    this.lapic[vcpu] = { handle, periodNs, isr };
  }

  stopLapic(vcpu: number): void {
    this.lapic[vcpu]?.handle.cancel();
    this.lapic[vcpu] = undefined;
  }

  /** An emulated device raising `port` at `perSecond`, posting its events for the guest to take. */
  attachSource(port: number, perSecond: number, saved?: Omit<SavedEventSource, 'port' | 'perSecond'>): void {
    const d = this.domain;
    this.sources.get(port)?.handle.cancel();
    const counts = { posted: saved?.posted ?? 0, total: saved?.total ?? 0 };
    const handle = this.wheel.rate(
      perSecond,
      {
        fire: (n) => {
          counts.posted += n;
          counts.total += n;
          d.evtchn?.raise(port);
        },
      },
      saved?.phase,
    );
    this.sources.set(port, { handle, perSecond, counts });
  }

  detachSource(port: number): void {
    this.sources.get(port)?.handle.cancel();
    this.sources.delete(port);
  }

  /** The events the source on `port` posted since the last take (read and cleared). */
  takeSource(port: number): number {
    const src = this.sources.get(port);
    if (src === undefined) return 0;
    const n = src.counts.posted;
    src.counts.posted = 0;
    return n;
  }

  /** Stop everything (the domain is being destroyed). */
  close(): void {
    this.wheel.close();
    this.vcpu.length = 0;
    this.lapic.length = 0;
    this.sources.clear();
  }

  save(): SavedTimers {
    const periodic = (list: Array<Periodic | undefined>): SavedPeriodicTimer[] =>
      list.flatMap((t, vcpu) => (t === undefined ? [] : [{ vcpu, periodNs: t.periodNs, phase: t.handle.phase() }]));
    return {
      vcpu: periodic(this.vcpu),
      lapic: periodic(this.lapic),
      sources: [...this.sources].map(([port, s]) => ({ port, perSecond: s.perSecond, phase: s.handle.phase(), ...s.counts })),
    };
  }

  /**
   * Arm what `saved` held, each in phase. A LAPIC timer's interrupt handler is the
   * guest's (its IDT entry), not hypervisor state: the loader passes the restored
   * guest's, and without one the LAPIC timers stay disarmed until the guest arms them.
   */
  load(saved: SavedTimers, lapicIsr?: LapicIsr): void {
    for (const t of saved.vcpu) this.startVcpu(t.vcpu, t.periodNs, t.phase);
    if (lapicIsr !== undefined) for (const t of saved.lapic) this.startLapic(t.vcpu, t.periodNs, lapicIsr, t.phase);
    for (const s of saved.sources) this.attachSource(s.port, s.perSecond, s);
  }
}
