import { EVTCHN_2L_NR_CHANNELS, EVTCHNSTAT, SharedInfoView, VcpuInfoView, VIRQ } from '../abi/index.js';
import type { Domain } from './domain.js';
import { HypervisorError } from './hypervisor.js';

/** EVTCHNSTAT_* states (event_channel.h), by name; a free port has no Channel at all. */
export type ChannelState = 'unbound' | 'interdomain' | 'pirq' | 'virq' | 'ipi';

export interface Channel {
  state: ChannelState;
  /** The vCPU notified when the port fires (Xen's notify_vcpu_id). */
  vcpu: number;
  /** unbound: the domain allowed to bind; interdomain: the peer. */
  remoteDomid: number;
  /** interdomain: the peer's port. */
  remotePort: number;
  virq: number;
}

/** EVTCHNOP_status's answer (struct evtchn_status), by name. */
export type ChannelStatus =
  | { status: 'closed'; vcpu: number }
  | { status: 'unbound'; vcpu: number; remoteDomid: number }
  | { status: 'interdomain'; vcpu: number; remoteDomid: number; remotePort: number }
  | { status: 'pirq'; vcpu: number; pirq: number }
  | { status: 'virq'; vcpu: number; virq: number }
  | { status: 'ipi'; vcpu: number };

/** The numeric EVTCHNSTAT_* of a status, for tools that print it. */
export function evtchnStatCode(s: ChannelStatus): number {
  return EVTCHNSTAT[s.status];
}

/** NR_VIRQS (xen.h): VIRQ numbers run 0..23. */
export const NR_VIRQS = 24;

/**
 * Xen grows a domain's port table in buckets (EVTCHNS_PER_BUCKET) and never shrinks
 * it; EVTCHNOP_status answers "closed" for a free port inside the table and EINVAL
 * beyond it, which is how lsevtchn finds the end of the list.
 */
const EVTCHNS_PER_BUCKET = 64;

/** What the event channel code needs from the hypervisor. */
export interface EventChannelHost {
  domain(domid: number): Domain;
  /** The domain's vCPU has an upcall pending (its evtchn_upcall_pending went 0 → 1). */
  kick(domain: Domain, vcpu: number): void;
}

/**
 * A domain's event channels as saved: what Xen keeps about its ports outside guest
 * memory. The pending and mask bits are in shared_info and the selector and upcall
 * flags in each vcpu_info, which are saved with the domain's shared_info page and
 * memory; where each vCPU's vcpu_info lives is saved with the vCPU.
 */
export interface SavedEventChannels {
  maxPorts: number;
  /** Ports 0..tableSize-1 exist (the table grows in buckets and never shrinks). */
  tableSize: number;
  ports: Array<Channel & { port: number }>;
  /** Xen's virq_to_evtchn: the port each (vCPU, VIRQ) is registered under. */
  virqs: Array<{ vcpu: number; virq: number; port: number }>;
  counters: EventChannelCounters;
}

/** Per-domain delivery counters, the hypervisor's side of the interrupt statistics. */
export interface EventChannelCounters {
  /** EVTCHNOP_send calls that found a bound port. */
  sends: number;
  /** evtchn_2l_set_pending calls on this domain's ports (sends, VIRQs, device events). */
  raises: number;
  /** Raises that found the port already pending and were absorbed. */
  coalesced: number;
  /** Raises that found the port masked (they stay pending, no upcall). */
  masked: number;
  /** evtchn_upcall_pending 0 → 1 transitions, each a kick of a vCPU. */
  kicks: number;
}

/**
 * A domain's ports, and delivery on the real bits: evtchn_pending and evtchn_mask in
 * its shared_info, evtchn_pending_sel and evtchn_upcall_pending in the notified vCPU's
 * vcpu_info (xen/common/event_channel.c and event_2l.c, Xen 4.17). 4096 ports for a
 * 64-bit guest (64 words × 64 bits), of which a domain may use max_event_channels;
 * port 0 is reserved and never handed out.
 *
 * Errors are the errno Xen returns for the same call: ESRCH for a domain that does
 * not exist, EINVAL for a port that is outside the table, free, or in the wrong state
 * (including binding a port that was not offered to you: Xen checks the offer and
 * answers EINVAL, not EPERM), ENOENT for a vCPU that does not exist, EEXIST for a
 * VIRQ bound twice on a vCPU, ENOSPC when the domain has no free port.
 */
