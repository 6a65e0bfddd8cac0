import type { CostModel } from './cost-model.js';

/** How event upcalls reach the guest (see Hypervisor's CallbackVia). */
export type CallbackMode = 'pv' | 'vector' | 'pci-intx';

/**
 * What a row of the interrupt statistics counts:
 * - `upcall`: the per-vCPU Xen upcall counter (FreeBSD's `cpuN:xen`), one per upcall;
 * - `port`, `virq`, `ipi`, `pirq`: an interrupt source bound to an event channel;
 * - `lapic-timer`: the emulated local APIC timer (`cpuN:timer` without event channels).
 */
export type IntrRowKind = 'upcall' | 'port' | 'virq' | 'ipi' | 'pirq' | 'lapic-timer';

/** How a source's handlers are registered. */
export type HandlerKind = 'filter' | 'ithread' | 'both' | 'none';

export interface IntrRow {
  /** The name vmstat -i prints: `cpu0:xen`, `irq768: xenstore0`, `cpu1:timer`. */
  intrname: string;
  /** The source's own name: `xenstore0`, `cpu1:timer`, `xn0`. */
  name: string;
  kind: IntrRowKind;
  /** The interrupt number (FreeBSD's vector for the source), or null for counters. */
  irq: number | null;
  port: number | null;
  virq: number | null;
  /** The vCPU the source is delivered to now (the counter's own vCPU for per-vCPU rows). */
  vcpu: number | null;
  handler: HandlerKind;
  /** Interrupts counted (a coalesced timer batch or device batch counts every event). */
  total: number;
  /** `total` by vCPU (index = vCPU). */
  perCpu: number[];
  /** Handler dispatches (upcalls for `upcall` rows). */
  dispatches: number;
  /** Time in the filter on the machine's clock (the upcall's own scan time for `upcall` rows), ns; 0 on a virtual clock. */
  filterNs: number;
  /** Time in the interrupt thread on the machine's clock, ns; 0 on a virtual clock. */
  ithreadNs: number;
  ithreadRuns: number;
  /** Modelled guest time (upcall entry, emulated APIC accesses, unmask hypercalls, ithread switches), ns. */
  modelledNs: number;
  /** Of which emulated APIC accesses, ns. */
  apicNs: number;
  /** Dispatches no handler claimed (FILTER_STRAY, or no handler bound). */
  stray: number;
}

/** A guest kernel's interrupt statistics at one instant. */
export interface IntrSnapshot {
  callback: CallbackMode;
  vcpus: number;
  online: number[];
  hz: number;
  cost: CostModel;
  rows: IntrRow[];
}
