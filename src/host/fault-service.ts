import { randomInt } from 'node:crypto';
import { XenemuError } from '../common/errors.js';
import { faultParams, faultProblem, OPTION_FLAGS, type FaultConfig } from '../faults/config.js';
import { ONE_SHOT, type FaultOption } from '../faults/kinds.js';
import type { FaultRegistry, FaultSpec } from '../faults/registry.js';
import type { FaultAddParams, FaultRpc } from '../protocol/fault-rpc.js';
import { rpcMethods, type RpcMethod } from './control-server.js';
import type { Machine } from './machine.js';

/** Check `p` against its kind's rules and make it a fault spec; EINVAL says what is wrong. */
export function faultSpec(p: FaultAddParams, resolve: (ref: string) => { domid: number; name: string | null }): FaultSpec {
  let target: FaultSpec['target'] = null;
  if (p.target === 'socket') target = 'socket';
  else if (p.target !== null) target = resolve(p.target);
  const problem = faultProblem(p, target === null || target === 'socket' ? target : target.domid === 0 ? 'dom0' : 'domain');
  if (problem !== null) throw new XenemuError('EINVAL', problem);
  const options: FaultSpec['options'] = {};
  for (const name of Object.keys(OPTION_FLAGS) as FaultOption[]) if (p[name] !== undefined) (options as Record<string, unknown>)[name] = p[name];
  return {
    kind: p.kind,
    target,
    probability: p.probability ?? 1,
    count: ONE_SHOT.has(p.kind) ? 1 : (p.count ?? null),
    durationMs: p.durationMs ?? null,
    seed: p.seed ?? randomInt(0x1_0000_0000),
    options,
  };
}

/** Add the faults of a domain's config, aimed at it (each time it is built). */
export function applyConfigFaults(registry: FaultRegistry, domain: { domid: number; name: string }, items: readonly FaultConfig[]): void {
  for (const item of items) registry.add(faultSpec(faultParams(item, String(domain.domid)), () => domain));
}

/** The daemon's side of `xenemu fault add|list|clear`. */
export function faultMethods(machine: Machine): Record<string, RpcMethod> {
  const registry = machine.faults;
  return rpcMethods<FaultRpc>({
    'fault.add': (p) => {
      const spec = faultSpec(p, (ref) => {
        const d = machine.toolstack.find(ref);
        return { domid: d.domid, name: d.name };
      });
      const id = registry.add(spec).id;
      return registry.rows().find((r) => r.id === id) ?? { id, ...spec, fired: 0, ageMs: 0 };
    },
    'fault.list': () => ({ faults: registry.rows() }),
    'fault.clear': (p) => {
      if (p.id === null) return { cleared: registry.clearAll() };
      if (!registry.clear(p.id)) throw new XenemuError('ENOENT', `no fault ${p.id}`);
      return { cleared: [p.id] };
    },
  });
}
