import { EVTCHN_2L_NR_CHANNELS, SharedInfoView, VcpuInfoView } from '../abi/index.js';
import type { Domain } from './domain.js';
import { HypervisorError } from './hypervisor.js';

/** EVTCHNSTAT_* states (event_channel.h), by name. */
export type ChannelState = 'unbound' | 'interdomain' | 'pirq' | 'virq' | 'ipi';

export interface Channel {
  state: ChannelState;
  /** The vCPU notified when the port fires. */
  vcpu: number;
  /** unbound: the domain allowed to bind; interdomain: the peer. */
  remoteDomid: number;
  /** interdomain: the peer's port. */
  remotePort: number;
  virq: number;
}

/** The hypervisor side of one domain's event channels, 2-level ABI (xen/common/event_2l.c). */
export interface EventChannelHost {
  domain(domid: number): Domain;
  /** The domain's vCPU has an upcall pending: make it run its handler soon. */
  kick(domain: Domain, vcpu: number): void;
}

/**
 * A domain's ports, and delivery on the real bits: evtchn_pending and evtchn_mask in
 * its shared_info, evtchn_pending_sel and evtchn_upcall_pending in the notified vCPU's
 * vcpu_info. 4096 ports (a 64-bit guest's 64 × 64); port 0 is never allocated.
 */
export class EventChannelTable {
  readonly ports: Array<Channel | undefined> = [];
  readonly shared: SharedInfoView;
  /** vcpu_info views of vCPUs that registered one outside shared_info. */
  private readonly registered = new Map<number, VcpuInfoView>();

  constructor(
    private readonly host: EventChannelHost,
    readonly domain: Domain,
    sharedInfoPage: Uint8Array,
    /** The most ports this domain may use (xl.cfg max_event_channels, default 1023). */
    readonly maxPorts = 1023,
  ) {
    this.shared = new SharedInfoView(sharedInfoPage);
  }

  /** Where vCPU `v` receives its upcall flags, or null (a vCPU ≥ 32 before it registered). */
  vcpuInfo(v: number): VcpuInfoView | null {
    if (v < 32) return this.shared.vcpuInfo(v);
    return this.registered.get(v) ?? null;
  }

  /**
   * VCPUOP_register_vcpu_info: from now on vCPU `v` takes its vcpu_info at `view`. Xen
   * copies the old contents over, then sets every selector bit and the upcall flag so
   * the guest rescans and nothing raised meanwhile is lost.
   */
  registerVcpuInfo(v: number, view: VcpuInfoView): void {
    const old = this.vcpuInfo(v);
    if (old !== null) view.copyFrom(old);
    this.registered.set(v, view);
    view.pendingSel.fill(true);
    view.evtchnUpcallPending = 1;
  }

  private allocate(ch: Channel): number {
    for (let port = 1; port < Math.min(EVTCHN_2L_NR_CHANNELS, this.maxPorts + 1); port++) {
      if (this.ports[port] === undefined) {
        this.ports[port] = ch;
        // A fresh port starts not pending; its mask bit is the guest's business (kernels
        // mask every port at boot and unmask the ones they bind).
        this.shared.clearPending(port);
        return port;
      }
    }
    throw new HypervisorError('ENOSPC', `domain ${this.domain.domid} has no free event channel`);
  }

  channel(port: number): Channel {
    const ch = Number.isInteger(port) && port > 0 ? this.ports[port] : undefined;
    if (ch === undefined) throw new HypervisorError('EINVAL', `port ${port} of domain ${this.domain.domid} is not bound`);
    return ch;
  }

  /** EVTCHNOP_alloc_unbound: a port `remoteDomid` may later bind to. */
  allocUnbound(remoteDomid: number): number {
    return this.allocate({ state: 'unbound', vcpu: 0, remoteDomid, remotePort: 0, virq: -1 });
  }

  /** EVTCHNOP_bind_interdomain: connect a new local port to the peer's unbound port. */
  bindInterdomain(remoteDomid: number, remotePort: number): number {
    const peer = this.host.domain(remoteDomid).evtchn!;
    const rch = peer.channel(remotePort);
    if (rch.state !== 'unbound' || rch.remoteDomid !== this.domain.domid) {
      throw new HypervisorError('EINVAL', `port ${remotePort} of domain ${remoteDomid} is not open to domain ${this.domain.domid}`);
    }
    const port = this.allocate({ state: 'interdomain', vcpu: 0, remoteDomid, remotePort, virq: -1 });
    rch.state = 'interdomain';
    rch.remotePort = port;
    // The peer may have signalled while its port was unbound; Xen conservatively raises
    // the new local port so that notification is not lost (evtchn_bind_interdomain).
    this.raise(port);
    return port;
  }