export class EventChannelTable {
  readonly ports: Array<Channel | undefined> = [];
  readonly shared: SharedInfoView;
  readonly counters: EventChannelCounters = { sends: 0, raises: 0, coalesced: 0, masked: 0, kicks: 0 };
  /** Where each vCPU receives its flags: a shared_info slot, a registered area, or null. */
  private readonly infos: Array<VcpuInfoView | null> = [];
  /** Xen's v->virq_to_evtchn[], flattened: vcpu * NR_VIRQS + virq → port (0: unbound). */
  private readonly virqToPort: Int32Array;
  /** The highest port the domain may allocate (Xen's max_evtchn_port). */
  readonly maxPort: number;
  /** Ports 0..validPorts-1 exist in the table (Xen's valid_evtchns). */
  private validPorts = EVTCHNS_PER_BUCKET;

  constructor(
    private readonly host: EventChannelHost,
    readonly domain: Domain,
    sharedInfoPage: Uint8Array,
    /**
     * The most ports this domain may use: xl.cfg max_event_channels (libxl's default is
     * 1023) for guests; a domain created without a limit, like dom0, has all 4095 of
     * the 2-level ABI (Xen's max_evtchn_port starts unlimited).
     */
    readonly maxPorts = EVTCHN_2L_NR_CHANNELS - 1,
  ) {
    this.shared = new SharedInfoView(sharedInfoPage);
    this.maxPort = Math.min(EVTCHN_2L_NR_CHANNELS - 1, maxPorts);
    const n = domain.vcpus.length;
    for (let v = 0; v < n; v++) this.infos.push(v < 32 ? this.shared.vcpuInfo(v) : null);
    this.virqToPort = new Int32Array(n * NR_VIRQS);
  }

  save(): SavedEventChannels {
    const ports: SavedEventChannels['ports'] = [];
    this.ports.forEach((ch, port) => ch !== undefined && ports.push({ port, ...ch }));
    const virqs: SavedEventChannels['virqs'] = [];
    this.virqToPort.forEach((port, slot) => port !== 0 && virqs.push({ vcpu: Math.floor(slot / NR_VIRQS), virq: slot % NR_VIRQS, port }));
    return { maxPorts: this.maxPorts, tableSize: this.validPorts, ports, virqs, counters: { ...this.counters } };
  }

  /**
   * A domain's table from a save. `domain` is the loaded domain: its shared_info page
   * and memory already hold the pending and mask bits, and its vCPUs say where their
   * vcpu_info is (a registered one is found again in the loaded memory, contents as
   * saved). Peers of interdomain ports are not checked here (the hypervisor does, once
   * every domain of the load is in).
   */
  static load(host: EventChannelHost, domain: Domain, saved: SavedEventChannels): EventChannelTable {
    const t = new EventChannelTable(host, domain, domain.sharedInfo, saved.maxPorts);
    if (!Number.isInteger(saved.tableSize) || saved.tableSize % EVTCHNS_PER_BUCKET !== 0 || saved.tableSize > EVTCHN_2L_NR_CHANNELS) {
      throw new HypervisorError('EINVAL', `saved event channel table size ${saved.tableSize} is not a whole number of ${EVTCHNS_PER_BUCKET}-port buckets`);
    }
    t.validPorts = Math.max(EVTCHNS_PER_BUCKET, saved.tableSize);
    for (const { port, ...ch } of saved.ports) {
      if (!(port >= 1 && port <= t.maxPort && port < t.validPorts)) throw new HypervisorError('EINVAL', `saved port ${port} is outside domain ${domain.domid}'s table`);
      t.ports[port] = ch;
    }
    for (const { vcpu, virq, port } of saved.virqs) t.virqToPort[vcpu * NR_VIRQS + virq] = port;
    for (const v of domain.vcpus) {
      if (v.vcpuInfo.kind === 'registered' && v.vcpuInfo.gfn >= 0) t.infos[v.id] = new VcpuInfoView(domain.memory.page(v.vcpuInfo.gfn), v.vcpuInfo.offset);
    }
    Object.assign(t.counters, saved.counters);
    return t;
  }

  /**
   * An interdomain port whose peer does not point back at it (the peer is not in this
   * hypervisor, or was loaded without this channel) becomes what it would be had the
   * peer closed its end: unbound, open to the peer again, so either side can bind anew.
   */
  unbindLostPeers(): void {
    this.ports.forEach((ch, port) => {
      if (ch?.state !== 'interdomain') return;
      let peer: Channel | undefined;
      try {
        peer = this.host.domain(ch.remoteDomid).evtchn?.ports[ch.remotePort];
      } catch {
        peer = undefined;
      }
      if (peer?.state === 'interdomain' && peer.remoteDomid === this.domain.domid && peer.remotePort === port) return;
      ch.state = 'unbound';
      ch.remotePort = 0;
    });
  }

