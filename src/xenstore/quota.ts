import { xsFail } from './errors.js';

/**
 * Per-domain resource limits, enforced for unprivileged connections only (dom0 and the
 * sockets are exempt), except `nodeSize` which, as in oxenstored, binds everyone.
 * Defaults are Debian's oxenstored.conf where it has the key and C xenstored's
 * defaults otherwise. 0 disables a limit (GET/SET_QUOTA semantics).
 */
export interface QuotaLimits {
  /** Nodes a domain may own. */
  nodes: number;
  /** Bytes in one node's value. */
  nodeSize: number;
  /** Watches per connection. */
  watches: number;
  /** Open transactions per connection. */
  transactions: number;
  /** Replies that may wait for a connection to read them (see queuedFrameLimit). */
  outstanding: number;
  /** Watch events that may wait for a connection to read them (see queuedFrameLimit). */
  watchEvents: number;
  /** Entries in one node's permission list. */
  permissions: number;
  /** Distinct nodes one transaction may touch. */
  transactionNodes: number;
  /** Path length; see path.ts for how it is measured. */
  pathMax: number;
}

export const DEFAULT_QUOTA: Readonly<QuotaLimits> = Object.freeze({
  nodes: 1000,
  nodeSize: 2048,
  watches: 100,
  transactions: 10,
  outstanding: 1024,
  watchEvents: 1024,
  permissions: 5,
  transactionNodes: 1024,
  pathMax: 1024,
});

/** Wire names of GET_QUOTA / SET_QUOTA (docs/misc/xenstore.txt, C xenstored). */
export const QUOTA_NAMES: Readonly<Record<string, keyof QuotaLimits>> = Object.freeze({
  nodes: 'nodes',
  watches: 'watches',
  transactions: 'transactions',
  'node-size': 'nodeSize',
  permissions: 'permissions',
  outstanding: 'outstanding',
  'transaction-nodes': 'transactionNodes',
  'path-max': 'pathMax',
});

export function quotaKey(name: string): keyof QuotaLimits {
  const key = QUOTA_NAMES[name];
  if (key === undefined) xsFail('EINVAL', `unknown quota ${name}`);
  return key;
}

/** True when `used` has reached a limit (0 means unlimited). */
export function overLimit(used: number, limit: number): boolean {
  return limit > 0 && used > limit;
}

/**
 * Frames (replies and watch events) that may wait for one connection to read them
 * before xenstored gives up on it: oxenstored's per-connection output queue, whose
 * capacity is quota-maxoutstanding + quota-maxwatchevents. Unlike the other quotas
 * this binds dom0's sockets too, because what it protects is the daemon's memory: a
 * client that stops reading while others write would otherwise make it hold every
 * event forever. 0 in either limit means no bound.
 */
export function queuedFrameLimit(quota: QuotaTable, domid: number): number {
  const replies = quota.limit(domid, 'outstanding');
  const events = quota.limit(domid, 'watchEvents');
  return replies === 0 || events === 0 ? 0 : replies + events;
}

/** Global limits plus per-domain overrides set with SET_QUOTA. */
export class QuotaTable {
  readonly global: QuotaLimits;
  private readonly perDomain = new Map<number, Partial<QuotaLimits>>();

  constructor(limits: Partial<QuotaLimits> = {}) {
    this.global = { ...DEFAULT_QUOTA, ...limits };
  }

  /** Limits lowered for a while (the xs-quota fault), over whatever else is set. */
  private readonly lowered = new Map<number, Partial<QuotaLimits>>();

  limit(domid: number, key: keyof QuotaLimits): number {
    if (this.lowered.size > 0) {
      const low = this.lowered.get(domid)?.[key];
      if (low !== undefined) return low;
    }
    return this.perDomain.get(domid)?.[key] ?? this.global[key];
  }

  /** Hold `domid` to `limits` until `unlower` (SET_QUOTA meanwhile takes effect after). */
  lower(domid: number, limits: Partial<QuotaLimits>): void {
    this.lowered.set(domid, limits);
  }

  unlower(domid: number): void {
    this.lowered.delete(domid);
  }

  set(domid: number | null, key: keyof QuotaLimits, value: number): void {
    if (domid === null) {
      this.global[key] = value;
      return;
    }
    const own = this.perDomain.get(domid) ?? {};
    own[key] = value;
    this.perDomain.set(domid, own);
  }

  forget(domid: number): void {
    this.perDomain.delete(domid);
  }
}

/** How many nodes each domain owns (the root is nobody's). */
export interface NodeCounts {
  get(domid: number): number;
  add(domid: number, n: number): void;
}

export class OwnerCounts implements NodeCounts {
  private readonly counts = new Map<number, number>();
  /** All owned nodes, i.e. every node but the root. */
  total = 0;

  get(domid: number): number {
    return this.counts.get(domid) ?? 0;
  }

  add(domid: number, n: number): void {
    this.total += n;
    const v = this.get(domid) + n;
    if (v === 0) this.counts.delete(domid);
    else this.counts.set(domid, v);
  }

  has(domid: number): boolean {
    return this.counts.has(domid);
  }

  equals(other: OwnerCounts): boolean {
    if (other.counts.size !== this.counts.size) return false;
    for (const [domid, n] of this.counts) if (other.counts.get(domid) !== n) return false;
    return true;
  }
}

/** A transaction's view: the live counts plus what the transaction changed. */
export class DeltaCounts implements NodeCounts {
  readonly delta = new Map<number, number>();

  constructor(private readonly base: NodeCounts) {}

  get(domid: number): number {
    return this.base.get(domid) + (this.delta.get(domid) ?? 0);
  }

  add(domid: number, n: number): void {
    this.delta.set(domid, (this.delta.get(domid) ?? 0) + n);
  }

  applyTo(target: NodeCounts): void {
    for (const [domid, n] of this.delta) if (n !== 0) target.add(domid, n);
  }
}
