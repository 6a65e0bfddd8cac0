import { DOMID, HVM_MAX_VCPUS, HVM_PARAM, HVM_PARAM_CALLBACK_TYPE, HVM_PARAM_CALLBACK_TYPE_SHIFT, VIRQ } from '../abi/index.js';
import type { Clock } from './clock.js';
import { Domain, type DomainSpec, type SavedDomain, type ShutdownReason } from './domain.js';
import { EventChannelTable, type EventChannelHost } from './evtchn.js';
import type { ForeignMapping } from './foreign-map.js';
import { DEFAULT_MAX_GRANT_FRAMES, DEFAULT_MAX_MAPTRACK_FRAMES, dropUnmatched, GrantTable, releaseMappings, type GrantHost } from './gnttab.js';
import type { HostModel } from './host-model.js';
import { GuestTimers, type LapicIsr } from './guest-timers.js';
import { DomainTimers } from './vtimers.js';
import { initialPcpus } from './placement.js';
import { XenemuError } from '../common/errors.js';
import { ConsoleRing } from './console-ring.js';
import { DebugKeys } from './keyhandlers.js';
import type { XenScheduler } from './host-model.js';
import { PoolScheduler } from './scheduler.js';

/** Each scheduler's opt_name (struct scheduler.name in xen/common/sched/*.c), as Xen's boot log names it. */
const SCHEDULER_NAMES: Record<XenScheduler, string> = {
  credit: 'SMP Credit Scheduler',
  credit2: 'SMP Credit Scheduler rev2',
  rtds: 'SMP RTDS Scheduler',
  arinc653: 'ARINC 653 Scheduler',
  null: 'null Scheduler',
};

/**
 * What a guest kernel registers to be told that a vCPU has an upcall pending. It may
 * return true when it stopped before its upcall flag was clear (to let other vCPUs
 * and domains run): Xen re-injects an upcall whose flag is still set when the vCPU
 * returns to the guest, so the vCPU is queued again.
 */
export type UpcallHandler = (vcpu: number) => unknown;

/**
 * How a domain's event upcall reaches it (the "callback via"):
 * - `pv`: a PV guest's direct upcall (HYPERVISOR_set_callbacks), on the notified vCPU;
 * - `vector`: HVM_PARAM_CALLBACK_IRQ type VECTOR, an IDT vector injected on the
 *   notified vCPU (what FreeBSD and Linux use when Xen offers
 *   XENFEAT_hvm_callback_vector; FreeBSD's vector is 0x93);
 * - `pci-intx` / `gsi`: the emulated platform PCI device's INTx line (or an ISA GSI)
 *   through the emulated I/O APIC. Xen only looks at vCPU 0 for these
 *   (hvm_assert_evtchn_irq: `else if ( v->vcpu_id == 0 ) hvm_set_callback_irq_level`),
 *   so events notified to any other vCPU raise no interrupt at all;
 * - `none`: an HVM guest that has not set HVM_PARAM_CALLBACK_IRQ yet gets nothing.
 */
export type CallbackVia =
  | { kind: 'pv' }
  | { kind: 'vector'; vector: number }
  | { kind: 'pci-intx'; slot: number; pin: number }
  | { kind: 'gsi'; gsi: number }
  | { kind: 'none' };

/** Per-domain upcall delivery state: which vCPUs have an upcall queued. */
interface Delivery {
  handler: UpcallHandler | null;
  via: CallbackVia;
  /** vCPU v has an upcall queued (coalesces kicks until it runs). */
  queued: Uint8Array;
  queue: number[];
  scheduled: boolean;
  run: () => void;
  /** Upcalls injected, per vCPU. */
  injected: Float64Array;
  /** Times the emulated INTx line was asserted (pci-intx / gsi only). */
  intxAssertions: number;
  /** vCPUs made to stop taking interrupts (fault vcpu-hang); null while none is. */
  hung: Set<number> | null;
}

/** Default timer slop: expiries of a domain are coalesced to multiples of this (see DomainTimers). */
export const DEFAULT_TIMER_SLOP_NS = 1e9;

/** Where the Xen heap frames shared with guests as grant-table frames are numbered from. */
const GRANT_FRAME_MFN_BASE = 0x4010000;

