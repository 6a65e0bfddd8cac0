import type { Clock } from './clock.js';
import { Domain, type DomainSpec, type ShutdownReason } from './domain.js';
import { EventChannelTable, type EventChannelHost } from './evtchn.js';
import type { HostModel } from './host-model.js';

/** What a guest kernel registers to be told that a vCPU has an upcall pending. */
export type UpcallHandler = (vcpu: number) => void;

/** DOMID_FIRST_RESERVED (xen.h): domids from here on are special values, never domains. */
export const DOMID_FIRST_RESERVED = 0x7ff0;

/** What a failed hypervisor operation says; `code` is the Xen errno name. */
export class HypervisorError extends Error {
  constructor(
    readonly code: 'ENOMEM' | 'EEXIST' | 'ESRCH' | 'EINVAL' | 'EBUSY' | 'EPERM' | 'ENOSPC' | 'ENOENT',
    message: string,
  ) {
    super(message);
    this.name = 'HypervisorError';
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
export class Hypervisor implements EventChannelHost {
  readonly domains = new Map<number, Domain>();
  private readonly upcalls = new Map<number, UpcallHandler>();
  /** vCPUs with an upcall already scheduled ("domid:vcpu"), so kicks coalesce. */
  private readonly kicked = new Set<string>();
  /** Xen hands out domids increasing from here, wrapping before the reserved range. */
  private nextDomid = 1;
  private readonly listeners = new Set<(e: DomainEvent) => void>();
  /** The hypervisor console (`xl dmesg`): "(XEN) ..." lines. */
  readonly consoleLog: string[] = [];
  readonly startedAtNs: number;

  constructor(
    readonly host: HostModel,
    readonly clock: Clock,
  ) {
    this.startedAtNs = clock.now();
    this.log(`Xen version ${host.xenMajor}.${host.xenMinor}${host.xenExtra} (xenemu)`);
    this.log(`Detected ${host.pcpus} CPUs, ${host.totalMemoryMiB} MiB of RAM`);
  }

  log(line: string): void {
    this.consoleLog.push(`(XEN) ${line}`);
    if (this.consoleLog.length > 10_000) this.consoleLog.splice(0, this.consoleLog.length - 10_000);
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
    return Math.max(0, this.totalKiB - used);
  }

  /** The id the next domain would get; the toolstack persists it so restarts do not reuse ids. */
  get domidCursor(): number {
    return this.nextDomid;
  }

  set domidCursor(next: number) {
    this.nextDomid = next >= 1 && next < DOMID_FIRST_RESERVED ? next : 1;
  }

  private allocateDomid(): number {
    for (let tries = 0; tries < DOMID_FIRST_RESERVED; tries++) {
      const id = this.nextDomid;
      this.nextDomid = id + 1 >= DOMID_FIRST_RESERVED ? 1 : id + 1;
      if (!this.domains.has(id)) return id;
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
      if (spec.domid < 0 || spec.domid >= DOMID_FIRST_RESERVED) throw new HypervisorError('EINVAL', `domid ${spec.domid} is reserved`);
    }
    if (spec.memoryKiB > this.freeKiB) {
      throw new HypervisorError('ENOMEM', `not enough free memory: ${Math.ceil(spec.memoryKiB / 1024)} MiB asked, ${Math.floor(this.freeKiB / 1024)} MiB free`);
    }
    const domid = spec.domid ?? this.allocateDomid();
    const domain = new Domain({ ...spec, domid }, this.clock.now());
    domain.pauseCount = 1;
    domain.evtchn = new EventChannelTable(this, domain, domain.sharedInfo, spec.maxEventChannels);
    this.domains.set(domid, domain);
    this.log(`d${domid}: created (${spec.type}, ${spec.maxVcpus} vCPUs, ${Math.round(spec.memoryKiB / 1024)} MiB)`);
    this.emit({ kind: 'created', domid });
    return domain;
  }

  get(domid: number): Domain {
    const d = this.domains.get(domid);
    if (d === undefined) throw new HypervisorError('ESRCH', `no domain ${domid}`);
    return d;
  }

  domain(domid: number): Domain {
    return this.get(domid);
  }

  /**
   * The guest's event callback (HYPERVISOR_set_callbacks for PV, HVM_PARAM_CALLBACK_IRQ
   * for HVM): what runs when one of its vCPUs has an upcall pending.
   */
  setUpcallHandler(domid: number, handler: UpcallHandler | null): void {
    if (handler === null) this.upcalls.delete(domid);
    else this.upcalls.set(domid, handler);
  }

  /**
   * vcpu_kick: make the vCPU take its upcall. It runs later (never inside the
   * hypercall that raised the event), once per kick however many events piled up, and
   * not while the domain is paused or shut down (unpause kicks it again).
   */
  kick(domain: Domain, vcpu: number): void {
    if (domain.paused || domain.shutdownReason !== null || domain.dying) return;
    const handler = this.upcalls.get(domain.domid);
    if (handler === undefined) return;
    const key = `${domain.domid}:${vcpu}`;
    if (this.kicked.has(key)) return;
    this.kicked.add(key);
    this.clock.defer(() => {
      this.kicked.delete(key);
      if (this.domains.get(domain.domid) === domain && !domain.paused) handler(vcpu);
    });
  }

  /** Kick every vCPU of a domain that has an upcall pending (after unpause). */
  private kickPending(domain: Domain): void {
    for (const v of domain.vcpus) {
      if (domain.evtchn?.vcpuInfo(v.id)?.evtchnUpcallPending) this.kick(domain, v.id);
    }
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
    this.emit({ kind: 'shutdown', domid, reason });
  }

  /** Tear a domain down; its memory returns to the host. */
  destroy(domid: number): void {
    const d = this.get(domid);
    d.dying = true;
    // Its event channels go first, so peers see their ends unbound.
    d.evtchn?.reset();
    this.upcalls.delete(domid);
    this.domains.delete(domid);
    this.log(`d${domid}: destroyed`);
    this.emit({ kind: 'destroyed', domid });
  }

  /**
   * Xen's max_pages for a domain (xl mem-max). Like Xen, a limit below the current
   * allocation is accepted: the domain simply cannot grow until it has shrunk below it.
   */
  setMaxMem(domid: number, kib: number): void {
    this.get(domid).maxKiB = kib;
  }
}
