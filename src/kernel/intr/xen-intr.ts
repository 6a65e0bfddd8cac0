import { DOMID, EVTCHN_2L_NR_CHANNELS } from '../../abi/index.js';
import type { Clock } from '../../hypervisor/clock.js';
import { isPerVcpuVirq, type GuestEventChannels } from '../../hypervisor/evtchn.js';
import type { Hypercalls } from '../../hypervisor/hypercalls.js';
import { costModel, type CostModel } from './cost-model.js';
import { IntrError } from './errors.js';
import { EvtchnDispatch, type PortHandler } from './evtchn-dispatch.js';
import type { CpuStatsState, IntrCounterState, XenIntrSourceState, XenIntrState } from './saved.js';
import type { CallbackMode, HandlerKind, IntrRow, IntrRowKind, IntrSnapshot } from './stats.js';

/**
 * A filter's verdict (FreeBSD's FILTER_HANDLED, FILTER_SCHEDULE_THREAD, FILTER_STRAY):
 * the filter runs in the upcall, with the port's pending bit cleared; it either did
 * all the work, or asks for the source's interrupt thread to run later, or says the
 * interrupt was not for it.
 */
export type FilterVerdict = 'handled' | 'schedule-thread' | 'stray';

/** A source's handlers: a filter, an ithread handler, or both (xen_intr_add_handler). */
export interface IntrHandlers {
  filter?: (src: XenIntrSource, vcpu: number) => FilterVerdict;
  ithread?: (src: XenIntrSource, vcpu: number) => void;
}

function handlerKindOf(h: IntrHandlers | null): HandlerKind {
  if (h === null) return 'none';
  if (h.filter && h.ithread) return 'both';
  return h.filter ? 'filter' : h.ithread ? 'ithread' : 'none';
}

/** FreeBSD's enum evtchn_type, without UNBOUND (a free source is not in the table). */
export type XenIntrType = 'port' | 'virq' | 'ipi' | 'pirq';

/**
 * Where FreeBSD numbers the event channel interrupt sources: after the I/O APIC pins
 * (256) and the MSI vectors (512) on amd64, so `vmstat -i` shows them as irq768 on.
 */
export const FIRST_EVTCHN_IRQ = 768;

/** Statistics of one source on one vCPU. */
class CpuStats {
  count = 0;
  dispatches = 0;
  filterNs = 0;
  ithreadNs = 0;
  ithreadRuns = 0;
  modelledNs = 0;
  stray = 0;
}

/**
 * An interrupt source bound to an event channel port (FreeBSD's struct xenisrc): its
 * type, port, the vCPU it is delivered to, its handlers and its statistics.
 */
export class XenIntrSource {
  type: XenIntrType = 'port';
  port = 0;
  /** The vCPU events are delivered to (xi_cpu). */
  cpu = 0;
  virq = -1;
  /** The layer opened the port, so it closes it on unbind (xi_close). */
  close = false;
  /** The port was masked already when the layer masked it for handling (xi_masked). */
  wasMasked = false;
  /** Its driver masked it and will unmask it itself (the user-space device does). */
  driverMasked = false;
  handlers: IntrHandlers | null = null;
  /**
   * How many events a notification stands for, asked at dispatch: a timer counting
   * the periods that passed, a device reporting what it posted. Default: one.
   */
  eventsOf: ((vcpu: number) => number) | null = null;
  /** The interrupt thread is queued to run (it coalesces until it does: it_need). */
  ithreadQueued = false;
  bound = false;
  private stats: Array<CpuStats | undefined> = [];

  constructor(
    /** The interrupt number (FIRST_EVTCHN_IRQ + allocation index, reused after release). */
    readonly irq: number,
    public name: string,
  ) {}

  /** Statistics on `vcpu`, created when first needed. */
  on(vcpu: number): CpuStats {
    let s = this.stats[vcpu];
    if (s === undefined) {
      s = new CpuStats();
      this.stats[vcpu] = s;
    }
    return s;
  }

  save(): XenIntrSourceState {
    return {
      irq: this.irq,
      name: this.name,
      type: this.type,
      port: this.port,
      cpu: this.cpu,
      virq: this.virq,
      close: this.close,
      wasMasked: this.wasMasked,
      driverMasked: this.driverMasked,
      handler: this.handlerKind,
      stats: Array.from(this.stats, (st) => (st === undefined ? null : { ...st })),
    };
  }

  /** Take a saved source's binding and statistics; it stays without handlers until its owner restores them. */
  load(s: XenIntrSourceState): void {
    this.reset(s.name);
    this.type = s.type;
    this.port = s.port;
    this.cpu = s.cpu;
    this.virq = s.virq;
    this.close = s.close;
    this.wasMasked = s.wasMasked;
    this.driverMasked = s.driverMasked;
    this.bound = true;
    this.stats = s.stats.map((st) => (st === null ? undefined : Object.assign(new CpuStats(), st satisfies CpuStatsState)));
  }

  /** Level-style sources get the mask/unmask dance; ordinary ports are edge-triggered. */
  get level(): boolean {
    return this.type === 'virq' || this.type === 'ipi';
  }

  get handlerKind(): HandlerKind {
    return handlerKindOf(this.handlers);
  }

  /** Reset for reuse from the free list. */
  reset(name: string): void {
    this.name = name;
    this.type = 'port';
    this.port = 0;
    this.cpu = 0;
    this.virq = -1;
    this.close = false;
    this.wasMasked = false;
    this.driverMasked = false;
    this.handlers = null;
    this.eventsOf = null;
    this.ithreadQueued = false;
    this.bound = false;
    this.stats = [];
  }

