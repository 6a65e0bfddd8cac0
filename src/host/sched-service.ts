import { Domctl } from '../hypervisor/domctl.js';
import type { Domain } from '../hypervisor/domain.js';
import { POOL0 } from '../hypervisor/scheduler.js';
import type { DomainSchedRow, SchedRpc } from '../protocol/sched-rpc.js';
import { ToolstackError } from '../toolstack/errors.js';
import { credit2ParamsGet, credit2ParamsSet, creditParamsGet, creditParamsSet, domainSchedParamsGet, findCpupool, listCpupools, rtdsVcpuGet } from '../toolstack/sched.js';
import { rpcMethods, type RpcMethod } from './control-server.js';
import type { Machine } from './machine.js';

/**
 * The daemon's side of xl's scheduler and cpupool commands: libxl's calls
 * (toolstack/sched.ts) on the hypervisor. A domain's weight and cap change through the
 * toolstack, which keeps them in the domain's record; the pool's parameters are the
 * hypervisor's alone and, as on a Xen host that reboots, start at Xen's defaults
 * with each daemon.
 */
export function schedMethods(machine: Machine): Record<string, RpcMethod> {
  const { hv, toolstack } = machine;
  const domctl = new Domctl(hv);
  const row = (d: Domain): DomainSchedRow => ({ domid: d.domid, name: d.name, cpupool: POOL0.id, ...domainSchedParamsGet(domctl, hv, d.domid) });
  return rpcMethods<SchedRpc>({
    'cpupool.find': (p) => findCpupool(hv, p.qualifier) ?? null,
    'cpupool.list': () => listCpupools(hv),
    'sched.domain.get': (p) => {
      const domains = p.refs === undefined ? [...hv.domains.values()].sort((a, b) => a.domid - b.domid) : p.refs.map((r) => toolstack.find(r));
      return domains.map(row);
    },
    'sched.domain.set': (p) => {
      const now = toolstack.schedDomainSet(toolstack.find(p.ref).domid, {
        sched: p.sched,
        ...(p.weight !== undefined ? { weight: p.weight } : {}),
        ...(p.cap !== undefined ? { cap: p.cap } : {}),
      });
      // A named scheduler always applies (or is refused): null would be a bug.
      if (now === null) throw new ToolstackError('EINVAL', `the ${p.sched} scheduler has no weight or cap`);
      return now;
    },
    'sched.credit.get': (p) => creditParamsGet(domctl, p.poolid),
    'sched.credit.set': (p) => creditParamsSet(domctl, p.poolid, { tsliceMs: p.tsliceMs, ratelimitUs: p.ratelimitUs, vcpuMigrDelayUs: p.vcpuMigrDelayUs }),
    'sched.credit2.get': (p) => credit2ParamsGet(domctl, p.poolid),
    'sched.credit2.set': (p) => credit2ParamsSet(domctl, p.poolid, { ratelimitUs: p.ratelimitUs }),
    'sched.rtds.vcpuGet': (p) => rtdsVcpuGet(domctl, hv, toolstack.find(p.ref).domid, p.vcpuids ?? null),
    'sched.rtds.vcpuSet': (p) => toolstack.rtdsVcpuSet(toolstack.find(p.ref).domid, p.vcpus, p.all),
  });
}
