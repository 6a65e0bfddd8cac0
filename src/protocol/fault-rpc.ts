import * as z from 'zod';
import { XS_ERRNO_NAMES, XsType } from './xs-wire.js';
import { FAULT_KINDS, KILL_POINTS, type FaultKind } from '../faults/kinds.js';
import { DomainRef } from './params.js';

/**
 * Control-socket methods of `xenemu fault add|list|clear`. A fault is what the user
 * asked for (kind, target, how often, how long, the kind's options) plus what it did.
 */

const XS_TYPE_NAMES = Object.keys(XsType) as [string, ...string[]];

/** Options of the kinds; each kind takes only its own (the daemon says which). */
const FaultOptions = {
  errno: z.enum(XS_ERRNO_NAMES).optional(),
  op: z.enum(XS_TYPE_NAMES).optional(),
  path: z.string().startsWith('/').max(3072).optional(),
  delayMs: z.int().min(0).max(86_400_000).optional(),
  intervalMs: z.int().min(1).max(86_400_000).optional(),
  coalesce: z.boolean().optional(),
  quota: z.record(z.string(), z.int().min(0)).optional(),
  vcpu: z.int().min(0).max(8191).optional(),
  at: z.enum(KILL_POINTS).optional(),
  after: z.int().min(1).optional(),
  vif: z.int().min(0).max(0xffff).optional(),
  vdev: z.string().max(64).optional(),
  sectors: z.string().regex(/^[0-9]+-[0-9]+$/, { error: 'sectors are START-END, in 512-byte sectors' }).optional(),
};

export const FaultParams = {
  'fault.add': z.strictObject({
    kind: z.enum(Object.keys(FAULT_KINDS) as [FaultKind, ...FaultKind[]]),
    /** A domain by name or id, `socket` for the unix-socket clients, or null for every client. */
    target: DomainRef.nullable(),
    probability: z.number().gt(0).lte(1).optional(),
    count: z.int().min(1).optional(),
    durationMs: z.int().min(1).max(365 * 86_400_000).optional(),
    seed: z.int().min(0).max(0xffffffff).optional(),
    ...FaultOptions,
  }),
  'fault.list': z.strictObject({}),
  'fault.clear': z.strictObject({ id: z.int().min(1).nullable() }),
} satisfies Record<string, z.ZodType>;

export type FaultAddParams = z.output<(typeof FaultParams)['fault.add']>;

/** A fault in a line: what `host status` and `top` show of each fault in force. */
export interface FaultSummary {
  id: number;
  kind: string;
  /** A domain's name (or id), "socket", or "all". */
  target: string;
  fired: number;
}

/** One fault as `fault list` shows it. */
export interface FaultRow {
  id: number;
  kind: FaultKind;
  /** What it applies to: a domain, the socket clients, or every client. */
  target: { domid: number; name: string | null } | 'socket' | null;
  probability: number;
  /** It ends after firing this many times; null: no limit. */
  count: number | null;
  /** Milliseconds it lasts from its start; null: until cleared. */
  durationMs: number | null;
  seed: number;
  options: {
    errno?: string;
    op?: string;
    path?: string;
    delayMs?: number;
    intervalMs?: number;
    coalesce?: boolean;
    quota?: Record<string, number>;
    vcpu?: number;
    at?: (typeof KILL_POINTS)[number];
    after?: number;
    vif?: number;
    vdev?: string;
    sectors?: string;
  };
  fired: number;
  /** Milliseconds it has been active (on the host's clock). */
  ageMs: number;
}

interface FaultResults {
  'fault.add': FaultRow;
  'fault.list': { faults: FaultRow[] };
  'fault.clear': { cleared: number[] };
}

export type FaultMethod = keyof typeof FaultParams;

export type FaultRpc = { [M in FaultMethod]: { params: z.output<(typeof FaultParams)[M]>; result: FaultResults[M] } };
