import * as z from 'zod';
import type { HandlerKind, IntrSnapshot } from '../kernel/intr/stats.js';
import { MAX_VCPUS } from '../toolstack/config/schema.js';
import { DomainRef, NoParams } from './params.js';

/** Longest source spec `intr.bind` takes: event source names are at most 64 characters. */
const MAX_SOURCE_SPEC = 80;

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

/** An event channel port: what EVTCHNOP_status takes; Xen says EINVAL past the domain's table. */
const Port = z.int().min(0).max(0x7fffffff);

/** Parameters of each method, checked on arrival (see DomainParams). */
export const EvtchnParams = {
  'evtchn.list': z.strictObject({ ref: DomainRef }),
  'evtchn.status': z.strictObject({ ref: DomainRef, port: Port }),
  /** libxenevtchn's xenevtchn_bind_unbound_port, in domain `ref`, for `remote`. */
  'evtchn.allocUnbound': z.strictObject({ ref: DomainRef, remote: DomainRef }),
  /** xenevtchn_bind_interdomain, in domain `ref`, to `remote`'s unbound port. */
  'evtchn.bindInterdomain': z.strictObject({ ref: DomainRef, remote: DomainRef, remotePort: Port }),
  /** xenevtchn_notify on a port `ref` bound through the device. */
  'evtchn.notify': z.strictObject({ ref: DomainRef, port: Port }),
  /** xenevtchn_unbind (the port is closed). */
  'evtchn.close': z.strictObject({ ref: DomainRef, port: Port }),
  'intr.stats': z.strictObject({ ref: DomainRef }),
  'intr.host': NoParams,
  /** Move an interrupt source to another vCPU (cpuset -x IRQ -l CPU); `source` is an irq, port:N or a source name. */
  'intr.bind': z.strictObject({ ref: DomainRef, source: z.string().min(1).max(MAX_SOURCE_SPEC), cpu: z.int().min(0).max(MAX_VCPUS - 1) }),
} satisfies Record<string, z.ZodType>;

interface EvtchnResults {
  'evtchn.list': { domid: number; name: string; ports: EvtchnPortRow[] };
  'evtchn.status': { domid: number; name: string; row: EvtchnPortRow };
  'evtchn.allocUnbound': { domid: number; port: number; remoteDomid: number };
  'evtchn.bindInterdomain': { domid: number; port: number; remoteDomid: number; remotePort: number };
  'evtchn.notify': { domid: number; port: number };
  'evtchn.close': { domid: number; port: number };
  'intr.stats': DomainIntrStats;
  'intr.host': HostIntrRow[];
  'intr.bind': { domid: number; source: string; irq: number; port: number; from: number; to: number };
}

export type EvtchnMethod = keyof typeof EvtchnParams;

export type EvtchnRpc = { [M in EvtchnMethod]: { params: z.output<(typeof EvtchnParams)[M]>; result: EvtchnResults[M] } };