  /** Interrupts counted on every vCPU: a row's total. */
  count(): number {
    let n = 0;
    for (const s of this.stats) if (s !== undefined) n += s.count;
    return n;
  }

  /** Per-vCPU statistics, summed into a row. */
  row(nrVcpus: number, kind: IntrRowKind): IntrRow {
    const perCpu = new Array<number>(nrVcpus).fill(0);
    const row: IntrRow = {
      intrname: `irq${this.irq}: ${this.name}`,
      name: this.name,
      kind,
      irq: this.irq,
      port: this.port,
      virq: this.type === 'virq' ? this.virq : null,
      vcpu: this.cpu,
      handler: this.handlerKind,
      total: 0,
      perCpu,
      dispatches: 0,
      filterNs: 0,
      ithreadNs: 0,
      ithreadRuns: 0,
      modelledNs: 0,
      apicNs: 0,
      stray: 0,
    };
    this.stats.forEach((s, v) => {
      if (s === undefined) return;
      perCpu[v] = s.count;
      row.total += s.count;
      row.dispatches += s.dispatches;
      row.filterNs += s.filterNs;
      row.ithreadNs += s.ithreadNs;
      row.ithreadRuns += s.ithreadRuns;
      row.modelledNs += s.modelledNs;
      row.stray += s.stray;
    });
    return row;
  }
}

/**
 * A plain interrupt counter of one vCPU (FreeBSD's intrcnt_add): `cpuN:xen`, the
 * emulated LAPIC timer's `cpuN:timer`.
 */
export class IntrCounter {
  count = 0;
  dispatches = 0;
  measuredNs = 0;
  modelledNs = 0;
  apicNs = 0;

  constructor(
    readonly name: string,
    readonly kind: IntrRowKind,
    readonly vcpu: number,
  ) {}

  save(): IntrCounterState {
    const { name, kind, vcpu, count, dispatches, measuredNs, modelledNs, apicNs } = this;
    return { name, kind, vcpu, count, dispatches, measuredNs, modelledNs, apicNs };
  }

  static load(s: IntrCounterState): IntrCounter {
    const c = new IntrCounter(s.name, s.kind, s.vcpu);
    c.count = s.count;
    c.dispatches = s.dispatches;
    c.measuredNs = s.measuredNs;
    c.modelledNs = s.modelledNs;
    c.apicNs = s.apicNs;
    return c;
  }

  row(nrVcpus: number): IntrRow {
    const perCpu = new Array<number>(nrVcpus).fill(0);
    perCpu[this.vcpu] = this.count;
    return {
      intrname: this.name,
      name: this.name,
      kind: this.kind,
      irq: null,
      port: null,
      virq: null,
      vcpu: this.vcpu,
      handler: 'filter',
      total: this.count,
      perCpu,
      dispatches: this.dispatches,
      filterNs: this.measuredNs,
      ithreadNs: 0,
      ithreadRuns: 0,
      modelledNs: this.modelledNs,
      apicNs: this.apicNs,
      stray: 0,
    };
  }
}

export interface XenIntrOptions {
  hc: Hypercalls;
  clock: Clock;
  nrVcpus: number;
  /** How upcalls arrive: the kernel chose it when it installed its callback. */
  mode: CallbackMode;
  cost?: Partial<CostModel>;
  /** Whether a vCPU is up (default: VCPUOP_is_up). */
  online?: (vcpu: number) => boolean;
  /** Timer frequency, reported with the statistics. */
  hz?: number;
  /** Where a handler that threw is reported (the kernel's log). */
  onHandlerError?: (src: XenIntrSource, err: unknown) => void;
}

/**
 * The guest kernel's Xen interrupt layer, after FreeBSD's sys/dev/xen/bus/xen_intr.c
 * and sys/x86/xen/xen_arch_intr.c: interrupt sources bound to event channel ports,
 * the upcall that dispatches them (EvtchnDispatch's fair scan), the handlers as
 * FreeBSD's intr_event runs them (filter, interrupt thread, or both), per-vCPU port
 * ownership and rebinding, and the statistics `vmstat -i` prints.
 *
 * Source names follow FreeBSD: the upcall counter of each vCPU is `cpuN:xen`; a
 * device's port is named after the driver instance that bound it (`xenstore0`, `xc0`,
 * `xbd0`, `xn0`, `evtchn0` for the user-space device); per-vCPU VIRQs and IPIs are
 * `cpuN:<what>` (`cpu1:timer`, `cpu1:r` for the rendezvous IPI).
 *
 * Two kinds of sources are handled differently:
 * - an ordinary event channel port is edge-triggered: the scan cleared its pending
 *   bit before dispatch, so an event that arrives while the handler (or its thread)
 *   runs sets the bit again and is delivered by a later scan. Masking it would only
 *   cost an EVTCHNOP_unmask hypercall per event, so the layer never masks it (a
 *   driver may: the user-space device masks in its filter until the reader is done).
 * - VIRQs and IPIs are treated like level-triggered lines, masked from acknowledge to
 *   end of interrupt: the port is masked while its handlers run (the filter and, if
 *   it asked for one, the thread) and unmasked after, unless its driver masked it for
 *   its own reasons meanwhile (what xen_intr_disable_source keeps in xi_masked).
 *   FreeBSD itself masks only while a thread is pending (intr_event's pre_ithread
 *   and post_ithread); masking for the filter too is the stricter rule.
 */
