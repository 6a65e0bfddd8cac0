import type { FaultSummary } from '../protocol/fault-rpc.js';
import { faultSummaries } from '../faults/summary.js';
import type { Domain } from '../hypervisor/domain.js';
import type { CallbackVia, Hypervisor } from '../hypervisor/hypervisor.js';
import type { IntrRow, IntrSnapshot } from '../kernel/intr/stats.js';
import {
  STATS_EVENT,
  type CallbackMode,
  type DomainStateFlags,
  type DomainStats,
  type EvtchnStats,
  type HandlerKind,
  type HostStats,
  type InterruptSource,
  type NetStats,
  type SelectedDomainStats,
  type StatsFrame,
  type StatsRpc,
  type VbdStats,
} from '../protocol/stats.js';
import { rpcMethods, type RpcContext, type RpcMethod } from './control-server.js';
import { XenemuError } from '../common/errors.js';
import type { Machine } from './machine.js';

/** What the grid reads of a row of a guest kernel's interrupt statistics. */
export type KernelIntrRow = Pick<IntrRow, 'name' | 'kind' | 'handler' | 'perCpu' | 'filterNs' | 'ithreadNs'>;

/** What the grid reads of a guest kernel's interrupt statistics at one instant. */
export interface KernelIntrStats {
  hz?: IntrSnapshot['hz'];
  rows: readonly KernelIntrRow[];
}

/** Per-domain devices as dom0's backends see them (libxenstat's networks and vbds). */
export interface DomainDevices {
  nets: NetStats[];
  vbds: VbdStats[];
}

/** What the sampler reads. Everything is read directly; nothing goes through XenStore. */
export interface StatsSources {
  hv: Hypervisor;
  /** The domain's kernel interrupt statistics, or null when its kernel keeps none. */
  interrupts(domid: number): KernelIntrStats | null;
  /**
   * What the domain's kernel counted so far, as snapshot()'s rows add up (XenIntr.totals),
   * for the EVTS/s of the domains not selected: not synced first, so the counts may lag
   * by the timer slop, and the timer wheel keeps its coalescing.
   */
  interruptTotals(domid: number): { upcalls: number; others: number; otherRows: number } | null;
  devices(domid: number): DomainDevices;
  /** Monotonic time, ns. */
  nowNs(): number;
  /** Wall-clock time, ms since the epoch. */
  wallMs(): number;
  /** The faults in force, if the machine has any. */
  faults?(): FaultSummary[];
}

const NO_DEVICES: DomainDevices = Object.freeze({ nets: [], vbds: [] }) as DomainDevices;

/**
 * What the daemon's machine offers the sampler: per-source counts from each guest
 * kernel's interrupt layer (src/kernel/intr), brought up to date first since the
 * hypervisor delivers coalesced timer ticks lazily. A domain's vbds are those dom0's
 * blkback serves it, with blkback's counters, as libxenstat reads them from dom0's
 * sysfs (vbd-<domid>-<devid>/statistics): a disk served by a driver domain is not
 * among them, as it is not for xentop. The same for vifs: those dom0's netback serves
 * (its vif<domid>.<devid> interfaces in /proc/net/dev), with netback's counters.
 */
export function machineSources(machine: Machine): StatsSources {
  return {
    hv: machine.hv,
    interrupts: (domid) => {
      const k = machine.kernel(domid);
      if (k?.intr === undefined || k.state === 'created' || k.state === 'halted') return null;
      machine.hv.syncDomain(domid);
      return k.intr.snapshot();
    },
    interruptTotals: (domid) => {
      const k = machine.kernel(domid);
      if (k?.intr === undefined || k.state === 'created' || k.state === 'halted') return null;
      return k.intr.totals();
    },
    devices: (domid) => {
      const vbds = dom0Vbds(machine, domid);
      const nets = dom0Vifs(machine, domid);
      return vbds.length === 0 && nets.length === 0 ? NO_DEVICES : { nets, vbds };
    },
    nowNs: () => machine.hv.clock.now(),
    wallMs: () => Date.now(),
    faults: () => faultSummaries(machine.faults),
  };
}

