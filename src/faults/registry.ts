import type { Clock, Timer } from '../hypervisor/clock.js';
import type { FaultRow } from '../protocol/fault-rpc.js';
import type { FaultKind } from './kinds.js';
import { SeededRandom } from './rng.js';

/** A fault as added: everything but what it has done since. */
export type FaultSpec = Omit<FaultRow, 'id' | 'fired' | 'ageMs'>;

/** A fault in force. */
export class ActiveFault {
  fired = 0;
  readonly rng: SeededRandom;
  expiry: Timer | null = null;

  constructor(
    readonly id: number,
    readonly spec: FaultSpec,
    readonly startedNs: number,
  ) {
    this.rng = new SeededRandom(spec.seed);
  }

  /** The target's domid, or null for the socket clients or everyone. */
  get domid(): number | null {
    const t = this.spec.target;
    return t !== null && t !== 'socket' ? t.domid : null;
  }
}

/** What a kind does when one of its faults starts and ends (state it holds, timers). */
export interface KindHandler {
  added?(fault: ActiveFault): void;
  removed?(fault: ActiveFault, why: string): void;
}

const NS_PER_MS = 1e6;

/**
 * The host's faults in force. The places that can misbehave ask `fire` whether a fault
 * of their kind applies to what they are about to do; an idle registry answers from one
 * map lookup, so a host without faults runs as it would without this feature. Every
 * firing is counted and logged to the hypervisor's console (`xenemu dmesg`).
 */
export class FaultRegistry {
  private readonly faults = new Map<number, ActiveFault>();
  private readonly byKind = new Map<FaultKind, ActiveFault[]>();
  private readonly handlers = new Map<FaultKind, KindHandler>();
  private nextId = 1;

  constructor(
    private readonly clock: Clock,
    private readonly log: (line: string) => void,
  ) {}

  handle(kind: FaultKind, handler: KindHandler): void {
    this.handlers.set(kind, handler);
  }

  /** Whether any fault of `kind` is in force: the cheap test before `fire`. */
  has(kind: FaultKind): boolean {
    return this.byKind.has(kind);
  }

  add(spec: FaultSpec): ActiveFault {
    const fault = new ActiveFault(this.nextId++, spec, this.clock.now());
    this.faults.set(fault.id, fault);
    const list = this.byKind.get(spec.kind);
    if (list) list.push(fault);
    else this.byKind.set(spec.kind, [fault]);
    if (spec.durationMs !== null) fault.expiry = this.clock.after(spec.durationMs * NS_PER_MS, () => this.remove(fault, 'expired'));
    this.log(`fault ${fault.id} (${spec.kind}) added: ${describe(spec)}`);
    this.handlers.get(spec.kind)?.added?.(fault);
    return fault;
  }

  /**
   * The first fault of `kind` that applies (by `applies`) and wins its probability
   * draw, counted as fired and logged with `what` it did; null when none does.
   */
  fire(kind: FaultKind, applies: (fault: ActiveFault) => boolean, what: (fault: ActiveFault) => string): ActiveFault | null {
    const list = this.byKind.get(kind);
    if (list === undefined) return null;
    for (const fault of list) {
      if (!applies(fault)) continue;
      if (fault.spec.probability < 1 && fault.rng.next() >= fault.spec.probability) continue;
      this.fired(fault, what(fault));
      return fault;
    }
    return null;
  }

  /** The first fault of `kind` that applies, without a draw or a firing. */
  find(kind: FaultKind, applies: (fault: ActiveFault) => boolean): ActiveFault | null {
    return this.byKind.get(kind)?.find(applies) ?? null;
  }

  /** Count one firing of `fault`; it ends when its count is reached. */
  fired(fault: ActiveFault, what: string): void {
    fault.fired++;
    this.log(`fault ${fault.id} (${fault.spec.kind}) fired: ${what}`);
    if (fault.spec.count !== null && fault.fired >= fault.spec.count) this.remove(fault, 'its count is reached');
  }

  /** Log something a fault met without firing (a refused leak): the reader sees why it stalls. */
  note(fault: ActiveFault, what: string): void {
    this.log(`fault ${fault.id} (${fault.spec.kind}): ${what}`);
  }

  /** End fault `id`; false when there is none. */
  clear(id: number): boolean {
    const fault = this.faults.get(id);
    if (fault === undefined) return false;
    this.remove(fault, 'cleared');
    return true;
  }

  /** End every fault; their ids. */
  clearAll(): number[] {
    const ids = [...this.faults.keys()];
    for (const id of ids) this.clear(id);
    return ids;
  }

  /** End the faults aimed at a domain that is gone. */
  forgetDomain(domid: number): void {
    for (const fault of [...this.faults.values()]) if (fault.domid === domid) this.remove(fault, 'its domain is gone');
  }

  rows(): FaultRow[] {
    const now = this.clock.now();
    return [...this.faults.values()].map((f) => ({ id: f.id, ...f.spec, fired: f.fired, ageMs: Math.floor((now - f.startedNs) / NS_PER_MS) }));
  }

  get size(): number {
    return this.faults.size;
  }

  private remove(fault: ActiveFault, why: string): void {
    if (!this.faults.delete(fault.id)) return;
    fault.expiry?.cancel();
    const list = this.byKind.get(fault.spec.kind)!;
    list.splice(list.indexOf(fault), 1);
    if (list.length === 0) this.byKind.delete(fault.spec.kind);
    this.log(`fault ${fault.id} (${fault.spec.kind}) ended (${why}) after firing ${fault.fired} time${fault.fired === 1 ? '' : 's'}`);
    this.handlers.get(fault.spec.kind)?.removed?.(fault, why);
  }
}

/** One line for the log: the target and the settings that are not defaults. */
export function describe(spec: FaultSpec): string {
  const t = spec.target;
  const parts = [t === null ? 'every client' : t === 'socket' ? 'the socket clients' : `domain ${t.domid}${t.name !== null ? ` (${t.name})` : ''}`];
  if (spec.probability < 1) parts.push(`probability ${spec.probability}`);
  if (spec.count !== null) parts.push(`count ${spec.count}`);
  if (spec.durationMs !== null) parts.push(`for ${spec.durationMs} ms`);
  for (const [k, v] of Object.entries(spec.options)) parts.push(`${k} ${typeof v === 'object' ? Object.entries(v).map(([q, n]) => `${q}=${n}`).join(',') : String(v)}`);
  parts.push(`seed ${spec.seed}`);
  return parts.join(', ');
}