export class XenIntr extends EvtchnDispatch {
  readonly cost: CostModel;
  readonly mode: CallbackMode;
  readonly hz: number;
  private readonly hc: Hypercalls;
  private readonly clock: Clock;
  private readonly table: GuestEventChannels;
  private readonly isOnline: (vcpu: number) => boolean;
  private readonly byPort: Array<XenIntrSource | undefined> = [];
  /** Every source ever allocated, by irq index (released ones wait on the free list). */
  private readonly isrcs: XenIntrSource[] = [];
  private readonly free: XenIntrSource[] = [];
  /** Sources loaded from a save whose owners have not installed their handlers again: the kind each had. */
  private readonly awaiting = new Map<number, HandlerKind>();
  /** intr_next_cpu's cursor for the round-robin placement of ports. */
  private nextCpu = 0;
  /** Names legacy bind() callers get for known ports (`xenstore0`, `xc0`). */
  private readonly expected = new Map<number, string>();
  /** `cpuN:xen`, one per vCPU. */
  readonly upcalls: IntrCounter[] = [];
  /** Other counters (the LAPIC timers). */
  private readonly counters: IntrCounter[] = [];
  /** Interrupt threads waiting to run, per vCPU. */
  private readonly ithreadQueues: XenIntrSource[][] = [];
  private readonly ithreadScheduled: Uint8Array;
  private readonly ithreadRunners: Array<() => void> = [];
  /** The measurement mark of the running upcall: time up to here is accounted. */
  private mark = 0;
  private stopped = false;
  /** The layer was resumed in a new domain (ports masked until their handlers are back). */
  private resumed = false;
  /** Modelled ns of one upcall (entry, plus the APIC accesses of the INTx path). */
  private readonly upcallModelNs: number;
  private readonly upcallApicNs: number;
  private readonly onHandlerError: (src: XenIntrSource, err: unknown) => void;

  constructor(o: XenIntrOptions) {
    super(o.hc.evtchn.shared, (v) => o.hc.evtchn.vcpuInfo(v), o.nrVcpus);
    this.hc = o.hc;
    this.clock = o.clock;
    this.table = o.hc.evtchn;
    this.mode = o.mode;
    this.hz = o.hz ?? 0;
    this.cost = costModel(o.cost);
    this.isOnline = o.online ?? ((v) => o.hc.vcpuOnline(v));
    this.upcallApicNs = this.mode === 'pci-intx' ? this.cost.intxApicAccesses * this.cost.apicAccessNs : 0;
    this.upcallModelNs = this.cost.upcallNs + this.upcallApicNs;
    this.onHandlerError = o.onHandlerError ?? (() => {});
    this.ithreadScheduled = new Uint8Array(o.nrVcpus);
    for (let v = 0; v < o.nrVcpus; v++) {
      this.upcalls.push(new IntrCounter(`cpu${v}:xen`, 'upcall', v));
      this.ithreadQueues.push([]);
      this.ithreadRunners.push(() => this.runIthreads(v));
    }
  }

  /**
   * xen_has_percpu_evtchn(): with the INTx callback Xen only ever interrupts vCPU 0,
   * so every port must stay there and moving one is refused (EOPNOTSUPP).
   */
  get percpuEvtchn(): boolean {
    return this.mode !== 'pci-intx';
  }

  // ------------------------------------------------------------------ upcall

  /**
   * The upcall handler the kernel installs: count it as `cpuN:xen`, scan and dispatch,
   * account the time. Returns true when it stopped early with more pending, so the
   * hypervisor delivers it again.
   */
  handleUpcall(vcpu: number): boolean {
    if (this.stopped) return false;
    this.upcall(vcpu);
    return this.yielded;
  }

  override upcall(vcpu: number): number {
    const c = this.upcalls[vcpu];
    if (c === undefined) return 0;
    c.count++;
    c.dispatches++;
    c.modelledNs += this.upcallModelNs;
    c.apicNs += this.upcallApicNs;
    const start = this.clock.now();
    this.mark = start;
    const served = super.upcall(vcpu);
    const end = this.clock.now();
    // What the scan itself took, beyond the filters (which took their share of marks).
    c.measuredNs += end - this.mark;
    this.hc.platform.chargeCpuTime(vcpu, end - start + this.upcallModelNs);
    return served;
  }

  protected override servePort(port: number, vcpu: number): void {
    const src = this.byPort[port];
    // FreeBSD: a pending port without a source is skipped (its bit is cleared).
    if (src === undefined) return;
    this.dispatch(src, vcpu);
  }

  /** intr_event_handle for one source: count, mask if level, filter, then thread or unmask. */
  private dispatch(src: XenIntrSource, vcpu: number): void {
    const st = src.on(vcpu);
    st.count += src.eventsOf === null ? 1 : src.eventsOf(vcpu);
    st.dispatches++;
    const h = src.handlers;
    if (h === null) {
      // No handler: a stray. Mask it so it stops firing, as intr_execute_handlers does.
      st.stray++;
      this.shared.testAndSetMask(src.port);
      return;
    }
    const level = src.level;
    if (level) src.wasMasked = this.shared.testAndSetMask(src.port);
    let verdict: FilterVerdict = 'schedule-thread';
    if (h.filter) {
      // A handler that throws is a driver bug; it must not take the host down with it.
      try {
        verdict = h.filter(src, vcpu);
      } catch (err) {
        this.onHandlerError(src, err);
        verdict = 'stray';
      }
    }
    const t = this.clock.now();
    st.filterNs += t - this.mark;
    this.mark = t;
    if (verdict === 'schedule-thread') {
      if (h.ithread) {
        // The source stays masked (if level) until its thread has run.
        this.scheduleThread(src, vcpu);
        return;
      }
      verdict = 'stray';
    }
    if (verdict === 'stray') st.stray++;
    if (level && !src.wasMasked && !src.driverMasked) {
      this.table.unmask(src.port);
      st.modelledNs += this.cost.hypercallNs;
    }
  }