/** The vbds dom0's blkback serves domain `domid`, by device number. */
function dom0Vbds(machine: Machine, domid: number): VbdStats[] {
  const served = machine.dom0?.blkback?.devices() ?? [];
  return served
    .filter((b) => b.frontendDomid === domid)
    .map((b) => ({
      backend: 'BlkBack' as const,
      dev: Number(b.node.slice(b.node.lastIndexOf('/') + 1)),
      error: false,
      oo: b.stats.ooReq,
      rd: b.stats.rdReq,
      wr: b.stats.wrReq,
      rsect: b.stats.rdSect,
      wsect: b.stats.wrSect,
    }))
    .sort((a, b) => a.dev - b.dev);
}

/**
 * The vifs dom0's netback serves domain `domid`, by devid. libxenstat swaps the
 * interface's rx and tx so they are the domain's ("the vif's rx is the domain's tx");
 * netback counts from the guest's side already.
 */
function dom0Vifs(machine: Machine, domid: number): NetStats[] {
  const served = machine.dom0?.netback?.vifs() ?? [];
  return served
    .filter((v) => v.frontendDomid === domid)
    .sort((a, b) => a.devid - b.devid)
    .map(({ stats: s }) => ({ rbytes: s.rxBytes, rpackets: s.rxPackets, rerrs: 0, rdrop: s.rxDropped, tbytes: s.txBytes, tpackets: s.txPackets, terrs: s.txErrors, tdrop: s.txDropped }));
}

/** libxenstat's state accessors over a Domain (the same reading as `xl list`'s listRow). */
export function domainStateFlags(d: Domain): DomainStateFlags {
  // dom0 runs the toolstack asking, so Xen sees it running, as on a real host.
  const running = d.domid === 0 || d.vcpus.some((v) => v.running);
  const reason = d.shutdownReason;
  return {
    dying: d.dying,
    shutdown: reason !== null && reason !== 'crash',
    blocked: d.domid !== 0 && !running && !d.paused && reason === null,
    crashed: reason === 'crash',
    paused: d.paused,
    running,
  };
}

export function callbackInfo(via: CallbackVia): { mode: CallbackMode; label: string } {
  switch (via.kind) {
    case 'pv':
      return { mode: 'pv', label: 'PV upcall' };
    case 'vector':
      return { mode: 'vector', label: `vector 0x${via.vector.toString(16)}` };
    case 'pci-intx':
      return { mode: 'pci-intx', label: `PCI INTx (slot ${via.slot}, INT${'ABCD'[via.pin & 3]}, vCPU 0 only)` };
    case 'gsi':
      return { mode: 'gsi', label: `GSI ${via.gsi} (vCPU 0 only)` };
    case 'none':
      return { mode: 'none', label: 'none set' };
  }
}

/** Per-vCPU rows of one source ("cpu0:timer", "cpu1:timer") are one row of the grid. */
function sourceName(name: string): string {
  return name.replace(/^cpu[0-9]+:\s*/, '');
}

interface SourceCounts {
  source: InterruptSource;
  perCpu: number[];
  filterNs: number;
  ithreadNs: number;
}

/** Merge a kernel's rows by source, summing per-vCPU counts and handler times. */
function groupRows(rows: readonly KernelIntrRow[], nrVcpus: number): Map<string, SourceCounts> {
  const out = new Map<string, SourceCounts>();
  for (const r of rows) {
    const name = sourceName(r.name);
    const key = `${r.kind}:${name}`;
    let g = out.get(key);
    if (g === undefined) {
      g = { source: { key, name, kind: r.kind, handler: r.handler }, perCpu: new Array<number>(nrVcpus).fill(0), filterNs: 0, ithreadNs: 0 };
      out.set(key, g);
    } else if (g.source.handler !== r.handler) {
      g.source.handler = 'both';
    }
    const n = Math.min(nrVcpus, r.perCpu.length);
    for (let v = 0; v < n; v++) g.perCpu[v]! += r.perCpu[v]!;
    g.filterNs += r.filterNs;
    g.ithreadNs += r.ithreadNs;
  }
  // Sources of different kinds may share a driver's name (dom0's evtchn0 binds VIRQs
  // and interdomain ports alike): tell their rows apart by kind.
  const seen = new Map<string, number>();
  for (const g of out.values()) seen.set(g.source.name, (seen.get(g.source.name) ?? 0) + 1);
  for (const g of out.values()) if (seen.get(g.source.name)! > 1) g.source.name = `${g.source.name}:${g.source.kind}`;
  return out;
}

