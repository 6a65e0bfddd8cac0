import type { IpiKind } from './xen-ipi.js';
import type { SyntheticEventSpec } from './synthetic.js';
import type { CallbackMode, HandlerKind, IntrRowKind } from './stats.js';
import type { XenIntrType } from './xen-intr.js';

/**
 * What the interrupt layer keeps in kernel memory, as plain JSON-able data: the shapes
 * `save()` returns and `load()` takes, for every object in this folder.
 *
 * What lives in guest pages is not here: the pending and mask bits of shared_info, the
 * vcpu_info selectors and flags come with the domain's memory image. What is here is
 * what FreeBSD keeps in its own structures and needs on resume: the sources (struct
 * xenisrc: type, port, vCPU, VIRQ, xi_close, xi_masked) that xen_intr_resume walks
 * to rebind each port of its type on its vCPU, the per-vCPU enabled maps and scan
 * positions, and the statistics `vmstat -i` must keep counting from.
 *
 * Handlers are code, not state: a loaded source comes back without them, with the
 * kind it had, and its owner (the timer, the IPIs, the event channel device, a driver)
 * installs them again by the source's interrupt number (restoreHandlers).
 */

/** One source's statistics on one vCPU. */
export interface CpuStatsState {
  count: number;
  dispatches: number;
  filterNs: number;
  ithreadNs: number;
  ithreadRuns: number;
  modelledNs: number;
  stray: number;
}

/** A bound interrupt source (struct xenisrc). */
export interface XenIntrSourceState {
  irq: number;
  name: string;
  type: XenIntrType;
  port: number;
  /** xi_cpu: the vCPU its events are delivered to. */
  cpu: number;
  /** The VIRQ, for 'virq' sources; -1 otherwise. */
  virq: number;
  /** xi_close: the layer opened the port and closes it on unbind. */
  close: boolean;
  /** xi_masked: the port was masked already when the layer masked it for handling. */
  wasMasked: boolean;
  /** Its driver masked it and will unmask it itself. */
  driverMasked: boolean;
  /** Which handlers its owner must install again. */
  handler: HandlerKind;
  /** Statistics by vCPU (null where it never fired). */
  stats: Array<CpuStatsState | null>;
}

/** A plain counter (`cpuN:xen`, the LAPIC timer's `cpuN:timer`). */
export interface IntrCounterState {
  name: string;
  kind: IntrRowKind;
  vcpu: number;
  count: number;
  dispatches: number;
  measuredNs: number;
  modelledNs: number;
  apicNs: number;
}

/** The upcall's software state: which vCPU takes which port, and where each vCPU's fair scan resumes. */
export interface EvtchnDispatchState {
  /** For each vCPU, the ports enabled on it (FreeBSD's per-CPU evtchn_enabled), ascending. */
  enabledPorts: number[][];
  /** For each vCPU, the port its next scan starts at (last_processed_l1i/l2i). */
  scanResume: number[];
}

export interface XenIntrState {
  mode: CallbackMode;
  nrVcpus: number;
  hz: number;
  dispatch: EvtchnDispatchState;
  /** How many interrupt numbers were ever handed out (FIRST_EVTCHN_IRQ onwards). */
  allocated: number;
  /** Bound sources, by interrupt number. */
  sources: XenIntrSourceState[];
  /** Released interrupt numbers in free-list order: the last one is reused first. */
  free: number[];
  /** intr_next_cpu's round-robin cursor. */
  nextCpu: number;
  /** Ports announced with expectPort and not bound yet, with the names they will get. */
  expected: Array<[port: number, name: string]>;
  /** `cpuN:xen`, by vCPU. */
  upcalls: IntrCounterState[];
  /** The other counters, in the order they were added. */
  counters: IntrCounterState[];
  /** Interrupt threads queued to run, per vCPU, as interrupt numbers in queue order. */
  ithreadQueues: number[][];
  stopped: boolean;
}

/** One vCPU's clock interrupt. */
export interface XenTimerCpuState {
  cpu: number;
  running: boolean;
  /** When its tick count started, on the domain's clock (ns). */
  startNs: number;
  /** Periods already counted (hardclock calls made). */
  processed: number;
  /** When the next period not yet counted ends, on the domain's clock (ns). */
  nextDeadlineNs: number;
  /** The VIRQ_TIMER source (`cpuN:timer`), when events are per-vCPU. */
  irq: number | null;
  /** The emulated LAPIC timer's counter name, with the INTx callback. */
  counter: string | null;
}

export interface XenTimerState {
  hz: number;
  periodNs: number;
  cpus: XenTimerCpuState[];
}

export interface XenIpisState {
  /** Per vCPU that bound its IPIs: the interrupt number of each kind. */
  cpus: Array<{ cpu: number; irqs: Array<[kind: IpiKind, irq: number]> }>;
  /** IPIs handled, by kind. */
  handled: Array<[kind: IpiKind, count: number]>;
}

/** One open of /dev/xen/evtchn and the ports bound through it. */
export interface EvtchnUserState {
  autoAck: boolean;
  ports: Array<{ port: number; irq: number; enabled: boolean; notifications: number }>;
  /** Ports that fired and were not read yet, oldest first. */
  ring: number[];
  overflow: boolean;
  closed: boolean;
}

export interface SyntheticSourcesState {
  sources: Array<{ spec: SyntheticEventSpec; irq: number; processed: number; pendingForThread: number }>;
}
