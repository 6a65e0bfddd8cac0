import { VIRQ } from '../../abi/index.js';
import type { Clock } from '../../hypervisor/clock.js';
import { MIN_PERIODIC_TIMER_NS, type Hypercalls } from '../../hypervisor/hypercalls.js';
import { expiriesBy } from '../../hypervisor/vtimers.js';
import { IntrError } from './errors.js';
import type { XenTimerCpuState, XenTimerState } from './saved.js';
import type { IntrCounter, XenIntr, XenIntrSource } from './xen-intr.js';

/** VIRQ_TIMER's filter: the work is counting the periods, which eventsOf does at dispatch. */
const TIMER_HANDLERS = { filter: () => 'handled' as const };

interface CpuClock {
  startNs: number;
  /** Periods already accounted (hardclock calls made). */
  processed: number;
  src: XenIntrSource | null;
  counter: IntrCounter | null;
  running: boolean;
}

/**
 * The per-vCPU clock interrupt at `hz`, as a FreeBSD guest on Xen has it: the Xen PV
 * timer (VIRQ_TIMER, bound on each vCPU as `cpuN:timer`, a filter) when events are
 * per-vCPU, or the emulated local APIC timer (`cpuN:timer`, an intrcnt counter, paying
 * the APIC's EOI) when the guest takes its events through the INTx callback, because
 * Xen would raise VIRQ_TIMER on vCPU N without interrupting it (FreeBSD's xentimer
 * refuses to attach without xen_has_percpu_evtchn()).
 *
 * The filter counts the periods that passed since it last ran, from the clock, the way
 * FreeBSD's handleevents() computes `runs` for hardclock(runs) and Linux's old Xen
 * timer_interrupt counted ticks from the system time: the hypervisor coalesces expiries
 * (see DomainTimers), and the count is still one per period.
 */
export class XenTimer {
  readonly periodNs: number;
  private readonly cpus: Array<CpuClock | undefined> = [];

  constructor(
    private readonly intr: XenIntr,
    private readonly hc: Hypercalls,
    private readonly clock: Clock,
    readonly hz: number,
  ) {
    this.periodNs = 1e9 / hz;
  }

  /** Periods elapsed on `cpu` that were not yet accounted; accounts them. */
  private runs(c: CpuClock): number {
    if (!c.running) return 0;
    const due = expiriesBy(this.clock.now() - c.startNs, this.hz);
    const n = due - c.processed;
    if (n <= 0) return 0;
    c.processed = due;
    return n;
  }

  /** Start the clock interrupt of a vCPU (at boot, or when it comes up). */
  start(cpu: number): void {
    let c = this.cpus[cpu];
    if (c === undefined) {
      c = { startNs: 0, processed: 0, src: null, counter: null, running: false };
      this.cpus[cpu] = c;
    }
    if (c.running) return;
    const state = c;
    state.startNs = this.clock.now();
    state.processed = 0;
    state.running = true;
    if (this.intr.percpuEvtchn) {
      if (state.src === null) {
        state.src = this.intr.bindVirq(`cpu${cpu}:timer`, VIRQ.TIMER, cpu, TIMER_HANDLERS);
        state.src.eventsOf = () => this.runs(state);
      }
      if (this.periodNs >= MIN_PERIODIC_TIMER_NS) this.hc.setPeriodicTimer(cpu, this.periodNs);
      else this.hc.setSingleshotTickTimer(cpu, this.periodNs);
      return;
    }
    state.counter ??= this.intr.addCounter(`cpu${cpu}:timer`, 'lapic-timer', cpu);
    this.startLapic(cpu, state, state.counter);
  }

  /** Program the emulated LAPIC timer of `cpu`, whose interrupt counts the periods that passed. */
  private startLapic(cpu: number, state: CpuClock, counter: IntrCounter): void {
    const cost = this.intr.cost;
    this.hc.platform.startLapicTimer(cpu, this.periodNs, (v) => {
      if (!state.running) return;
      const n = this.runs(state);
      counter.count += n;
      counter.dispatches++;
      // The interrupt's entry, and the LAPIC EOI that ends it (an emulated APIC write).
      const modelled = cost.upcallNs + cost.apicAccessNs;
      counter.modelledNs += modelled;
      counter.apicNs += cost.apicAccessNs;
      this.intr.charge(v, modelled);
    });
  }

  /** Stop a vCPU's clock interrupt (it is going down, or the kernel stops). */
  stop(cpu: number): void {
    const c = this.cpus[cpu];
    if (c === undefined || !c.running) return;
    c.running = false;
    if (this.intr.percpuEvtchn) this.hc.stopPeriodicTimer(cpu);
    else this.hc.platform.stopLapicTimer(cpu);
  }

  stopAll(): void {
    for (let cpu = 0; cpu < this.cpus.length; cpu++) this.stop(cpu);
  }

  /** When the next period `c` has not counted yet ends, on the clock. */
  private nextDeadline(c: CpuClock): number {
    return c.startNs + (c.processed + 1) * this.periodNs;
  }

  save(): XenTimerState {
    const cpus: XenTimerCpuState[] = [];
    this.cpus.forEach((c, cpu) => {
      if (c === undefined) return;
      const { running, startNs, processed } = c;
      cpus.push({ cpu, running, startNs, processed, nextDeadlineNs: this.nextDeadline(c), irq: c.src?.irq ?? null, counter: c.counter?.name ?? null });
    });
    return { hz: this.hz, periodNs: this.periodNs, cpus };
  }

  /**
   * Take a save into a fresh timer over the loaded interrupt layer. Ticks keep being
   * counted from where they were: the count comes from the clock and the saved start,
   * so periods that passed meanwhile are counted at the next interrupt. The VIRQ_TIMER
   * sources get their filter back; Xen's periodic timers are the hypervisor's state and
   * are not touched. The emulated LAPIC timer is programmed again, as a resume does
   * (lapic_setup): its interrupt routine is kernel code the hypervisor calls, and the
   * loaded kernel has its own.
   */
  load(s: XenTimerState): void {
    if (this.cpus.length > 0) throw new IntrError('EBUSY', 'a saved timer loads only into a fresh one');
    if (s.hz !== this.hz || s.periodNs !== this.periodNs) throw new IntrError('EINVAL', `saved timer runs at ${s.hz} Hz, this kernel at ${this.hz} Hz`);
    for (const c of s.cpus) {
      const state: CpuClock = { startNs: c.startNs, processed: c.processed, src: null, counter: null, running: c.running };
      if (Math.abs(this.nextDeadline(state) - c.nextDeadlineNs) > 1) {
        throw new IntrError('EINVAL', `saved timer of vCPU ${c.cpu}: next deadline ${c.nextDeadlineNs} ns does not follow from its start ${c.startNs} ns and ${c.processed} periods`);
      }
      if (c.irq !== null) state.src = this.intr.restoreHandlers(c.irq, TIMER_HANDLERS, () => this.runs(state));
      if (c.counter !== null) {
        const counter = this.intr.counter(c.counter);
        if (counter === undefined) throw new IntrError('EINVAL', `saved timer of vCPU ${c.cpu}: no counter ${c.counter} in the interrupt layer`);
        state.counter = counter;
        if (c.running) this.startLapic(c.cpu, state, counter);
      }
      this.cpus[c.cpu] = state;
    }
  }
}