/** What the selected domain's rates are computed against. */
interface SelectedBaseline {
  domid: number;
  /** Whether the per-source counts are the kernel's (else the hypervisor's upcalls). */
  kernel: boolean;
  hz: number | null;
  /** The Domain object: a domid reused by a new domain is a different domain. */
  domain: Domain;
  tNs: number;
  sources: Map<string, SourceCounts>;
  vcpuNs: number[];
  upcalls: number[];
  evtchn: { sends: number; raises: number; coalesced: number; masked: number; kicks: number };
}

interface DomainBaseline {
  domain: Domain;
  /** At the frame. */
  cpuNs: number;
  /** Interrupts counted as the grid counts them (countedSources), and when: EVTS/s. */
  counted: number;
  countedNs: number;
  /** The selected domain's per-source counts, taken with `counted` (null for the others: they cost a frame nothing more). */
  sample: SelectedBaseline | null;
}

/**
 * The sources the grid's totals add up: those the guest's interrupt layer counted
 * per source, or only where it keeps none, the upcalls. EVTS/s adds up the same, so
 * a domain's EVTS/s is its grid's total.
 */
function countedSources(sources: readonly InterruptSource[]): number[] {
  const counted = sources.map((s, i) => (s.kind === 'upcall' ? -1 : i)).filter((i) => i >= 0);
  return counted.length > 0 ? counted : sources.map((_, i) => i);
}

function countedTotal(sample: SelectedBaseline): number {
  const groups = [...sample.sources.values()];
  return countedSources(groups.map((g) => g.source)).reduce((sum, i) => sum + groups[i]!.perCpu.reduce((a, b) => a + b, 0), 0);
}

/** countedTotal from the kernel's totals (or the upcalls Xen injected), for the domains not selected. */
function countedFromTotals(t: { upcalls: number; others: number; otherRows: number } | null, upcalls: readonly number[], nrVcpus: number): number {
  if (t === null) return upcalls.slice(0, nrVcpus).reduce((a, b) => a + b, 0);
  return t.otherRows > 0 ? t.others : t.upcalls;
}

const rate = (delta: number, seconds: number): number => (seconds > 0 && delta > 0 ? Math.round((delta / seconds) * 100) / 100 : 0);
const pct = (deltaNs: number, elapsedNs: number): number => (elapsedNs > 0 && deltaNs > 0 ? (deltaNs / elapsedNs) * 100 : 0);

/**
 * One subscription's sampler: each `frame()` reads the host and turns counter deltas
 * since the previous frame into rates. It holds only the previous sample, so frames
 * of different subscribers (at different delays) do not disturb each other.
 */
export class StatsSampler {
  private seq = 0;
  private prevNs = 0;
  private prev = new Map<number, DomainBaseline>();
  private selectedDomid: number | null;

  constructor(
    private readonly src: StatsSources,
    private options: { intervalMs: number; selected: number | null; vcpuTimes: boolean },
  ) {
    this.selectedDomid = options.selected;
  }

  get intervalMs(): number {
    return this.options.intervalMs;
  }

  set intervalMs(ms: number) {
    this.options = { ...this.options, intervalMs: ms };
  }

  get selected(): number | null {
    return this.selectedDomid;
  }