  /**
   * intr_event_schedule_thread: queue the source's interrupt thread on this vCPU. It
   * runs after the upcall returns (never inside it), once however often it was asked
   * for meanwhile (FreeBSD's it_need).
   */
  private scheduleThread(src: XenIntrSource, vcpu: number): void {
    if (src.ithreadQueued) return;
    src.ithreadQueued = true;
    this.ithreadQueues[vcpu]!.push(src);
    if (this.ithreadScheduled[vcpu] === 0) {
      this.ithreadScheduled[vcpu] = 1;
      this.clock.defer(this.ithreadRunners[vcpu]!);
    }
  }

  private runIthreads(vcpu: number): void {
    this.ithreadScheduled[vcpu] = 0;
    const queue = this.ithreadQueues[vcpu]!;
    this.ithreadQueues[vcpu] = [];
    if (this.stopped) return;
    let charged = 0;
    for (const src of queue) {
      src.ithreadQueued = false;
      const fn = src.handlers?.ithread;
      if (!src.bound || fn === undefined) continue;
      const st = src.on(vcpu);
      const t0 = this.clock.now();
      try {
        fn(src, vcpu);
      } catch (err) {
        this.onHandlerError(src, err);
      }
      const dt = this.clock.now() - t0;
      st.ithreadNs += dt;
      st.ithreadRuns++;
      st.modelledNs += this.cost.ithreadSwitchNs;
      charged += dt + this.cost.ithreadSwitchNs;
      // intr_event's post_ithread: a level source is unmasked once its thread ran.
      if (src.level && !src.wasMasked && !src.driverMasked && src.bound) {
        this.table.unmask(src.port);
        st.modelledNs += this.cost.hypercallNs;
        charged += this.cost.hypercallNs;
      }
    }
    if (charged > 0) this.hc.platform.chargeCpuTime(vcpu, charged);
  }

  // ------------------------------------------------------------------ binding

  /** A source from the free list, or a new one with the next interrupt number. */
  private allocIsrc(name: string): XenIntrSource {
    const reused = this.free.pop();
    if (reused !== undefined) {
      reused.reset(name);
      return reused;
    }
    if (this.isrcs.length >= EVTCHN_2L_NR_CHANNELS) throw new IntrError('ENOSPC', 'Xen interrupts exhausted');
    const src = new XenIntrSource(FIRST_EVTCHN_IRQ + this.isrcs.length, name);
    this.isrcs.push(src);
    return src;
  }

  /**
   * xen_intr_bind_isrc: attach a source to a local port. Ordinary ports are spread
   * over the online vCPUs (intr_next_cpu); VIRQs and IPIs stay where Xen bound them.
   * With handlers, the port is unmasked (the interrupt is enabled).
   */
  private bindIsrc(port: number, type: XenIntrType, name: string, handlers: IntrHandlers | null, cpu: number | null, virq = -1): XenIntrSource {
    if (this.byPort[port] !== undefined) throw new IntrError('EEXIST', `port ${port} already has a source (${this.byPort[port]!.name})`);
    const src = this.allocIsrc(name);
    src.type = type;
    src.port = port;
    src.virq = virq;
    src.cpu = 0;
    src.bound = true;
    this.byPort[port] = src;
    this.cpuUnmaskPort(0, port);
    if (type === 'port') this.assignCpu(src, cpu ?? this.intrNextCpu());
    else if (cpu !== null && cpu !== 0) this.assignCpu(src, cpu);
    if (handlers !== null) {
      src.handlers = handlers;
      this.table.unmask(port);
    }
    return src;
  }

  /** intr_next_cpu: the next online vCPU, round robin; vCPU 0 when events are not per-vCPU. */
  intrNextCpu(): number {
    if (!this.percpuEvtchn) return 0;
    for (let i = 0; i < this.nrVcpus; i++) {
      const v = this.nextCpu;
      this.nextCpu = (this.nextCpu + 1) % this.nrVcpus;
      if (this.isOnline(v) && this.vcpuInfo(v) !== null) return v;
    }
    return 0;
  }

  /** xen_intr_bind_local_port: a port someone else opened; unbinding leaves it open. */
  bindLocalPort(name: string, port: number, handlers: IntrHandlers | null, cpu: number | null = null): XenIntrSource {
    this.table.channel(port);
    return this.bindIsrc(port, 'port', name, handlers, cpu);
  }

  /** xen_intr_alloc_and_bind_local_port: EVTCHNOP_alloc_unbound for `remoteDom`, then bind it. */
  allocAndBindLocalPort(name: string, remoteDom: number, handlers: IntrHandlers | null, cpu: number | null = null): XenIntrSource {
    const port = this.hc.evtchnAllocUnbound(DOMID.SELF, remoteDom);
    return this.adopt(port, () => this.bindIsrc(port, 'port', name, handlers, cpu));
  }

