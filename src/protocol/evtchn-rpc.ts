import type { HandlerKind, IntrSnapshot } from '../kernel/intr/stats.js';

/**
 * Control-socket methods of the event channel and interrupt commands: parameters and
 * results. A domain is named by id or name (`ref`), as xl accepts both. Errors carry
 * the errno name of the layer that refused: Xen's (ESRCH, EINVAL, ENOSPC, EPERM), the
 * guest kernel's (EOPNOTSUPP, ENOTCONN), or the daemon's (EAGAIN: the guest's kernel
 * has not booted).
 */

/** One port of a domain, as EVTCHNOP_status reports it plus the bits and the guest's source. */
export interface EvtchnPortRow {
  port: number;
  /** EVTCHNSTAT_* by name. */
  status: 'closed' | 'unbound' | 'interdomain' | 'pirq' | 'virq' | 'ipi';
  /** The vCPU Xen notifies. */
  vcpu: number;
  /** unbound: the domain that may bind; interdomain: the peer. */
  remoteDomid?: number;
  remotePort?: number;
  virq?: number;
  pirq?: number;
  masked: boolean;
  pending: boolean;
  /** The guest kernel's interrupt source on this port, if it bound one. */
  source: { name: string; intrname: string; irq: number; handler: HandlerKind; cpu: number; total: number } | null;
  /** Bound through the guest's event channel device by `xenemu evtchn` (notify and close work on it). */
  device: boolean;
  /** Notifications the device delivered on it. */
  notifications?: number;
}

/** A domain's interrupt statistics: the guest's view, and the hypervisor's counters. */
export interface DomainIntrStats extends IntrSnapshot {
  domid: number;
  name: string;
  type: 'pv' | 'pvh' | 'hvm';
  /** Time since the domain was created (what rates are computed over). */
  uptimeNs: number;
  hypervisor: {
    /** Upcalls injected into each vCPU. */
    injected: number[];
    /** Assertions of the platform device's INTx line. */
    intxAssertions: number;
    sends: number;
    raises: number;
    coalesced: number;
    masked: number;
    kicks: number;
    portsInUse: number;
  };
}

/** One domain in the host's view (`xenemu interrupts` without a domain). */
export interface HostIntrRow {
  domid: number;
  name: string;
  type: 'pv' | 'pvh' | 'hvm';
  callback: string;
  vcpus: number;
  online: number;
  portsInUse: number;
  upcalls: number;
  /** Interrupts counted by the guest's sources (not the upcalls). */
  interrupts: number;
  uptimeNs: number;
  filterNs: number;
  ithreadNs: number;
  modelledNs: number;
  apicNs: number;
  /** Hypervisor side: raises of this domain's ports, and how many were absorbed. */
  raises: number;
  coalesced: number;
  /** Whether the guest's kernel runs (a paused, not yet booted domain has no statistics). */
  booted: boolean;
}

export interface EvtchnRpc {
  'evtchn.list': { params: { ref: string }; result: { domid: number; name: string; ports: EvtchnPortRow[] } };
  'evtchn.status': { params: { ref: string; port: number }; result: { domid: number; name: string; row: EvtchnPortRow } };
  /** libxenevtchn's xenevtchn_bind_unbound_port, in domain `ref`, for `remote`. */
  'evtchn.allocUnbound': { params: { ref: string; remote: string }; result: { domid: number; port: number; remoteDomid: number } };
  /** xenevtchn_bind_interdomain, in domain `ref`, to `remote`'s unbound port. */
  'evtchn.bindInterdomain': {
    params: { ref: string; remote: string; remotePort: number };
    result: { domid: number; port: number; remoteDomid: number; remotePort: number };
  };
  /** xenevtchn_notify on a port `ref` bound through the device. */
  'evtchn.notify': { params: { ref: string; port: number }; result: { domid: number; port: number } };
  /** xenevtchn_unbind (the port is closed). */
  'evtchn.close': { params: { ref: string; port: number }; result: { domid: number; port: number } };
  'intr.stats': { params: { ref: string }; result: DomainIntrStats };
  'intr.host': { params: Record<string, never>; result: HostIntrRow[] };
  /** Move an interrupt source to another vCPU (cpuset -x IRQ -l CPU). */
  'intr.bind': {
    params: { ref: string; source: string; cpu: number };
    result: { domid: number; source: string; irq: number; port: number; from: number; to: number };
  };
}

export type EvtchnMethod = keyof EvtchnRpc;