  /**
   * Select a domain: its detail as of now (null if it does not exist), with rates 0
   * (or since the previous frame if it was selected then). Its grid and its EVTS/s
   * then count from this moment, so the next frame's grid total is its EVTS/s.
   */
  select(domid: number | null): SelectedDomainStats | null {
    this.selectedDomid = domid;
    if (domid === null) return null;
    const d = this.src.hv.domains.get(domid);
    if (d === undefined) return null;
    const cur = this.selectedSample(d, this.src.nowNs());
    const before = this.baselineOf(d);
    const detail = this.detail(d, cur, before);
    // From now on its grid and its EVTS/s both count from this sample.
    if (before !== null) this.prev.set(d.domid, { ...before, counted: countedTotal(cur), countedNs: cur.tNs, sample: cur });
    return detail;
  }

  /** The previous frame's counts of this very domain (not of an earlier one with its domid). */
  private baselineOf(d: Domain): DomainBaseline | null {
    const before = this.prev.get(d.domid);
    return before !== undefined && before.domain === d ? before : null;
  }

  frame(): StatsFrame {
    const { hv } = this.src;
    const now = this.src.nowNs();
    const first = this.seq === 0;
    const elapsedNs = first ? 0 : now - this.prevNs;
    const next = new Map<number, DomainBaseline>();
    const domains: DomainStats[] = [];
    let selected: SelectedDomainStats | null = null;
    const sorted = [...hv.domains.values()].sort((a, b) => a.domid - b.domid);
    for (const d of sorted) {
      const cpuNs = d.cpuTimeNs;
      const before = this.baselineOf(d);
      let sample: SelectedBaseline | null = null;
      let counted: number;
      if (d.domid === this.selectedDomid) {
        sample = this.selectedSample(d, now);
        counted = countedTotal(sample);
        selected = this.detail(d, sample, before);
      } else {
        counted = countedFromTotals(this.src.interruptTotals(d.domid), hv.deliveryCounters(d.domid).injected, d.vcpus.length);
      }
      next.set(d.domid, { domain: d, cpuNs, counted, countedNs: now, sample });
      const dev = this.src.devices(d.domid);
      const row: DomainStats = {
        domid: d.domid,
        name: d.name,
        state: domainStateFlags(d),
        cpuNs,
        cpuPct: before !== null ? pct(cpuNs - before.cpuNs, elapsedNs) : 0,
        memKiB: d.currentKiB,
        maxMemKiB: Number.isFinite(d.maxKiB) && d.maxKiB >= 0 ? d.maxKiB : null,
        vcpus: d.vcpus.length,
        vcpusOnline: d.onlineVcpus,
        nets: dev.nets,
        vbds: dev.vbds,
        ssid: 0,
        eventsPerSec: before !== null ? rate(counted - before.counted, (now - before.countedNs) / 1e9) : 0,
      };
      if (this.options.vcpuTimes) row.vcpuNs = d.vcpus.map((v) => (v.online ? v.cpuTimeNs : null));
      domains.push(row);
    }
    this.prev = next;
    this.prevNs = now;
    this.seq++;
    return {
      seq: this.seq,
      timeMs: this.src.wallMs(),
      elapsedNs,
      intervalMs: this.options.intervalMs,
      host: this.hostStats(now),
      domains,
      selected,
    };
  }

  private hostStats(now: number): HostStats {
    const { hv } = this.src;
    const h = hv.host;
    return {
      hostname: h.hostname,
      xenVersion: `${h.xenMajor}.${h.xenMinor}${h.xenExtra}`,
      pcpus: h.pcpus,
      cpuMhz: h.cpuMhz,
      totalKiB: hv.totalKiB,
      freeKiB: hv.freeKiB,
      uptimeSec: Math.max(0, Math.floor((now - hv.startedAtNs) / 1e9)),
      faults: this.src.faults?.() ?? [],
    };
  }