  /** xen_intr_bind_remote_port: EVTCHNOP_bind_interdomain, then bind the local port. */
  bindRemotePort(name: string, remoteDom: number, remotePort: number, handlers: IntrHandlers | null, cpu: number | null = null): XenIntrSource {
    const port = this.hc.evtchnBindInterdomain(remoteDom, remotePort);
    return this.adopt(port, () => this.bindIsrc(port, 'port', name, handlers, cpu));
  }

  /** xen_intr_bind_virq: EVTCHNOP_bind_virq on `cpu`, then bind it there. */
  bindVirq(name: string, virq: number, cpu: number, handlers: IntrHandlers | null): XenIntrSource {
    const port = this.table.bindVirq(virq, cpu);
    return this.adopt(port, () => this.bindIsrc(port, 'virq', name, handlers, cpu, virq));
  }

  /** xen_intr_alloc_and_bind_ipi: EVTCHNOP_bind_ipi for `cpu`; the source is `cpuN:<what>`. */
  allocAndBindIpi(cpu: number, what: string, filter: (src: XenIntrSource, vcpu: number) => FilterVerdict): XenIntrSource {
    const port = this.table.bindIpi(cpu);
    return this.adopt(port, () => this.bindIsrc(port, 'ipi', `cpu${cpu}:${what}`, { filter }, cpu));
  }

  /**
   * Physical IRQs (EVTCHNOP_bind_pirq, FreeBSD's xen_intr_pirq_pic for dom0's real
   * devices): a stub. xenemu passes no physical device through, so Xen refuses every
   * PIRQ (EPERM) and the layer never holds a 'pirq' source; the type exists so the
   * statistics and lsevtchn can name one.
   */
  bindPirq(_name: string, pirq: number, _handlers: IntrHandlers | null): XenIntrSource {
    const port = this.hc.evtchnBindPirq(pirq);
    return this.adopt(port, () => this.bindIsrc(port, 'pirq', _name, _handlers, 0));
  }

  /** A port the layer opened: it is closed again on unbind, or now if binding failed. */
  private adopt(port: number, bind: () => XenIntrSource): XenIntrSource {
    try {
      const src = bind();
      src.close = true;
      return src;
    } catch (err) {
      this.table.close(port);
      throw err;
    }
  }

  /** xen_intr_add_handler on a source bound without one: install and enable it. */
  addHandler(src: XenIntrSource, handlers: IntrHandlers): void {
    if (!src.bound || src.handlers !== null) throw new IntrError('EINVAL', `${src.name} already has a handler`);
    src.handlers = handlers;
    this.table.unmask(src.port);
  }

  /** xen_intr_describe: rename (FreeBSD appends the description to the handler's name). */
  describe(src: XenIntrSource, name: string): void {
    src.name = name;
  }

  /**
   * xen_intr_unbind / xen_intr_release_isrc: mask the port and drop anything pending,
   * take it off its vCPU, close it if the layer opened it, free the source for reuse.
   */
  unbindSource(src: XenIntrSource): void {
    if (!src.bound) return;
    const port = src.port;
    this.shared.testAndSetMask(port);
    this.shared.clearPending(port);
    const v = this.vcpuOf(port);
    if (v >= 0) this.cpuMaskPort(v, port);
    if (src.close) {
      try {
        this.table.close(port);
      } catch {
        // already closed (the domain is going away)
      }
    }
    this.byPort[port] = undefined;
    this.awaiting.delete(src.irq);
    src.bound = false;
    src.handlers = null;
    this.free.push(src);
  }

  /**
   * evtchn_mask_port, for drivers: a bit in shared_info, no hypercall. A driver that
   * masks its own source keeps it masked past the layer's handling until it unmasks
   * it (the layer does not undo it, which is what xi_masked is for in FreeBSD).
   */
  maskPort(port: number): void {
    this.shared.testAndSetMask(port);
    const src = this.byPort[port];
    if (src !== undefined) src.driverMasked = true;
  }

  /** evtchn_unmask_port: EVTCHNOP_unmask (Xen raises the port now if it became pending while masked). */
  unmaskPort(port: number): void {
    const src = this.byPort[port];
    if (src !== undefined) src.driverMasked = false;
    this.table.unmask(port);
  }

  /** xen_intr_signal: EVTCHNOP_send on a source's port (ports and IPIs only). */
  signal(src: XenIntrSource): void {
    if (src.type !== 'port' && src.type !== 'ipi') throw new IntrError('EINVAL', `${src.name} is a ${src.type} source: only ports and IPIs can be signalled`);
    this.table.send(src.port);
  }

  /**
   * xen_intr_assign_cpu: deliver a source to `cpu`. The port is masked meanwhile so no
   * event arrives with the binding half changed; for an ordinary port Xen is told
   * (EVTCHNOP_bind_vcpu), for VIRQs and IPIs Xen already notifies the vCPU they were
   * bound on and only the per-vCPU maps follow. Then the port is unmasked (unless it
   * was masked before), and unmask is what moves an event that was pending
   * meanwhile: Xen re-raises a pending port on unmask, now on the new vCPU, while its
   * selector bit on the old vCPU is ignored there since the old vCPU no longer owns it.
   */
  private assignCpu(src: XenIntrSource, cpu: number): void {
    if (!this.percpuEvtchn) {
      if (cpu !== 0) throw new IntrError('EOPNOTSUPP', 'events are delivered through the platform PCI device (INTx): they all arrive on vCPU 0 and cannot be moved');
      return;
    }
    const port = src.port;
    const masked = this.shared.testAndSetMask(port);
    try {
      if (src.type === 'port' || (src.type === 'virq' && !isPerVcpuVirq(src.virq) && cpu !== src.cpu)) this.table.bindVcpu(port, cpu);
      this.cpuUnmaskPort(cpu, port);
      src.cpu = cpu;
    } finally {
      if (!masked) this.table.unmask(port);
    }
  }

