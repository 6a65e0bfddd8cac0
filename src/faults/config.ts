import * as z from 'zod';
import { parseDurationMs } from '../common/duration.js';
import type { FaultAddParams } from '../protocol/fault-rpc.js';
import { XS_ERRNO_NAMES, XsType } from '../protocol/xs-wire.js';
import { QUOTA_NAMES } from '../xenstore/quota.js';
import { decodeVdev, vdevProblem } from '../toolstack/config/vdev.js';
import { FAULT_KINDS, HOST_WIDE, KILL_POINTS, KIND_OPTIONS, NEEDS_DOMAIN, ONE_SHOT, STATEFUL, type FaultKind, type FaultOption } from './kinds.js';

/**
 * Faults written in a config: a domain config's `xenemu.faults` (aimed at that domain,
 * added each time it is built) and host.yaml's `faults` (added when the daemon
 * starts). The keys are `fault add`'s flags; durations take "250ms", "2s", "1m" or a
 * number of seconds. The same rules as `fault add` apply, checked when the config is
 * read, so `config check` reports a bad fault with its line and column.
 */

const Duration = z.union([z.number().min(0), z.string()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? Math.round(v * 1000) : parseDurationMs(v);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `${String(v)} is not a duration (250ms, 2s, 1.5m, 1h, or seconds)` });
    return z.NEVER;
  }
  return ms;
});

export const FaultConfigObject = z.strictObject({
  kind: z.enum(Object.keys(FAULT_KINDS) as [FaultKind, ...FaultKind[]]).describe('what goes wrong (xenemu fault add --help lists the kinds)'),
  target: z.string().optional().describe('host.yaml only: a domain name or id, or "socket"; none: every client'),
  probability: z.number().gt(0).lte(1).optional(),
  count: z.int().min(1).optional(),
  duration: Duration.optional(),
  seed: z.int().min(0).max(0xffffffff).optional(),
  errno: z.enum(XS_ERRNO_NAMES).optional(),
  op: z.enum(Object.keys(XsType) as [string, ...string[]]).optional(),
  path: z.string().startsWith('/').optional(),
  delay: Duration.optional(),
  every: Duration.optional(),
  coalesce: z.boolean().optional(),
  quota: z.record(z.string(), z.int().min(0)).optional(),
  vcpu: z.int().min(0).optional(),
  at: z.enum(KILL_POINTS).optional(),
  after: z.int().min(1).optional(),
  vif: z.int().min(0).max(0xffff).optional(),
  vdev: z.string().optional(),
  sectors: z.string().regex(/^[0-9]+-[0-9]+$/, { error: 'sectors are START-END, in 512-byte sectors' }).optional(),
});

export type FaultConfig = z.output<typeof FaultConfigObject>;

/** `fault add`'s parameters for a fault of a config. */
export function faultParams(c: FaultConfig, target: string | null): FaultAddParams {
  const { kind, target: _given, duration, delay, every, ...rest } = c;
  return {
    kind,
    target,
    ...rest,
    ...(duration !== undefined ? { durationMs: duration } : {}),
    ...(delay !== undefined ? { delayMs: delay } : {}),
    ...(every !== undefined ? { intervalMs: every } : {}),
  };
}

/** The config's words for the options, for messages about a config. */
const OPTION_KEYS: Readonly<Record<FaultOption, string>> = {
  errno: 'errno',
  op: 'op',
  path: 'path',
  delayMs: 'delay',
  intervalMs: 'every',
  coalesce: 'coalesce',
  quota: 'quota',
  vcpu: 'vcpu',
  at: 'at',
  after: 'after',
  vif: 'vif',
  vdev: 'vdev',
  sectors: 'sectors',
};

/** The CLI's words for the options, for messages. */
export const OPTION_FLAGS: Readonly<Record<FaultOption, string>> = {
  errno: '--errno',
  op: '--op',
  path: '--path',
  delayMs: '--delay',
  intervalMs: '--every',
  coalesce: '--coalesce',
  quota: '--quota',
  vcpu: '--vcpu',
  at: '--at',
  after: '--after',
  vif: '--vif',
  vdev: '--vdev',
  sectors: '--sectors',
};

/**
 * What is wrong with a fault request, or null: its kind's options, probability and
 * count where they mean nothing, and what it is aimed at (`target`: a domain, the
 * socket clients, or nothing).
 */
export function faultProblem(p: FaultAddParams, target: 'domain' | 'dom0' | 'socket' | null, words: 'flags' | 'keys' = 'flags'): string | null {
  const rules = KIND_OPTIONS[p.kind];
  const names = words === 'flags' ? OPTION_FLAGS : OPTION_KEYS;
  const [probability, count] = words === 'flags' ? ['--probability', '--count'] : ['probability', 'count'];
  for (const name of Object.keys(OPTION_FLAGS) as FaultOption[]) {
    const given = p[name] !== undefined;
    if (!given && rules.required.includes(name)) return `${p.kind} needs ${names[name]}`;
    if (given && !rules.required.includes(name) && !rules.optional.includes(name)) return `${names[name]} does not apply to ${p.kind}`;
  }
  if (p.vdev !== undefined && decodeVdev(p.vdev) === undefined) return vdevProblem(p.vdev);
  if (p.sectors !== undefined) {
    const [start, end] = p.sectors.split('-').map(Number);
    if (start! > end!) return `sectors ${p.sectors}: the range ends before it starts`;
  }
  for (const name of Object.keys(p.quota ?? {})) {
    if (QUOTA_NAMES[name] === undefined) return `unknown quota ${name} (one of ${Object.keys(QUOTA_NAMES).join(', ')})`;
  }
  const counted = p.probability !== undefined || p.count !== undefined;
  if (STATEFUL.has(p.kind) && counted) return `${p.kind} holds while it lasts: ${probability} and ${count} do not apply`;
  if (ONE_SHOT.has(p.kind) && counted) return `${p.kind} happens once: ${probability} and ${count} do not apply`;
  if (HOST_WIDE.has(p.kind) && target !== null) return `${p.kind} is about the host: it takes no target`;
  if (target === 'socket' && !p.kind.startsWith('xs-')) return `${p.kind} applies to a domain, not to the socket clients`;
  if (NEEDS_DOMAIN.has(p.kind)) {
    if (target !== 'domain' && target !== 'dom0') return `${p.kind} needs a domain to act on`;
    if (target === 'dom0') return `${p.kind} cannot act on Domain-0`;
  }
  return null;
}