  private selectedSample(d: Domain, tNs: number): SelectedBaseline {
    const n = d.vcpus.length;
    const intr = this.src.interrupts(d.domid);
    const upcalls = this.src.hv.deliveryCounters(d.domid).injected;
    const c = d.evtchn?.counters;
    return {
      domid: d.domid,
      kernel: intr !== null,
      hz: intr?.hz ?? null,
      domain: d,
      tNs,
      sources:
        intr === null
          ? new Map([
              [
                'upcall:upcall',
                { source: { key: 'upcall:upcall', name: 'upcall', kind: 'upcall', handler: 'none' as HandlerKind }, perCpu: upcalls.slice(0, n), filterNs: 0, ithreadNs: 0 },
              ],
            ])
          : groupRows(intr.rows, n),
      vcpuNs: d.vcpus.map((v) => v.cpuTimeNs),
      upcalls,
      evtchn: { sends: c?.sends ?? 0, raises: c?.raises ?? 0, coalesced: c?.coalesced ?? 0, masked: c?.masked ?? 0, kicks: c?.kicks ?? 0 },
    };
  }

  /** The grid of domain `d`: its counts now against `before`, the previous frame's (rates 0 without one). */
  private detail(d: Domain, cur: SelectedBaseline, before: DomainBaseline | null): SelectedDomainStats {
    const domid = d.domid;
    const now = cur.tNs;
    const base = before?.sample ?? null;
    const elapsedNs = base === null ? 0 : now - base.tNs;
    const seconds = elapsedNs / 1e9;
    const n = d.vcpus.length;

    const sources: InterruptSource[] = [];
    const rates: number[][] = [];
    const totals: number[] = [];
    let filterNs = 0;
    let ithreadNs = 0;
    for (const [key, g] of cur.sources) {
      const was = base?.sources.get(key);
      sources.push({ ...g.source });
      rates.push(g.perCpu.map((count, v) => (base === null ? 0 : rate(count - (was?.perCpu[v] ?? 0), seconds))));
      totals.push(g.perCpu.reduce((a, b) => a + b, 0));
      if (g.source.kind !== 'upcall' && base !== null) {
        filterNs += Math.max(0, g.filterNs - (was?.filterNs ?? 0));
        ithreadNs += Math.max(0, g.ithreadNs - (was?.ithreadNs ?? 0));
      }
    }
    // Totals per vCPU count interrupts by source; the upcall counter stands in only
    // when the kernel keeps no per-source counts.
    const use = countedSources(sources);
    const vcpus = d.vcpus.map((v, i) => ({
      id: v.id,
      online: v.online,
      pcpu: v.pcpu,
      cpuPct: base === null ? 0 : pct(v.cpuTimeNs - (base.vcpuNs[i] ?? 0), elapsedNs),
      intrPerSec: Math.round(use.reduce((sum, s) => sum + (rates[s]![i] ?? 0), 0) * 100) / 100,
      upcallsPerSec: base === null ? 0 : rate((cur.upcalls[i] ?? 0) - (base.upcalls[i] ?? 0), seconds),
    }));

    const ev = cur.evtchn;
    const was = base?.evtchn;
    const handlerTotal = filterNs + ithreadNs;
    return {
      domid,
      name: d.name,
      callback: callbackInfo(this.src.hv.callbackVia(domid)),
      evtchn: {
        ...evtchnPorts(d, n),
        rates: {
          sends: was === undefined ? 0 : rate(ev.sends - was.sends, seconds),
          raises: was === undefined ? 0 : rate(ev.raises - was.raises, seconds),
          coalesced: was === undefined ? 0 : rate(ev.coalesced - was.coalesced, seconds),
          masked: was === undefined ? 0 : rate(ev.masked - was.masked, seconds),
          kicks: was === undefined ? 0 : rate(ev.kicks - was.kicks, seconds),
        },
      },
      counters: cur.kernel ? 'kernel' : 'hypervisor',
      hz: cur.hz,
      sources,
      rates,
      totals,
      vcpus,
      intrPerSec: before === null ? 0 : rate(countedTotal(cur) - before.counted, seconds),
      handlerShare: handlerTotal > 0 ? { filter: (filterNs / handlerTotal) * 100, ithread: (ithreadNs / handlerTotal) * 100 } : null,
    };
  }
}