  /**
   * Move a source to another vCPU on request (`xenemu intr-bind`, FreeBSD's
   * `cpuset -x IRQ -l CPU`). Per-vCPU VIRQs and IPIs belong to their vCPU (Xen would
   * refuse EVTCHNOP_bind_vcpu with EINVAL), the target must be an online vCPU, and
   * with the INTx callback nothing moves (EOPNOTSUPP). Returns the vCPU it left.
   */
  rebindSource(src: XenIntrSource, cpu: number): number {
    if (!src.bound) throw new IntrError('EINVAL', `${src.name} is not bound`);
    if (!this.percpuEvtchn) {
      throw new IntrError('EOPNOTSUPP', 'events are delivered through the platform PCI device (INTx): they all arrive on vCPU 0 and cannot be moved (use callback: vector)');
    }
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.nrVcpus) throw new IntrError('EINVAL', `vCPU ${cpu} does not exist (the domain has vCPUs 0-${this.nrVcpus - 1})`);
    if (!this.isOnline(cpu)) throw new IntrError('EINVAL', `vCPU ${cpu} is offline`);
    if (src.type === 'ipi' || (src.type === 'virq' && isPerVcpuVirq(src.virq))) {
      throw new IntrError('EINVAL', `${src.name} is a per-vCPU ${src.type === 'ipi' ? 'IPI' : 'VIRQ'} of vCPU ${src.cpu}: it cannot move`);
    }
    const from = src.cpu;
    if (from !== cpu) this.assignCpu(src, cpu);
    return from;
  }

  /**
   * A vCPU is going down: move its ports to the other online vCPUs (Linux's
   * fixup_irqs). Its own VIRQs and IPIs stay; nothing fires for them while it is down.
   */
  cpuOffline(vcpu: number): void {
    if (!this.percpuEvtchn) return;
    for (const src of this.isrcs) {
      if (!src.bound || src.cpu !== vcpu) continue;
      if (src.type === 'ipi' || (src.type === 'virq' && isPerVcpuVirq(src.virq))) continue;
      let target = this.intrNextCpu();
      for (let i = 0; i < this.nrVcpus && (target === vcpu || !this.isOnline(target)); i++) target = this.intrNextCpu();
      if (target !== vcpu) this.assignCpu(src, target);
    }
  }

  // ------------------------------------------------------------------ the legacy port API

  /** Give the port's source a driver-instance name when a legacy bind() comes for it. */
  expectPort(port: number, name: string): void {
    this.expected.set(port, name);
  }

  /**
   * The original port API (bind a handler to a port): kept for the ring drivers and
   * dom0's daemons. It binds a filter-only source named after the driver instance the
   * kernel announced for the port (`xenstore0`, `xc0`), or `evtchn0`, the user-space
   * event channel device through which xenstored and xenconsoled bind theirs in dom0.
   * The vCPU argument predates the layer: like xen_intr_bind_local_port, the layer
   * places the port itself (round robin). The caller unmasks the port.
   */
  override bind(port: number, _vcpu: number, handler: PortHandler): void {
    const handlers: IntrHandlers = {
      filter: (_s, v) => {
        handler(port, v);
        return 'handled';
      },
    };
    // A ring driver binding its port again after a load takes back its own source.
    const loaded = this.byPort[port];
    if (loaded !== undefined && this.awaiting.has(loaded.irq)) {
      this.restoreHandlers(loaded.irq, handlers);
      return;
    }
    this.unbind(port);
    const name = this.expected.get(port) ?? 'evtchn0';
    this.expected.delete(port);
    const src = this.bindIsrc(port, 'port', name, null, null);
    src.handlers = handlers;
  }

  override unbind(port: number): void {
    const src = this.byPort[port];
    if (src !== undefined) this.unbindSource(src);
    else super.unbind(port);
  }

  override rebind(port: number, vcpu: number): void {
    const src = this.byPort[port];
    if (src !== undefined) this.rebindSource(src, vcpu);
  }

  // ------------------------------------------------------------------ lookup and statistics

  /** The source bound to a port. */
  sourceOf(port: number): XenIntrSource | undefined {
    return this.byPort[port];
  }

  /** Bound sources, by interrupt number. */
  sources(): XenIntrSource[] {
    return this.isrcs.filter((s) => s.bound);
  }

  /**
   * A source by what a user typed: an interrupt number (`768`, `irq768`, as cpuset -x
   * takes), a port (`port:5`), or a unique name (`xn0`, `cpu1:timer`).
   */
  findSource(spec: string): XenIntrSource {
    const s = spec.trim();
    let m = /^(?:irq)?([0-9]+):?$/.exec(s);
    if (m) {
      const irq = Number(m[1]);
      const src = this.isrcs[irq - FIRST_EVTCHN_IRQ];
      if (src === undefined || !src.bound) throw new IntrError('ENOENT', `no interrupt source irq${irq}${this.known()}`);
      return src;
    }
    m = /^port[:=]?([0-9]+)$/.exec(s);
    if (m) {
      const src = this.byPort[Number(m[1])];
      if (src === undefined) throw new IntrError('ENOENT', `no interrupt source on port ${m[1]}${this.known()}`);
      return src;
    }
    const matches = this.sources().filter((x) => x.name === s);
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) throw new IntrError('EINVAL', `"${s}" names ${matches.length} sources (${matches.map((x) => `irq${x.irq}`).join(', ')}): give the irq number`);
    throw new IntrError('ENOENT', `no interrupt source "${s}"${this.known()}`);
  }

  private known(): string {
    const names = [...new Set(this.sources().map((x) => x.name))];
    return names.length === 0 ? '' : ` (sources: ${names.slice(0, 12).join(', ')}${names.length > 12 ? ', ...' : ''})`;
  }

  /** A plain counter row (`cpuN:timer` of the emulated LAPIC timer). */
  addCounter(name: string, kind: IntrRowKind, vcpu: number): IntrCounter {
    const c = new IntrCounter(name, kind, vcpu);
    this.counters.push(c);
    return c;
  }

  /** Account modelled time of work done outside the upcall (a LAPIC timer interrupt). */
  charge(vcpu: number, ns: number): void {
    this.hc.platform.chargeCpuTime(vcpu, ns);
  }

  snapshot(): IntrSnapshot {
    const online: number[] = [];
    for (let v = 0; v < this.nrVcpus; v++) if (this.isOnline(v)) online.push(v);
    const rows: IntrRow[] = [...this.upcalls.map((c) => c.row(this.nrVcpus)), ...this.counters.map((c) => c.row(this.nrVcpus))];
    for (const src of this.isrcs) if (src.bound) rows.push(src.row(this.nrVcpus, src.type));
    return { callback: this.mode, vcpus: this.nrVcpus, online, hz: this.hz, cost: { ...this.cost }, rows };
  }

  /**
   * What snapshot()'s rows add up to, without building them (`top` reads it for every
   * domain on every frame): the upcall counters' total, and the other rows' total and
   * number.
   */
  totals(): { upcalls: number; others: number; otherRows: number } {
    const t = { upcalls: 0, others: 0, otherRows: 0 };
    for (const c of [...this.upcalls, ...this.counters]) {
      if (c.kind === 'upcall') t.upcalls += c.count;
      else {
        t.others += c.count;
        t.otherRows++;
      }
    }
    for (const src of this.isrcs) {
      if (!src.bound) continue;
      t.otherRows++;
      t.others += src.count();
    }
    return t;
  }

  /** A counter added with addCounter, by name. */
  counter(name: string): IntrCounter | undefined {
    return this.counters.find((c) => c.name === name);
  }

  // ------------------------------------------------------------------ save and load

  /** The layer's state in kernel memory (see saved.ts); nothing of shared_info is copied. */
  save(): XenIntrState {
    return {
      mode: this.mode,
      nrVcpus: this.nrVcpus,
      hz: this.hz,
      dispatch: this.saveDispatch(),
      allocated: this.isrcs.length,
      sources: this.sources().map((src) => src.save()),
      free: this.free.map((src) => src.irq),
      nextCpu: this.nextCpu,
      expected: [...this.expected],
      upcalls: this.upcalls.map((c) => c.save()),
      counters: this.counters.map((c) => c.save()),
      ithreadQueues: this.ithreadQueues.map((q) => q.map((src) => src.irq)),
      stopped: this.stopped,
    };
  }

  /**
   * Take a save into this layer, which must be fresh (built with the same vCPUs,
   * callback mode and timer frequency, nothing bound yet). The sources come back
   * bound to their ports and vCPUs, without handlers: each owner installs its own
   * again with restoreHandlers (a legacy bind() of the port does it too), and until
   * then an event on one is counted as a stray. Threads that were queued are queued
   * again. Nothing is asked of the hypervisor: the ports, their masks and pending bits
   * are its state and the memory image's.
   */
  load(s: XenIntrState): void {
    const where = 'saved interrupt layer';
    if (this.isrcs.length > 0 || this.counters.length > 0) throw new IntrError('EBUSY', 'a saved interrupt layer loads only into a fresh one');
    if (s.mode !== this.mode || s.nrVcpus !== this.nrVcpus || s.hz !== this.hz) {
      throw new IntrError('EINVAL', `${where} is for ${s.nrVcpus} vCPUs, ${s.mode}, ${s.hz} Hz; this kernel has ${this.nrVcpus}, ${this.mode}, ${this.hz} Hz`);
    }
    if (!Number.isInteger(s.allocated) || s.allocated < 0 || s.allocated > EVTCHN_2L_NR_CHANNELS) throw new IntrError('EINVAL', `${where}: ${s.allocated} interrupt numbers`);
    if (s.upcalls.length !== this.nrVcpus) throw new IntrError('EINVAL', `${where}: ${s.upcalls.length} upcall counters for ${this.nrVcpus} vCPUs`);
    const isrcs = Array.from({ length: s.allocated }, (_, i) => new XenIntrSource(FIRST_EVTCHN_IRQ + i, ''));
    const at = (irq: number, what: string): XenIntrSource => {
      const src = isrcs[irq - FIRST_EVTCHN_IRQ];
      if (src === undefined) throw new IntrError('EINVAL', `${where}: ${what} irq${irq} was never allocated`);
      return src;
    };
    const byPort = new Map<number, XenIntrSource>();
    for (const st of s.sources) {
      const src = at(st.irq, 'source');
      if (src.bound) throw new IntrError('EINVAL', `${where}: irq${st.irq} saved twice`);
      if (byPort.has(st.port)) throw new IntrError('EINVAL', `${where}: port ${st.port} has two sources`);
      src.load(st);
      byPort.set(st.port, src);
    }
    const free = s.free.map((irq) => at(irq, 'free'));
    if (new Set(free).size !== free.length || free.some((src) => src.bound) || free.length + s.sources.length !== s.allocated) {
      throw new IntrError('EINVAL', `${where}: the free list and the bound sources do not account for the ${s.allocated} interrupt numbers`);
    }
    const queues = s.ithreadQueues.map((q) => q.map((irq) => at(irq, 'queued thread of')));
    if (queues.length !== this.nrVcpus) throw new IntrError('EINVAL', `${where}: thread queues for ${queues.length} vCPUs`);
    this.loadDispatch(s.dispatch);
    this.isrcs.push(...isrcs);
    this.free.push(...free);
    for (const [port, src] of byPort) this.byPort[port] = src;
    for (const st of s.sources) if (st.handler !== 'none') this.awaiting.set(st.irq, st.handler);
    this.nextCpu = s.nextCpu;
    for (const [port, name] of s.expected) this.expected.set(port, name);
    this.upcalls.splice(0, this.upcalls.length, ...s.upcalls.map((c) => IntrCounter.load(c)));
    this.counters.push(...s.counters.map((c) => IntrCounter.load(c)));
    queues.forEach((q, v) => {
      for (const src of q) this.scheduleThread(src, v);
    });
    this.stopped = s.stopped;
  }

  /**
   * An owner installs its handlers on a source it had before a save (found by its
   * interrupt number, which it saved). They must be of the kind the source had: a
   * filter where there was a filter, a thread where there was one.
   */
  restoreHandlers(irq: number, handlers: IntrHandlers, eventsOf: ((vcpu: number) => number) | null = null): XenIntrSource {
    const src = this.isrcs[irq - FIRST_EVTCHN_IRQ];
    const want = this.awaiting.get(irq);
    if (src === undefined || want === undefined) throw new IntrError('EINVAL', `irq${irq} is not a loaded source waiting for its handlers`);
    const got = handlerKindOf(handlers);
    if (got !== want) throw new IntrError('EINVAL', `irq${irq} (${src.name}) had ${want} handlers, not ${got}`);
    src.handlers = handlers;
    src.eventsOf = eventsOf;
    this.awaiting.delete(irq);
    // After a resume every port started masked: the source is enabled once it can be handled.
    if (this.resumed && !src.driverMasked) this.table.unmask(src.port);
    return src;
  }

  /** Loaded sources whose owners have not installed their handlers again (a kernel checks none is left). */
  awaitingHandlers(): XenIntrSource[] {
    return [...this.awaiting.keys()].map((irq) => this.isrcs[irq - FIRST_EVTCHN_IRQ]!);
  }

  /**
   * xen_intr_resume, in a new domain (a restore, a migration), where none of the old
   * ports exists: every port is masked and forgotten. VIRQ and IPI sources are bound
   * again (EVTCHNOP_bind_virq, EVTCHNOP_bind_ipi) on the vCPU they were on, under the
   * same interrupt number, so their owners and statistics carry on; a global VIRQ is
   * bound on vCPU 0 and moved, as Xen allows only there. The sources of ordinary
   * ports are released without closing anything (their ports are gone with the old
   * domain): their drivers bind new ones as they reconnect. A rebound source whose
   * owner has not installed its handlers again (after a load) stays masked until
   * restoreHandlers does.
   */
  resume(): { virqs: number; ipis: number; forgotten: number } {
    for (let port = 0; port < EVTCHN_2L_NR_CHANNELS; port++) this.shared.testAndSetMask(port);
    this.resetDispatch();
    this.expected.clear();
    this.resumed = true;
    const counts = { virqs: 0, ipis: 0, forgotten: 0 };
    const live = this.sources();
    for (const src of live) this.byPort[src.port] = undefined;
    for (const src of live) {
      if (src.type !== 'virq' && src.type !== 'ipi') {
        src.bound = false;
        src.handlers = null;
        this.awaiting.delete(src.irq);
        this.free.push(src);
        counts.forgotten++;
        continue;
      }
      let port: number;
      if (src.type === 'ipi') {
        port = this.table.bindIpi(src.cpu);
        counts.ipis++;
      } else {
        const global = !isPerVcpuVirq(src.virq);
        port = this.table.bindVirq(src.virq, global ? 0 : src.cpu);
        if (global && src.cpu !== 0) this.table.bindVcpu(port, src.cpu);
        counts.virqs++;
      }
      src.port = port;
      src.wasMasked = false;
      this.byPort[port] = src;
      this.cpuUnmaskPort(src.cpu, port);
      if (src.handlers !== null && !src.driverMasked) this.table.unmask(port);
    }
    // A forgotten source's queued thread does not run: its driver's new source takes its events.
    for (const q of this.ithreadQueues) q.splice(0, q.length, ...q.filter((src) => src.bound));
    return counts;
  }

  /** The kernel is going away: run no more threads. */
  stop(): void {
    this.stopped = true;
  }
}