/** What a failed hypervisor operation says; `code` is the Xen errno name. */
export class HypervisorError extends XenemuError {
  constructor(
    override readonly code: 'ENOMEM' | 'EEXIST' | 'ESRCH' | 'EINVAL' | 'EBUSY' | 'EPERM' | 'ENOSPC' | 'ENOENT' | 'ENOSYS',
    message: string,
  ) {
    super(code, message);
  }
}

/** Domain state changes, as dom0 learns of them through VIRQ_DOM_EXC. */
export type DomainEvent =
  | { kind: 'created'; domid: number }
  | { kind: 'shutdown'; domid: number; reason: ShutdownReason }
  | { kind: 'destroyed'; domid: number };

export type NewDomainSpec = Omit<DomainSpec, 'domid'> & { domid?: number };

/**
 * The emulated Xen: the host's CPUs and memory, the domain table and its id
 * allocation, and the lifecycle operations the toolstack drives (create, pause,
 * shutdown, destroy). Guests reach it through their hypercall interface.
 */
export class Hypervisor implements EventChannelHost, GrantHost {
  readonly domains = new Map<number, Domain>();
  /**
   * Destroyed domains some of whose pages other domains still map: Xen keeps such a
   * domain (dying, out of the toolstack's sight) until the last of those pages is
   * unmapped, and its domid is not reused meanwhile.
   */
  readonly dying = new Map<number, Domain>();
  private nextGrantFrameMfn = GRANT_FRAME_MFN_BASE;
  private readonly delivery = new Map<number, Delivery>();
  /**
   * How far apart a domain's timer expiries may be coalesced (Xen's timer_slop, but
   * much larger: see DomainTimers). A smaller slop delivers ticks more often (counts
   * move more smoothly, at more CPU); the tick period delivers every tick on its own.
   */
  timerSlopNs = DEFAULT_TIMER_SLOP_NS;
  /** Xen hands out domids increasing from here, wrapping before the reserved range. */
  private nextDomid = 1;
  private readonly listeners = new Set<(e: DomainEvent) => void>();
  /** The hypervisor console (`xl dmesg`): "(XEN) ..." lines, bounded. */
  readonly console = new ConsoleRing();
  /** The debug keys (`xl debug-keys`), whose handlers print to that console. */
  readonly debugKeys = new DebugKeys(this);
  /** Xen's boot command line (`xl info`'s xen_commandline), set by whoever boots it. */
  commandLine = '';
  /** cpupool0's scheduler, the one Xen booted with: its parameters and checks. */
  readonly scheduler: PoolScheduler;
  readonly startedAtNs: number;

  constructor(
    readonly host: HostModel,
    readonly clock: Clock,
  ) {
    this.startedAtNs = clock.now();
    this.scheduler = new PoolScheduler(host.scheduler);
    this.log(`Xen version ${host.xenMajor}.${host.xenMinor}${host.xenExtra} (xenemu)`);
    this.log(`Detected ${host.pcpus} CPUs, ${host.totalMemoryMiB} MiB of RAM`);
    this.log(`System RAM: ${host.totalMemoryMiB}MB (${host.totalMemoryMiB * 1024}kB)`);
    this.log(`Using scheduler: ${SCHEDULER_NAMES[host.scheduler]} (${host.scheduler})`);
    this.log(`Brought up ${host.pcpus} CPUs`);
  }

  log(line: string): void {
    this.console.push(`(XEN) ${line}`);
    // New bytes in Xen's console ring: xenconsoled in dom0 reads them on VIRQ_CON_RING.
    this.sendGlobalVirq(VIRQ.CON_RING);
  }