  /** Where vCPU `v` receives its upcall flags, or null (a vCPU ≥ 32 before it registered). */
  vcpuInfo(v: number): VcpuInfoView | null {
    return this.infos[v] ?? null;
  }

  /**
   * VCPUOP_register_vcpu_info: from now on vCPU `v` takes its vcpu_info at `view`. Xen
   * copies the old contents over, then sets every selector bit and the upcall flag so
   * the guest rescans and nothing raised meanwhile is lost.
   */
  registerVcpuInfo(v: number, view: VcpuInfoView): void {
    const old = this.vcpuInfo(v);
    if (old !== null) view.copyFrom(old);
    this.infos[v] = view;
    view.pendingSel.fill(true);
    view.evtchnUpcallPending = 1;
  }

  /** Whether `port` is inside the table (Xen's port_is_valid). */
  isValid(port: number): boolean {
    return Number.isInteger(port) && port >= 0 && port < this.validPorts;
  }

  /** get_free_port: the lowest free port, growing the table a bucket at a time. */
  private allocate(ch: Channel): number {
    if (this.domain.dying) throw new HypervisorError('EINVAL', `domain ${this.domain.domid} is dying`);
    for (let port = 1; port <= this.maxPort; port++) {
      if (this.ports[port] === undefined) {
        this.ports[port] = ch;
        if (port >= this.validPorts) this.validPorts = Math.min(EVTCHN_2L_NR_CHANNELS, (Math.floor(port / EVTCHNS_PER_BUCKET) + 1) * EVTCHNS_PER_BUCKET);
        // A fresh port starts not pending; its mask bit is the guest's business (kernels
        // mask every port at boot and unmask the ones they bind).
        this.shared.clearPending(port);
        return port;
      }
    }
    throw new HypervisorError('ENOSPC', `domain ${this.domain.domid} has no free event channel (max_event_channels ${this.maxPorts})`);
  }

  /** The bound channel at `port`, or EINVAL (outside the table, port 0, or free). */
  channel(port: number): Channel {
    const ch = this.isValid(port) ? this.ports[port] : undefined;
    if (ch === undefined) throw new HypervisorError('EINVAL', `port ${port} of domain ${this.domain.domid} is not bound`);
    return ch;
  }

  private checkVcpu(vcpu: number): void {
    if (!Number.isInteger(vcpu) || vcpu < 0 || vcpu >= this.domain.vcpus.length) {
      throw new HypervisorError('ENOENT', `domain ${this.domain.domid} has no vCPU ${vcpu}`);
    }
  }

  /**
   * EVTCHNOP_alloc_unbound: a port `remoteDomid` may later bind to. A remote of
   * DOMID_SELF has been resolved by the caller; the remote domain need not exist yet.
   */
  allocUnbound(remoteDomid: number): number {
    return this.allocate({ state: 'unbound', vcpu: 0, remoteDomid, remotePort: 0, virq: -1 });
  }

  /** EVTCHNOP_bind_interdomain: connect a new local port to the peer's unbound port. */
  bindInterdomain(remoteDomid: number, remotePort: number): number {
    const peerDomain = this.host.domain(remoteDomid); // ESRCH
    const peer = peerDomain.evtchn!;
    const rch = peer.isValid(remotePort) ? peer.ports[remotePort] : undefined;
    if (rch === undefined) throw new HypervisorError('EINVAL', `port ${remotePort} of domain ${remoteDomid} is not allocated`);
    if (rch.state !== 'unbound' || rch.remoteDomid !== this.domain.domid) {
      throw new HypervisorError(
        'EINVAL',
        rch.state !== 'unbound'
          ? `port ${remotePort} of domain ${remoteDomid} is ${rch.state === 'interdomain' ? 'already connected' : `a ${rch.state} port`}`
          : `port ${remotePort} of domain ${remoteDomid} is not open to domain ${this.domain.domid} (it waits for domain ${rch.remoteDomid})`,
      );
    }
    const port = this.allocate({ state: 'interdomain', vcpu: 0, remoteDomid, remotePort, virq: -1 });
    rch.state = 'interdomain';
    rch.remoteDomid = this.domain.domid;
    rch.remotePort = port;
    // The peer may have signalled while its port was unbound; Xen conservatively raises
    // the new local port so that notification is not lost (evtchn_bind_interdomain).
    this.raise(port);
    return port;
  }