  /** EVTCHNOP_bind_virq. */
  bindVirq(virq: number, vcpu: number): number {
    for (const ch of this.ports) {
      if (ch?.state === 'virq' && ch.virq === virq && ch.vcpu === vcpu) throw new HypervisorError('EEXIST', `VIRQ ${virq} is already bound on vCPU ${vcpu}`);
    }
    return this.allocate({ state: 'virq', vcpu, remoteDomid: this.domain.domid, remotePort: 0, virq });
  }

  /** EVTCHNOP_bind_ipi. */
  bindIpi(vcpu: number): number {
    return this.allocate({ state: 'ipi', vcpu, remoteDomid: this.domain.domid, remotePort: 0, virq: -1 });
  }

  /** The local port bound to a VIRQ on a vCPU, if any (Xen's v->virq_to_evtchn). */
  virqPort(virq: number, vcpu: number): number | null {
    for (let port = 1; port < this.ports.length; port++) {
      const ch = this.ports[port];
      if (ch?.state === 'virq' && ch.virq === virq && ch.vcpu === vcpu) return port;
    }
    return null;
  }

  /**
   * EVTCHNOP_close. Closing one end of an interdomain channel leaves the other end
   * unbound and open to the closer again, as Xen does, so the peer can rebind.
   */
  close(port: number): void {
    const ch = this.channel(port);
    if (ch.state === 'interdomain') {
      const peerDomain = this.host.domain(ch.remoteDomid);
      const rch = peerDomain.evtchn?.ports[ch.remotePort];
      if (rch !== undefined && rch.state === 'interdomain' && rch.remotePort === port) {
        rch.state = 'unbound';
        rch.remoteDomid = this.domain.domid;
        rch.remotePort = 0;
      }
    }
    this.ports[port] = undefined;
    this.shared.clearPending(port);
  }

  /** EVTCHNOP_send: interdomain raises the peer's port, IPI our own. */
  send(port: number): void {
    const ch = this.channel(port);
    switch (ch.state) {
      case 'interdomain':
        this.host.domain(ch.remoteDomid).evtchn!.raise(ch.remotePort);
        return;
      case 'ipi':
        this.raise(port);
        return;
      case 'unbound':
        // Nobody is listening yet; Xen drops it and reports success.
        return;
      default:
        throw new HypervisorError('EINVAL', `cannot send on a ${ch.state} port`);
    }
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
    if (this.shared.testAndSetPending(port)) return;
    if (this.shared.isMasked(port)) return;
    this.markPending(ch.vcpu, port);
  }

  private markPending(vcpu: number, port: number): void {
    const info = this.vcpuInfo(vcpu);
    // A vCPU ≥ 32 that has not registered its vcpu_info yet writes to Xen's dummy;
    // registration then sets every selector bit, so nothing is lost.
    if (info === null) return;
    if (info.testAndSetSel(port >> 6)) return;
    if (info.testAndSetUpcallPending()) return;
    this.host.kick(this.domain, vcpu);
  }

  /** EVTCHNOP_unmask: clear the mask; a port that was pending meanwhile fires now. */
  unmask(port: number): void {
    const ch = this.channel(port);
    if (this.shared.testAndClearMask(port) && this.shared.testPending(port)) this.markPending(ch.vcpu, port);
  }

  /** EVTCHNOP_bind_vcpu: deliver the port to another vCPU from now on. */
  bindVcpu(port: number, vcpu: number): void {
    const ch = this.channel(port);
    if (vcpu < 0 || vcpu >= this.domain.vcpus.length || !this.domain.vcpus[vcpu]!.online) {
      throw new HypervisorError('ENOENT', `vCPU ${vcpu} of domain ${this.domain.domid} is not online`);
    }
    if (ch.state === 'ipi' || (ch.state === 'virq' && isPerVcpuVirq(ch.virq))) {
      throw new HypervisorError('EINVAL', `a ${ch.state} port is bound to its vCPU for good`);
    }
    ch.vcpu = vcpu;
  }

  /** EVTCHNOP_reset: close every port. */
  reset(): void {
    for (let port = 1; port < this.ports.length; port++) if (this.ports[port] !== undefined) this.close(port);
  }
}

/** VIRQs marked "V." (per vCPU) in xen.h: TIMER, DEBUG, XENOPROF, MEM_EVENT, XENPMU. */
export function isPerVcpuVirq(virq: number): boolean {
  return virq === 0 || virq === 1 || virq === 7 || virq === 10 || virq === 13;
}
