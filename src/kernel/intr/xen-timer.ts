import { VIRQ } from '../../abi/index.js';
import type { Clock } from '../../hypervisor/clock.js';
import { MIN_PERIODIC_TIMER_NS, type Hypercalls } from '../../hypervisor/hypercalls.js';
import { expiriesBy } from '../../hypervisor/vtimers.js';
import type { IntrCounter, XenIntr, XenIntrSource } from './xen-intr.js';

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
        state.src = this.intr.bindVirq(`cpu${cpu}:timer`, VIRQ.TIMER, cpu, {
          filter: () => 'handled',
        });
        state.src.eventsOf = () => this.runs(state);
      }
      if (this.periodNs >= MIN_PERIODIC_TIMER_NS) this.hc.setPeriodicTimer(cpu, this.periodNs);
      else this.hc.setSingleshotTickTimer(cpu, this.periodNs);
      return;
    }
    if (state.counter === null) state.counter = this.intr.addCounter(`cpu${cpu}:timer`, 'lapic-timer', cpu);
    const counter = state.counter;
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
}
