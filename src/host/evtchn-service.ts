import type { Domain } from '../hypervisor/domain.js';
import type { ChannelStatus } from '../hypervisor/evtchn.js';
import type { Hypervisor } from '../hypervisor/hypervisor.js';
import type { Kernel } from '../kernel/kernel.js';
import type { DomainIntrStats, EvtchnPortRow, EvtchnRpc, HostIntrRow } from '../protocol/evtchn-rpc.js';
import { bootedKernel } from './booted-kernel.js';
import { rpcMethods, type RpcMethod } from './control-server.js';
import type { Machine } from './machine.js';


/**
 * The daemon's side of `xenemu evtchn`, `xenemu interrupts` and `xenemu intr-bind`.
 * The event channel verbs act as a script in the domain using its /dev/xen/evtchn
 * (libxenevtchn): each domain's kernel holds one open of the device for them, so a
 * port bound by `alloc-unbound` stays bound until `close`. The statistics come from
 * the guest's interrupt layer and the hypervisor's counters.
 */
export function evtchnMethods(machine: Machine): Record<string, RpcMethod> {
  const hv: Hypervisor = machine.hv;
  const find = (ref: string): Domain => machine.toolstack.find(ref);
  const kernelOf = (d: Domain): Kernel | undefined => machine.kernel(d.domid);
  /** The kernel of a domain whose interrupt layer is up. */
  const booted = (d: Domain): Kernel => bootedKernel(machine, d);

  const portRow = (d: Domain, port: number, st: ChannelStatus, k: Kernel | undefined): EvtchnPortRow => {
    const shared = d.evtchn!.shared;
    const row: EvtchnPortRow = {
      port,
      status: st.status,
      vcpu: st.vcpu,
      masked: shared.isMasked(port),
      pending: shared.testPending(port),
      source: null,
      device: false,
    };
    if (st.status === 'unbound' || st.status === 'interdomain') row.remoteDomid = st.remoteDomid;
    if (st.status === 'interdomain') row.remotePort = st.remotePort;
    if (st.status === 'virq') row.virq = st.virq;
    if (st.status === 'pirq') row.pirq = st.pirq;
    const intr = k?.intr;
    const src = intr?.sourceOf(port);
    if (src !== undefined) {
      const r = src.row(intr!.nrVcpus, src.type);
      row.source = { name: src.name, intrname: r.intrname, irq: src.irq, handler: r.handler, cpu: src.cpu, total: r.total };
    }
    const dev = k?.evtchn?.get(port);
    if (dev !== undefined) {
      row.device = true;
      row.notifications = dev.notifications;
    }
    return row;
  };

  const stats = (d: Domain): DomainIntrStats => {
    const k = booted(d);
    // Coalesced ticks and device events are delivered now, so the counts are exact.
    hv.syncDomain(d.domid);
    const snap = k.intr.snapshot();
    const t = d.evtchn!;
    const c = hv.deliveryCounters(d.domid);
    return {
      domid: d.domid,
      name: d.name,
      type: d.type,
      uptimeNs: Math.max(0, hv.clock.now() - d.createdAtNs),
      ...snap,
      hypervisor: {
        injected: c.injected,
        intxAssertions: c.intxAssertions,
        ...t.counters,
        portsInUse: t.inUse,
      },
    };
  };

  return rpcMethods<EvtchnRpc>({
    'evtchn.list': (p) => {
      const d = find(p.ref);
      const k = kernelOf(d);
      const t = d.evtchn!;
      const ports: EvtchnPortRow[] = [];
      // lsevtchn's loop: EVTCHNOP_status from port 0 until Xen says EINVAL, closed ports skipped.
      for (let port = 0; port < t.tableSize; port++) {
        const st = t.status(port);
        if (st.status !== 'closed') ports.push(portRow(d, port, st, k));
      }
      return { domid: d.domid, name: d.name, ports };
    },
    'evtchn.status': (p) => {
      const d = find(p.ref);
      return { domid: d.domid, name: d.name, row: portRow(d, p.port, d.evtchn!.status(p.port), kernelOf(d)) };
    },
    'evtchn.allocUnbound': (p) => {
      const d = find(p.ref);
      const remote = find(p.remote);
      const port = booted(d).evtchn.bindUnboundPort(remote.domid);
      return { domid: d.domid, port, remoteDomid: remote.domid };
    },
    'evtchn.bindInterdomain': (p) => {
      const d = find(p.ref);
      const remote = find(p.remote);
      const port = booted(d).evtchn.bindInterdomain(remote.domid, p.remotePort);
      return { domid: d.domid, port, remoteDomid: remote.domid, remotePort: p.remotePort };
    },
    'evtchn.notify': (p) => {
      const d = find(p.ref);
      booted(d).evtchn.notify(p.port);
      return { domid: d.domid, port: p.port };
    },
    'evtchn.close': (p) => {
      const d = find(p.ref);
      booted(d).evtchn.unbind(p.port);
      return { domid: d.domid, port: p.port };
    },
    'intr.stats': (p) => stats(find(p.ref)),
    'intr.host': () => {
      const rows: HostIntrRow[] = [];
      for (const d of [...hv.domains.values()].sort((a, b) => a.domid - b.domid)) {
        const k = kernelOf(d);
        const t = d.evtchn!;
        const via = hv.callbackVia(d.domid).kind;
        const row: HostIntrRow = {
          domid: d.domid,
          name: d.name,
          type: d.type,
          callback: via,
          vcpus: d.vcpus.length,
          online: d.onlineVcpus,
          portsInUse: t.inUse,
          upcalls: 0,
          interrupts: 0,
          uptimeNs: Math.max(0, hv.clock.now() - d.createdAtNs),
          filterNs: 0,
          ithreadNs: 0,
          modelledNs: 0,
          apicNs: 0,
          raises: t.counters.raises,
          coalesced: t.counters.coalesced,
          booted: k !== undefined && k.intr !== undefined && k.state !== 'created',
        };
        if (row.booted) {
          hv.syncDomain(d.domid);
          for (const r of k!.intr.snapshot().rows) {
            if (r.kind === 'upcall') row.upcalls += r.total;
            else row.interrupts += r.total;
            row.filterNs += r.filterNs;
            row.ithreadNs += r.ithreadNs;
            row.modelledNs += r.modelledNs;
            row.apicNs += r.apicNs;
          }
        }
        rows.push(row);
      }
      return rows;
    },
    'intr.bind': (p) => {
      const d = find(p.ref);
      const k = booted(d);
      const src = k.intr.findSource(p.source);
      const from = k.intr.rebindSource(src, p.cpu);
      return { domid: d.domid, source: src.name, irq: src.irq, port: src.port, from, to: src.cpu };
    },
  });
}
