/**
 * The stats stream of `xenemu top` over the control socket. A client subscribes once
 * (`stats.subscribe`) and the daemon answers with a first frame, then pushes one
 * `{"event":"stats","data":<StatsFrame>}` line every `intervalMs` until the connection
 * closes. `stats.select` and `stats.interval` change what and how often without a new
 * subscription. Nothing here reads XenStore: the daemon samples the hypervisor and the
 * guest kernels directly.
 *
 * Rates are computed in the daemon from counter deltas between two frames of the same
 * subscription, over the time that really passed between them (`elapsedNs`), the way
 * xentop computes CPU(%) from two xenstat samples. The first frame of a subscription
 * has no previous sample: its rates are 0, as xentop's first iteration prints 0.0.
 *
 * Per-vCPU detail (the interrupt grid) is sampled for the selected domain only, so a
 * frame of a 100-domain host stays a few tens of KiB.
 */

import type { FaultSummary } from './fault-rpc.js';
import * as z from 'zod';
import { Domid, NoParams } from './params.js';

/** The event name of pushed frames. */
export const STATS_EVENT = 'stats';

/** Bounds of the delay between frames. */
export const MIN_INTERVAL_MS = 100;
export const MAX_INTERVAL_MS = 3_600_000;

/** Delay between frames, in ms. */
const IntervalMs = z.number().min(MIN_INTERVAL_MS).max(MAX_INTERVAL_MS);
/** A domain to show the detail of; null: none. */
const Selected = Domid.nullable();

/** Parameters of each method, checked on arrival (see DomainParams). */
export const StatsParams = {
  /** Start (or restart) this connection's stream; answers with the first frame. */
  'stats.subscribe': z.strictObject({
    intervalMs: IntervalMs,
    /** The domain whose per-vCPU and per-source detail the frames carry (null or absent: none). */
    selected: Selected.optional(),
    /** Include every domain's per-vCPU CPU time (`xentop -v`); off by default to keep frames small. */
    vcpuTimes: z.boolean().optional(),
  }),
  /**
   * Change the selected domain. Answers with its detail as of now (ports, callback,
   * sources, rates 0) so a client can show it at once; rates run from this call, and
   * the next frame carries them. null when nothing is selected or the domain is gone.
   */
  'stats.select': z.strictObject({ domid: Selected }),
  /** Change the delay; the next frame comes one new delay from now. */
  'stats.interval': z.strictObject({ intervalMs: IntervalMs }),
  'stats.unsubscribe': NoParams,
} satisfies Record<string, z.ZodType>;

export type StatsSubscribeParams = z.output<(typeof StatsParams)['stats.subscribe']>;

interface StatsResults {
  'stats.subscribe': StatsFrame;
  'stats.select': SelectedDomainStats | null;
  'stats.interval': null;
  'stats.unsubscribe': null;
}

export type StatsMethod = keyof typeof StatsParams;

/** Methods of the stats stream: parameters and results. */
export type StatsRpc = { [M in StatsMethod]: { params: z.output<(typeof StatsParams)[M]>; result: StatsResults[M] } };

/** One sample of the host. */
export interface StatsFrame {
  /** 1 for a subscription's first frame, then +1 per frame. */
  seq: number;
  /** Wall-clock time of the sample (ms since the epoch). */
  timeMs: number;
  /** Time since this subscription's previous frame (0 for the first), ns. */
  elapsedNs: number;
  /** The delay the subscription runs at now. */
  intervalMs: number;
  host: HostStats;
  /** Every domain, in domid order. */
  domains: DomainStats[];
  /** Detail of the selected domain, or null when none is selected or it is gone. */
  selected: SelectedDomainStats | null;
}

export interface HostStats {
  hostname: string;
  /** Xen's version as xenstat_node_xen_version gives it: "4.17.7-xenemu". */
  xenVersion: string;
  pcpus: number;
  cpuMhz: number;
  totalKiB: number;
  freeKiB: number;
  /** Time since the emulated machine booted, s. */
  uptimeSec: number;
  /** Faults in force (`xenemu fault`): the summary shows them while there are any. */
  faults: FaultSummary[];
}

