import { randomInt } from 'node:crypto';
import { XenemuError } from '../common/errors.js';
import { KIND_OPTIONS, NEEDS_DOMAIN, ONE_SHOT, STATEFUL, type FaultOption } from '../faults/kinds.js';
import type { FaultSpec } from '../faults/registry.js';
import type { FaultAddParams, FaultRpc } from '../protocol/fault-rpc.js';
import { QUOTA_NAMES } from '../xenstore/quota.js';
import { rpcMethods, type RpcMethod } from './control-server.js';
import type { Machine } from './machine.js';

/** The CLI's words for the options, for messages. */
const OPTION_FLAGS: Readonly<Record<FaultOption, string>> = {
  errno: '--errno',
  op: '--op',
  path: '--path',
  delayMs: '--delay',
  coalesce: '--coalesce',
  quota: '--quota',
};

function invalid(message: string): never {
  throw new XenemuError('EINVAL', message);
}

/** Check `p` against its kind's rules and make it a fault spec; EINVAL says what is wrong. */
export function faultSpec(p: FaultAddParams, resolve: (ref: string) => { domid: number; name: string | null }): FaultSpec {
  const rules = KIND_OPTIONS[p.kind];
  const options: FaultSpec['options'] = {};
  for (const name of Object.keys(OPTION_FLAGS) as FaultOption[]) {
    const value = p[name];
    if (value === undefined) {
      if (rules.required.includes(name)) invalid(`${p.kind} needs ${OPTION_FLAGS[name]}`);
      continue;
    }
    if (!rules.required.includes(name) && !rules.optional.includes(name)) invalid(`${OPTION_FLAGS[name]} does not apply to ${p.kind}`);
    (options as Record<string, unknown>)[name] = value;
  }
  for (const name of Object.keys(options.quota ?? {})) {
    if (QUOTA_NAMES[name] === undefined) invalid(`unknown quota ${name} (one of ${Object.keys(QUOTA_NAMES).join(', ')})`);
  }
  if (STATEFUL.has(p.kind) && (p.probability !== undefined || p.count !== undefined)) invalid(`${p.kind} holds while it lasts: --probability and --count do not apply`);
  if (ONE_SHOT.has(p.kind) && (p.probability !== undefined || p.count !== undefined)) invalid(`${p.kind} happens once: --probability and --count do not apply`);
  let target: FaultSpec['target'] = null;
  if (p.target === 'socket') {
    if (!p.kind.startsWith('xs-') || NEEDS_DOMAIN.has(p.kind)) invalid(`${p.kind} applies to a domain, not to the socket clients`);
    target = 'socket';
  } else if (p.target !== null) target = resolve(p.target);
  if (NEEDS_DOMAIN.has(p.kind) && (target === null || target === 'socket')) invalid(`${p.kind} needs a domain to act on`);
  if (NEEDS_DOMAIN.has(p.kind) && target !== null && target !== 'socket' && target.domid === 0) invalid(`${p.kind} cannot act on Domain-0`);
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
