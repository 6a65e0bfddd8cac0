/**
 * What the emulated guest would pay, in guest CPU time, for the parts of interrupt
 * delivery that xenemu does not execute the way hardware does. Nothing sleeps: the
 * interrupt layer adds these figures to the guest's statistics (per source, per vCPU)
 * and to the vCPU's CPU time, so `xenemu interrupts` and bench/events.ts can show what
 * the vector callback and filters save over INTx and interrupt threads.
 *
 * The defaults are round figures for an x86 HVM guest on hardware without APIC
 * virtualisation (no APICv/AVIC), where every access to an emulated APIC register is
 * a VM exit that Xen emulates. They are a model, not a measurement: override them
 * (KernelOptions.cost) to study another machine.
 */
export interface CostModel {
  /**
   * Entering the guest's upcall handler: the event injection and the interrupt frame
   * (PV: Xen's bounce frame to the callback; HVM: the vector's IDT entry), and the
   * return.
   */
  upcallNs: number;
  /** One trapped access to an emulated local APIC or I/O APIC register: VM exit, emulation, entry. */
  apicAccessNs: number;
  /**
   * Emulated APIC accesses per upcall with the INTx callback: the LAPIC EOI write
   * that ends the interrupt, and the EOI of the level-triggered I/O APIC pin that the
   * platform device's line is wired to (Xen re-samples the line there).
   */
  intxApicAccesses: number;
  /** A hypercall that is a round trip to Xen (EVTCHNOP_unmask after a level-style source). */
  hypercallNs: number;
  /**
   * Scheduling an interrupt thread and switching to it and back (FreeBSD's
   * intr_event_schedule_thread, sched_add, the context switches): what a handler run
   * in an ithread pays over one run in the filter.
   */
  ithreadSwitchNs: number;
}

export const DEFAULT_COST_MODEL: Readonly<CostModel> = Object.freeze({
  upcallNs: 250,
  apicAccessNs: 1500,
  intxApicAccesses: 2,
  hypercallNs: 400,
  ithreadSwitchNs: 2500,
});

export function costModel(overrides: Partial<CostModel> = {}): CostModel {
  return { ...DEFAULT_COST_MODEL, ...overrides };
}