/** libxenstat's state accessors (xenstat_domain_running, ...), as xentop's STATE column reads them. */
export interface DomainStateFlags {
  dying: boolean;
  /** Shut down for any reason but a crash. */
  shutdown: boolean;
  blocked: boolean;
  /** Shut down by a crash. */
  crashed: boolean;
  paused: boolean;
  running: boolean;
}

/** A vif as libxenstat reports it (dom0's view of the backend interface). */
export interface NetStats {
  rbytes: number;
  rpackets: number;
  rerrs: number;
  rdrop: number;
  tbytes: number;
  tpackets: number;
  terrs: number;
  tdrop: number;
}

/** A vbd as libxenstat reports it; `error` when its statistics could not be read. */
export interface VbdStats {
  backend: 'Unidentified' | 'BlkBack' | 'BlkTap';
  /** The virtual device number (xvda: 51712). */
  dev: number;
  error: boolean;
  oo: number;
  rd: number;
  wr: number;
  rsect: number;
  wsect: number;
}

export interface DomainStats {
  domid: number;
  name: string;
  state: DomainStateFlags;
  /** CPU time of all vCPUs, ns. */
  cpuNs: number;
  /** CPU time over the interval as a percentage of one CPU (xentop's CPU(%)). */
  cpuPct: number;
  memKiB: number;
  /** null: no limit (xentop prints "no limit" and "n/a"). */
  maxMemKiB: number | null;
  /** vCPUs the domain has (max_vcpu_id + 1, as libxenstat counts them). */
  vcpus: number;
  vcpusOnline: number;
  nets: NetStats[];
  vbds: VbdStats[];
  /** The security label (0 without XSM). */
  ssid: number;
  /** Interrupts per second its kernel handled, by source (upcalls where it counts none): its grid's total. */
  eventsPerSec: number;
  /** Per-vCPU CPU time in ns, null for a vCPU that is down; only with `vcpuTimes`. */
  vcpuNs?: Array<number | null>;
}

export type CallbackMode = 'pv' | 'vector' | 'pci-intx' | 'gsi' | 'none';

/** Ports in use by state (EVTCHNSTAT_*). */
export interface EvtchnStateCounts {
  unbound: number;
  interdomain: number;
  virq: number;
  ipi: number;
  pirq: number;
}

export interface EvtchnStats {
  inUse: number;
  /** The most ports the domain may use (max_event_channels). */
  max: number;
  byState: EvtchnStateCounts;
  /** Ports notifying each vCPU. */
  perVcpu: number[];
  /** Hypervisor-side delivery counters, per second over the interval. */
  rates: { sends: number; raises: number; coalesced: number; masked: number; kicks: number };
}

/** How the guest's interrupt handlers are registered (FreeBSD: filter, ithread, or both). */
export type HandlerKind = 'filter' | 'ithread' | 'both' | 'none';

/** One row of the interrupt grid. Per-vCPU rows of the same source ("cpu3:timer") are merged. */
export interface InterruptSource {
  /** Stable within a domain: kind and name. */
  key: string;
  name: string;
  /** upcall, port, virq, ipi, pirq, lapic-timer. */
  kind: string;
  handler: HandlerKind;
}

export interface VcpuStats {
  id: number;
  online: boolean;
  pcpu: number;
  cpuPct: number;
  /** Interrupts per second, all sources (upcalls excluded unless they are the only counter). */
  intrPerSec: number;
  upcallsPerSec: number;
}

export interface SelectedDomainStats {
  domid: number;
  name: string;
  callback: { mode: CallbackMode; label: string };
  evtchn: EvtchnStats;
  /**
   * Where the per-source counts come from: the guest kernel's interrupt statistics, or
   * only the hypervisor's upcall counters when the kernel keeps none.
   */
  counters: 'kernel' | 'hypervisor';
  /** The guest's timer frequency, when its kernel reports it. */
  hz: number | null;
  sources: InterruptSource[];
  /** rates[source][vcpu]: interrupts per second over the interval. */
  rates: number[][];
  /** totals[source]: interrupts counted since the domain booted. */
  totals: number[];
  vcpus: VcpuStats[];
  /** The grid's total, interrupts per second: the same figure as the domain's eventsPerSec in the frame. */
  intrPerSec: number;
  /** Share of handler time spent in filters and in interrupt threads over the interval (%), or null when nothing ran. */
  handlerShare: { filter: number; ithread: number } | null;
}