  /**
   * EVTCHNOP_bind_virq. Per-vCPU VIRQs (TIMER, DEBUG, XENOPROF, XENPMU) bind on any
   * vCPU; a global one only on vCPU 0 (EINVAL otherwise), from where bind_vcpu may
   * move it.
   */
  bindVirq(virq: number, vcpu: number): number {
    if (!Number.isInteger(virq) || virq < 0 || virq >= NR_VIRQS) throw new HypervisorError('EINVAL', `VIRQ ${virq} does not exist (0..${NR_VIRQS - 1})`);
    if (!isPerVcpuVirq(virq) && vcpu !== 0) throw new HypervisorError('EINVAL', `VIRQ ${virq} is global: bind it on vCPU 0`);
    this.checkVcpu(vcpu);
    const slot = vcpu * NR_VIRQS + virq;
    if (this.virqToPort[slot] !== 0) throw new HypervisorError('EEXIST', `VIRQ ${virq} is already bound on vCPU ${vcpu} (port ${this.virqToPort[slot]})`);
    const port = this.allocate({ state: 'virq', vcpu, remoteDomid: this.domain.domid, remotePort: 0, virq });
    this.virqToPort[slot] = port;
    return port;
  }

  /** EVTCHNOP_bind_ipi: a port that, sent on, interrupts `vcpu` of this domain. */
  bindIpi(vcpu: number): number {
    this.checkVcpu(vcpu);
    return this.allocate({ state: 'ipi', vcpu, remoteDomid: this.domain.domid, remotePort: 0, virq: -1 });
  }

  /** The local port bound to a VIRQ on a vCPU, if any (Xen's v->virq_to_evtchn). */
  virqPort(virq: number, vcpu: number): number | null {
    const port = this.virqToPort[vcpu * NR_VIRQS + virq];
    return port === undefined || port === 0 ? null : port;
  }

  /**
   * EVTCHNOP_close. Closing one end of an interdomain channel leaves the other end
   * unbound and open to the closer again, as Xen does, so the peer can rebind. The
   * freed port goes back to vCPU 0 and loses any pending event (free_evtchn).
   */
  close(port: number): void {
    const ch = this.channel(port);
    if (ch.state === 'interdomain') {
      const rch = this.host.domain(ch.remoteDomid).evtchn?.ports[ch.remotePort];
      if (rch !== undefined && rch.state === 'interdomain' && rch.remotePort === port && rch.remoteDomid === this.domain.domid) {
        rch.state = 'unbound';
        rch.remoteDomid = this.domain.domid;
        rch.remotePort = 0;
      }
    } else if (ch.state === 'virq') {
      const slot = ch.vcpu * NR_VIRQS + ch.virq;
      if (this.virqToPort[slot] === port) this.virqToPort[slot] = 0;
      // A global VIRQ moved by bind_vcpu is still registered under vCPU 0.
      if (this.virqToPort[ch.virq] === port) this.virqToPort[ch.virq] = 0;
    }
    this.ports[port] = undefined;
    this.shared.clearPending(port);
  }

  /** EVTCHNOP_send: interdomain raises the peer's port, IPI our own; unbound drops it. */
  send(port: number): void {
    const ch = this.channel(port);
    switch (ch.state) {
      case 'interdomain': {
        this.counters.sends++;
        this.host.domain(ch.remoteDomid).evtchn!.raise(ch.remotePort);
        return;
      }
      case 'ipi':
        this.counters.sends++;
        this.raise(port);
        return;
      case 'unbound':
        // Nobody is listening yet; Xen silently drops it and reports success.
        return;
      default:
        throw new HypervisorError('EINVAL', `port ${port} of domain ${this.domain.domid} is a ${ch.state} port: only interdomain and IPI ports can be sent on`);
    }
  }

  /** EVTCHNOP_status for one of this domain's ports. */
  status(port: number): ChannelStatus {
    if (!this.isValid(port)) throw new HypervisorError('EINVAL', `port ${port} is outside domain ${this.domain.domid}'s event channel table (0..${this.validPorts - 1})`);
    const ch = this.ports[port];
    if (ch === undefined) return { status: 'closed', vcpu: 0 };
    switch (ch.state) {
      case 'unbound':
        return { status: 'unbound', vcpu: ch.vcpu, remoteDomid: ch.remoteDomid };
      case 'interdomain':
        return { status: 'interdomain', vcpu: ch.vcpu, remoteDomid: ch.remoteDomid, remotePort: ch.remotePort };
      case 'virq':
        return { status: 'virq', vcpu: ch.vcpu, virq: ch.virq };
      case 'ipi':
        return { status: 'ipi', vcpu: ch.vcpu };
      case 'pirq':
        return { status: 'pirq', vcpu: ch.vcpu, pirq: ch.remotePort };
    }
  }

  /** One past the highest port of the table (what a status scan may ask for). */
  get tableSize(): number {
    return this.validPorts;
  }