  onDomainEvent(listener: (e: DomainEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: DomainEvent): void {
    for (const l of this.listeners) l(e);
  }

  get totalKiB(): number {
    return this.host.totalMemoryMiB * 1024;
  }

  /** Memory not given to any domain (nor kept by Xen), in KiB. */
  get freeKiB(): number {
    let used = this.host.xenReservedMiB * 1024;
    for (const d of this.domains.values()) used += d.currentKiB;
    for (const d of this.dying.values()) used += d.currentKiB;
    return Math.max(0, this.totalKiB - used);
  }

  /** The id the next domain would get; the toolstack persists it so restarts do not reuse ids. */
  get domidCursor(): number {
    return this.nextDomid;
  }

  set domidCursor(next: number) {
    this.nextDomid = next >= 1 && next < DOMID.FIRST_RESERVED ? next : 1;
  }

  /** A free domid, moving the cursor on: for a new domain, or one loaded from a save under a new id (a restore). */
  allocateDomid(): number {
    for (let tries = 0; tries < DOMID.FIRST_RESERVED; tries++) {
      const id = this.nextDomid;
      this.nextDomid = id + 1 >= DOMID.FIRST_RESERVED ? 1 : id + 1;
      if (!this.domains.has(id) && !this.dying.has(id)) return id;
    }
    throw new HypervisorError('ENOSPC', 'no free domain id');
  }

  /**
   * Create a domain, paused (as XEN_DOMCTL_createdomain leaves it: the toolstack builds
   * it, then unpauses it). Its memory comes out of the host's free memory.
   */
  createDomain(spec: NewDomainSpec): Domain {
    if (spec.domid !== undefined) {
      if (this.domains.has(spec.domid)) throw new HypervisorError('EEXIST', `domain ${spec.domid} exists`);
      if (this.dying.has(spec.domid)) throw new HypervisorError('EEXIST', `domain ${spec.domid} is still dying: other domains map some of its pages`);
      if (spec.domid < 0 || spec.domid >= DOMID.FIRST_RESERVED) throw new HypervisorError('EINVAL', `domid ${spec.domid} is reserved`);
    }
    // XEN_DOMCTL_createdomain (arch_sanitise_domain_config): Xen allows HVM_MAX_VCPUS to an
    // HVM guest and more to a PV one; xenemu runs at most HVM_MAX_VCPUS in any guest.
    if (!Number.isInteger(spec.maxVcpus) || spec.maxVcpus < 1 || spec.maxVcpus > HVM_MAX_VCPUS) {
      throw new HypervisorError('EINVAL', `max_vcpus ${spec.maxVcpus} is out of range: the hypervisor runs 1 to ${HVM_MAX_VCPUS} vCPUs per domain`);
    }
    if (spec.memoryKiB > this.freeKiB) {
      throw new HypervisorError('ENOMEM', `not enough free memory: ${Math.ceil(spec.memoryKiB / 1024)} MiB asked, ${Math.floor(this.freeKiB / 1024)} MiB free`);
    }
    const domid = spec.domid ?? this.allocateDomid();
    const domain = new Domain({ ...spec, domid }, this.clock.now());
    initialPcpus(domain.vcpus.length, this.host.pcpus).forEach((pcpu, i) => (domain.vcpus[i]!.pcpu = pcpu));
    domain.pauseCount = 1;
    domain.evtchn = new EventChannelTable(this, domain, domain.sharedInfo, spec.maxEventChannels);
    domain.grantTable = new GrantTable(spec.maxGrantFrames ?? DEFAULT_MAX_GRANT_FRAMES, spec.maxMaptrackFrames ?? DEFAULT_MAX_MAPTRACK_FRAMES, () => this.nextGrantFrameMfn++);
    this.install(domain);
    this.log(`d${domid}: created (${spec.type}, ${spec.maxVcpus} vCPUs, ${Math.round(spec.memoryKiB / 1024)} MiB)`);
    this.emit({ kind: 'created', domid });
    return domain;
  }

  /**
   * Save a domain (see SavedDomain): a snapshot; the domain goes on as it was. With
   * `pagesInPlace` the memory's pages are the domain's own frames (GuestMemory.save).
   */
  saveDomain(domid: number, options: { pagesInPlace?: boolean } = {}): SavedDomain {
    return this.get(domid).save(this.clock.now(), options);
  }

  /**
   * Bring saved domains in, under their saved domids. Domains saved together are
   * loaded together, so the event channels and grant mappings between them stay
   * connected; an interdomain port or a grant mapping whose other end is not in this
   * hypervisor is let go as if the other end had closed or unmapped (see
   * SavedGrantTable). Timers continue in phase. What is the guest's code, not Xen's,
   * is not in a save and comes from the loader: the upcall handler (setUpcallHandler,
   * which then delivers the upcalls still pending) and, for LAPIC timers, `lapicIsr`.
   */
  loadDomains(saved: readonly SavedDomain[], options: { lapicIsr?: (domid: number) => LapicIsr } = {}): Domain[] {
    const ids = new Set<number>();
    let kib = 0;
    for (const s of saved) {
      if (this.domains.has(s.domid) || this.dying.has(s.domid) || ids.has(s.domid)) throw new HypervisorError('EEXIST', `domain ${s.domid} exists`);
      if (!Number.isInteger(s.domid) || s.domid < 0 || s.domid >= DOMID.FIRST_RESERVED) throw new HypervisorError('EINVAL', `domid ${s.domid} is reserved`);
      ids.add(s.domid);
      kib += s.memory.reservation * 4;
    }
    if (kib > this.freeKiB) throw new HypervisorError('ENOMEM', `not enough free memory: ${Math.ceil(kib / 1024)} MiB asked, ${Math.floor(this.freeKiB / 1024)} MiB free`);
    // Everything is built before anything is installed, so a bad save changes nothing.
    const now = this.clock.now();
    const built = saved.map((s) => {
      const d = Domain.load(s, now);
      d.evtchn = EventChannelTable.load(this, d, s.evtchn);
      d.grantTable = GrantTable.load(s.grantTable, d.memory, () => this.nextGrantFrameMfn++);
      return d;
    });
    for (const d of built) this.install(d);
    for (const d of built) {
      d.evtchn!.unbindLostPeers();
      dropUnmatched(this, d);
      const callback = d.hvmParams.get(HVM_PARAM.CALLBACK_IRQ);
      if (callback !== undefined) this.setHvmParam(d.domid, HVM_PARAM.CALLBACK_IRQ, callback);
    }
    built.forEach((d, i) => {
      d.timers!.load(saved[i]!.timers, options.lapicIsr?.(d.domid));
      this.log(`d${d.domid}: loaded from a save (${d.type}, ${d.vcpus.length} vCPUs, ${Math.round(d.currentKiB / 1024)} MiB)`);
      this.emit({ kind: 'created', domid: d.domid });
    });
    return built;
  }

  /** Put a domain whose event channels and grant table are set up into the table, with its timers and upcall delivery. */
  private install(domain: Domain): void {
    domain.timers = new GuestTimers(domain, new DomainTimers(this.clock, () => this.timerSlopNs));
    this.delivery.set(domain.domid, this.newDelivery(domain));
    this.domains.set(domain.domid, domain);
  }

  get(domid: number): Domain {
    const d = this.domains.get(domid);
    if (d === undefined) throw new HypervisorError('ESRCH', `no domain ${domid}`);
    return d;
  }

  domain(domid: number): Domain {
    return this.get(domid);
  }

  /** A domain whose grants may be in use: a live one, or a dying one whose pages are still mapped. */
  grantDomain(domid: number): Domain | undefined {
    return this.domains.get(domid) ?? this.dying.get(domid);
  }

  /**
   * put_page on a page of `d` that another domain held. When a dying domain's last held
   * page goes, the domain goes with it (domain_destroy at its last reference).
   */
  putPage(d: Domain, page: Uint8Array): void {
    d.memory.putPage(page);
    if (d.dying && d.memory.heldOrphans === 0 && this.dying.delete(d.domid)) {
      this.log(`d${d.domid}: its last mapped page was unmapped; domain freed`);
    }
  }

  /** Undo a foreign mapping: its pages' references go back to their domain. */
  releaseForeignMapping(m: ForeignMapping): void {
    const d = this.grantDomain(m.dom);
    if (d === undefined) return;
    // A foreign mapping is writable: what the mapper wrote is in the frames now.
    for (const gfn of m.gfns) d.memory.markDirty(gfn);
    for (const p of m.pages) this.putPage(d, p);
  }

  private newDelivery(domain: Domain): Delivery {
    const n = domain.vcpus.length;
    const d: Delivery = {
      handler: null,
      via: domain.type === 'pv' ? { kind: 'pv' } : { kind: 'none' },
      queued: new Uint8Array(n),
      queue: [],
      scheduled: false,
      run: () => this.runUpcalls(domain, d),
      injected: new Float64Array(n),
      intxAssertions: 0,
      hung: null,
    };
    return d;
  }

  /**
   * The guest's event callback (HYPERVISOR_set_callbacks for PV, the IDT handler of
   * the callback vector or of the platform PCI device for HVM): what runs when one of
   * its vCPUs takes an upcall. For an HVM guest, where it is delivered is decided by
   * HVM_PARAM_CALLBACK_IRQ (setHvmParam).
   */
  setUpcallHandler(domid: number, handler: UpcallHandler | null): void {
    const d = this.delivery.get(domid);
    if (d === undefined) return;
    d.handler = handler;
    if (handler !== null) this.kickPending(this.get(domid));
  }

  /** How the domain's upcalls are delivered now. */
  callbackVia(domid: number): CallbackVia {
    return this.delivery.get(domid)?.via ?? { kind: 'none' };
  }

  /** Upcalls injected into each vCPU of a domain, and INTx assertions (for statistics). */
  deliveryCounters(domid: number): { injected: number[]; intxAssertions: number } {
    const d = this.delivery.get(domid);
    return { injected: d ? Array.from(d.injected) : [], intxAssertions: d?.intxAssertions ?? 0 };
  }

  /**
   * HVMOP_set_param. HVM_PARAM_CALLBACK_IRQ chooses how event upcalls reach an HVM
   * guest: the type in bits 63:56, then a vector, a PCI slot and INTx pin
   * (slot << 11 | pin), or a GSI (hvm/params.h). Setting it re-checks the vCPUs'
   * upcall flags, so events raised before the guest was ready are not lost.
   */
  setHvmParam(domid: number, index: number, value: bigint): void {
    const domain = this.get(domid);
    if (index === HVM_PARAM.CALLBACK_IRQ) {
      if (domain.type === 'pv') throw new HypervisorError('EINVAL', `domain ${domid} is PV: it takes its upcall through set_callbacks, not HVM_PARAM_CALLBACK_IRQ`);
      const type = Number(BigInt.asUintN(8, value >> BigInt(HVM_PARAM_CALLBACK_TYPE_SHIFT)));
      const low = Number(BigInt.asUintN(32, value));
      const d = this.delivery.get(domid)!;
      switch (type) {
        case HVM_PARAM_CALLBACK_TYPE.VECTOR:
          if (low < 0x10 || low > 0xff) throw new HypervisorError('EINVAL', `callback vector ${low} is not a valid IDT vector`);
          d.via = { kind: 'vector', vector: low };
          break;
        case HVM_PARAM_CALLBACK_TYPE.PCI_INTX:
          if (domain.type === 'pvh') throw new HypervisorError('EINVAL', 'a PVH domain has no emulated PCI bus: use the vector callback');
          d.via = { kind: 'pci-intx', slot: (low >> 11) & 0x1f, pin: low & 3 };
          break;
        case HVM_PARAM_CALLBACK_TYPE.GSI:
          d.via = low === 0 ? { kind: 'none' } : { kind: 'gsi', gsi: low };
          break;
        default:
          throw new HypervisorError('EINVAL', `HVM_PARAM_CALLBACK_IRQ type ${type} is not known`);
      }
      domain.hvmParams.set(index, value);
      this.kickPending(domain);
      return;
    }
    domain.hvmParams.set(index, value);
  }

  /**
   * vcpu_kick: make the vCPU take its upcall. It runs later (never inside the
   * hypercall that raised the event), once per kick however many events piled up, and
   * not while the domain is paused or shut down (unpause kicks it again). With an
   * INTx/GSI callback only vCPU 0's flag asserts the line, and the interrupt is taken
   * on vCPU 0 (the guest routes the platform device's interrupt there, as FreeBSD's
   * xenpci does with BUS_BIND_INTR).
   */
  kick(domain: Domain, vcpu: number): void {
    if (domain.paused || domain.shutdownReason !== null || domain.dying) return;
    const d = domain.evtchn === null ? undefined : this.delivery.get(domain.domid);
    if (d === undefined || d.handler === null) return;
    switch (d.via.kind) {
      case 'none':
        return;
      case 'pci-intx':
      case 'gsi':
        if (vcpu !== 0) return;
        d.intxAssertions++;
        break;
      default:
        break;
    }
    if (d.queued[vcpu] === 1 || domain.vcpus[vcpu]?.online !== true) return;
    if (d.hung !== null && d.hung.has(vcpu)) return;
    d.queued[vcpu] = 1;
    d.queue.push(vcpu);
    if (!d.scheduled) {
      d.scheduled = true;
      this.clock.defer(d.run);
    }
  }

  /**
   * Deliver the queued upcalls of a domain. A vCPU whose handler stopped early with
   * its flag still set is queued again, behind the others.
   */
  private runUpcalls(domain: Domain, d: Delivery): void {
    d.scheduled = false;
    const queue = d.queue;
    d.queue = [];
    for (const v of queue) d.queued[v] = 0;
    if (this.domains.get(domain.domid) !== domain || domain.paused || d.handler === null) return;
    for (const v of queue) {
      if (domain.shutdownReason !== null || domain.dying) return;
      d.injected[v]!++;
      if (d.handler(v) === true && domain.evtchn!.vcpuInfo(v)?.evtchnUpcallPending) this.kick(domain, v);
    }
  }

  /**
   * A vCPU that stops taking interrupts (fault vcpu-hang): its upcalls are not
   * delivered, so its events stay pending, until it is let go and takes them all.
   */
  hangVcpu(domid: number, vcpu: number, hung: boolean): void {
    const d = this.delivery.get(domid);
    if (d === undefined) return;
    if (hung) (d.hung ??= new Set()).add(vcpu);
    else {
      d.hung?.delete(vcpu);
      if (d.hung?.size === 0) d.hung = null;
      const domain = this.domains.get(domid);
      if (domain) this.kickPending(domain);
    }
  }

  /** Kick every vCPU of a domain that has an upcall pending (after unpause, vCPU up, callback set). */
  kickPending(domain: Domain): void {
    for (const v of domain.vcpus) {
      if (domain.evtchn?.vcpuInfo(v.id)?.evtchnUpcallPending) this.kick(domain, v.id);
    }
  }

  /**
   * Bring a domain up to date for someone reading its statistics: deliver the timer
   * and device expiries that are due but were coalesced, and run the upcalls that are
   * queued, now. Safe here because it is not called from inside a hypercall.
   */
  syncDomain(domid: number): void {
    this.domains.get(domid)?.timers?.wheel.flush();
    const d = this.delivery.get(domid);
    if (d?.scheduled) d.run();
  }

  /** send_global_virq: a global VIRQ goes to the domain that handles it, dom0 here. */
  sendGlobalVirq(virq: number): void {
    this.domains.get(0)?.evtchn?.raiseVirq(virq, 0);
  }

  pause(domid: number): void {
    this.get(domid).pauseCount++;
  }

  unpause(domid: number): void {
    const d = this.get(domid);
    if (d.pauseCount === 0) throw new HypervisorError('EINVAL', `domain ${domid} is not paused`);
    if (--d.pauseCount === 0) this.kickPending(d);
  }

  /**
   * A domain shut itself down (SCHEDOP_shutdown) or was made to: it stops running
   * and dom0 hears of it; what happens next is the toolstack's on_* policy.
   */
  shutdown(domid: number, reason: ShutdownReason): void {
    const d = this.get(domid);
    if (d.shutdownReason !== null) return;
    d.shutdownReason = reason;
    for (const v of d.vcpus) v.running = false;
    this.log(`d${domid}: shut down (${reason})`);
    // domain_shutdown tells the toolstack's domain through VIRQ_DOM_EXC.
    this.sendGlobalVirq(VIRQ.DOM_EXC);
    this.emit({ kind: 'shutdown', domid, reason });
  }

  /**
   * domain_resume (XEN_DOMCTL_resumedomain): a domain that shut down for a suspend runs
   * again in place, its memory and event channels as they were. Only a suspend can be
   * undone: a domain that powered off, rebooted or crashed is on its way out.
   */
  resumeDomain(domid: number): void {
    const d = this.get(domid);
    if (d.shutdownReason !== 'suspend') {
      throw new HypervisorError('EINVAL', `domain ${domid} is ${d.shutdownReason === null ? 'running' : `shut down (${d.shutdownReason})`}, not suspended`);
    }
    d.shutdownReason = null;
    this.log(`d${domid}: resumed`);
    if (!d.paused) this.kickPending(d);
  }

  /**
   * Tear a domain down (domain_kill); its memory returns to the host, except pages other
   * domains still map, which stay (and keep the domain, dying) until they are unmapped.
   */
  destroy(domid: number): void {
    const d = this.get(domid);
    d.dying = true;
    // Its event channels go first, so peers see their ends unbound.
    d.evtchn?.reset();
    // gnttab_release_mappings, and its foreign mappings: what it mapped of others goes
    // before its own memory does.
    releaseMappings(this, d);
    for (const m of d.foreignMaps.removeAll()) this.releaseForeignMapping(m);
    d.timers?.close();
    this.delivery.delete(domid);
    this.domains.delete(domid);
    const held = d.memory.relinquish();
    if (held > 0) {
      this.dying.set(domid, d);
      this.log(`d${domid}: ${held} of its pages are still mapped by other domains; they stay until unmapped`);
    }
    this.log(`d${domid}: destroyed`);
    this.sendGlobalVirq(VIRQ.DOM_EXC);
    this.emit({ kind: 'destroyed', domid });
  }
}