/** The domain's ports by state and by the vCPU they notify. */
function evtchnPorts(d: Domain, nrVcpus: number): Omit<EvtchnStats, 'rates'> {
  const byState = { unbound: 0, interdomain: 0, virq: 0, ipi: 0, pirq: 0 };
  const perVcpu = new Array<number>(nrVcpus).fill(0);
  let inUse = 0;
  const t = d.evtchn;
  if (t !== null) {
    for (const ch of t.ports) {
      if (ch === undefined) continue;
      inUse++;
      byState[ch.state]++;
      if (ch.vcpu >= 0 && ch.vcpu < nrVcpus) perVcpu[ch.vcpu]!++;
    }
  }
  return { inUse, max: t?.maxPort ?? 0, byState, perVcpu };
}

/** One connection's stream: a sampler and the timer that pushes its frames. */
class Subscription {
  private timer: NodeJS.Timeout | null = null;
  private nextAt = 0;
  private stopped = false;

  constructor(
    readonly sampler: StatsSampler,
    private readonly push: (frame: StatsFrame) => void,
  ) {}

  /** The first frame, answered to the subscribe call; the timer pushes the rest. */
  start(): StatsFrame {
    const frame = this.sampler.frame();
    this.nextAt = Date.now() + this.sampler.intervalMs;
    this.arm();
    return frame;
  }

  setInterval(ms: number): void {
    this.sampler.intervalMs = ms;
    this.nextAt = Date.now() + ms;
    this.arm();
  }

  /**
   * Frames are due at fixed steps from the start, so a slow frame does not make the
   * next one late; after a stall (a suspended laptop) it skips ahead rather than
   * pushing a burst of frames.
   */
  private arm(): void {
    if (this.stopped) return;
    if (this.timer !== null) clearTimeout(this.timer);
    const delay = Math.max(0, this.nextAt - Date.now());
    this.timer = setTimeout(() => this.tick(), delay);
    this.timer.unref();
  }

  private tick(): void {
    this.timer = null;
    if (this.stopped) return;
    this.push(this.sampler.frame());
    const step = this.sampler.intervalMs;
    this.nextAt += step;
    const now = Date.now();
    if (this.nextAt <= now) this.nextAt = now + step;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}


/**
 * The daemon's side of `xenemu top`: `stats.subscribe {intervalMs, selected?, vcpuTimes?}`
 * starts this connection's stream (one per connection; subscribing again restarts
 * it), `stats.select` and `stats.interval` change it, and it stops when the
 * connection closes or on `stats.unsubscribe`.
 */
export function statsMethods(machine: Machine, sources: StatsSources = machineSources(machine)): Record<string, RpcMethod> {
  const subs = new Map<RpcContext, Subscription>();
  const watched = new WeakSet<RpcContext>();
  const current = (ctx: RpcContext): Subscription => {
    const s = subs.get(ctx);
    if (s === undefined) throw new XenemuError('ENOENT', 'this connection has no stats subscription: call stats.subscribe first');
    return s;
  };
  return rpcMethods<StatsRpc>({
    'stats.subscribe': (p, ctx) => {
      subs.get(ctx)?.stop();
      const sampler = new StatsSampler(sources, { intervalMs: p.intervalMs, selected: p.selected ?? null, vcpuTimes: p.vcpuTimes === true });
      const sub = new Subscription(sampler, (frame) => ctx.push(STATS_EVENT, frame));
      if (!watched.has(ctx)) {
        watched.add(ctx);
        ctx.onClose(() => {
          subs.get(ctx)?.stop();
          subs.delete(ctx);
        });
      }
      subs.set(ctx, sub);
      return sub.start();
    },
    'stats.select': (p, ctx) => current(ctx).sampler.select(p.domid),
    'stats.interval': (p, ctx) => {
      current(ctx).setInterval(p.intervalMs);
      return null;
    },
    'stats.unsubscribe': (_raw, ctx) => {
      subs.get(ctx)?.stop();
      subs.delete(ctx);
      return null;
    },
  });
}