  /**
   * Raise a port, exactly as evtchn_2l_set_pending: set pending; if it was newly set
   * and the port is not masked, set the word's selector bit in the target vCPU's
   * vcpu_info, and if that was newly set, the upcall flag; a newly set flag kicks the
   * vCPU. A masked port stays pending without an upcall; unmask re-raises it.
   */
  raise(port: number): void {
    const ch = this.ports[port];
    if (ch === undefined) return;
    const c = this.counters;
    c.raises++;
    if (this.shared.testAndSetPending(port)) {
      c.coalesced++;
      return;
    }
    if (this.shared.isMasked(port)) {
      c.masked++;
      return;
    }
    this.markPending(ch.vcpu, port);
  }

  /** send_guest_vcpu_virq / send_guest_global_virq: raise the port bound to a VIRQ, if any. */
  raiseVirq(virq: number, vcpu = 0): boolean {
    const port = this.virqToPort[vcpu * NR_VIRQS + virq];
    if (port === undefined || port === 0) return false;
    this.raise(port);
    return true;
  }

  private markPending(vcpu: number, port: number): void {
    const info = this.infos[vcpu];
    // A vCPU ≥ 32 that has not registered its vcpu_info yet writes to Xen's dummy;
    // registration then sets every selector bit, so nothing is lost.
    if (info === null || info === undefined) return;
    if (info.testAndSetSel(port >> 6)) return;
    if (info.testAndSetUpcallPending()) return;
    this.counters.kicks++;
    this.host.kick(this.domain, vcpu);
  }

  /**
   * EVTCHNOP_unmask: clear the mask; a port that was pending meanwhile fires now, on
   * the vCPU it is bound to today. Xen checks only that the port is inside the table.
   */
  unmask(port: number): void {
    if (!this.isValid(port)) throw new HypervisorError('EINVAL', `port ${port} is outside domain ${this.domain.domid}'s event channel table`);
    if (this.shared.testAndClearMask(port) && this.shared.testPending(port)) this.markPending(this.ports[port]?.vcpu ?? 0, port);
  }

  /**
   * EVTCHNOP_bind_vcpu: deliver the port to another vCPU from now on. Allowed for
   * unbound and interdomain ports and global VIRQs; a per-vCPU VIRQ or an IPI belongs
   * to its vCPU (EINVAL). Xen only checks that the vCPU exists, not that it is up.
   */
  bindVcpu(port: number, vcpu: number): void {
    this.checkVcpu(vcpu);
    const ch = this.channel(port);
    if (ch.state === 'ipi' || ch.state === 'pirq' || (ch.state === 'virq' && isPerVcpuVirq(ch.virq))) {
      throw new HypervisorError('EINVAL', `port ${port} is ${ch.state === 'ipi' ? 'an IPI' : ch.state === 'pirq' ? 'a physical IRQ' : `a per-vCPU VIRQ (${ch.virq})`}: it stays on vCPU ${ch.vcpu}`);
    }
    ch.vcpu = vcpu;
  }

  /** EVTCHNOP_reset: close every port. */
  reset(): void {
    for (let port = 1; port < this.ports.length; port++) if (this.ports[port] !== undefined) this.close(port);
  }

  /** Ports in use. */
  get inUse(): number {
    let n = 0;
    for (const ch of this.ports) if (ch !== undefined) n++;
    return n;
  }
}

/**
 * What a guest reaches of its event channels: the EVTCHNOP_* operations on its own
 * ports (EVTCHNOP_status is `status`; `channel` is the same lookup with the guest's own
 * port known to be bound), and its views of the bits in shared_info and its vcpu_info.
 * Raising ports, the counters, vcpu_info registration and save/load are the
 * hypervisor's, not the guest's.
 */
export type GuestEventChannels = Pick<
  EventChannelTable,
  'allocUnbound' | 'bindInterdomain' | 'bindVirq' | 'bindIpi' | 'close' | 'send' | 'status' | 'unmask' | 'bindVcpu' | 'reset' | 'channel' | 'shared' | 'vcpuInfo' | 'virqPort' | 'tableSize'
>;

/**
 * VIRQs that are per vCPU (xen/common/event_channel.c virq_is_global: TIMER, DEBUG,
 * XENOPROF and, on x86, XENPMU); every other VIRQ is global and delivered to the
 * domain that handles it (dom0 unless set otherwise).
 */
export function isPerVcpuVirq(virq: number): boolean {
  return virq === VIRQ.TIMER || virq === VIRQ.DEBUG || virq === VIRQ.XENOPROF || virq === VIRQ.XENPMU;
}
