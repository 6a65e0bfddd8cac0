import type { Clock, Timer } from '../hypervisor/clock.js';
import { splitNul, XsType, xsTypeName, type XsErrno, type XsMessage } from '../protocol/xs-wire.js';
import type { XsConnection } from '../xenstore/connection.js';
import type { Transaction } from '../xenstore/database.js';
import { QUOTA_NAMES, type QuotaLimits, type QuotaTable } from '../xenstore/quota.js';
import type { XsFaultHooks } from '../xenstore/xenstored.js';
import type { FaultKind } from './kinds.js';
import type { ActiveFault, FaultRegistry } from './registry.js';

/** Requests whose first argument is a path, which `--path` can match. */
const PATH_TYPES = new Set<number>([
  XsType.READ, XsType.WRITE, XsType.MKDIR, XsType.RM, XsType.DIRECTORY, XsType.DIRECTORY_PART,
  XsType.GET_PERMS, XsType.SET_PERMS, XsType.WATCH, XsType.UNWATCH,
]);

const XS_KINDS: readonly FaultKind[] = ['xs-errno', 'xs-eagain', 'xs-delay', 'xs-watch-delay'];

/**
 * A fault aimed at a domain applies to its connections (its ring, and clients acting
 * as it); `socket` to dom0's unix-socket clients; no target to every client. The
 * daemon's own connections (dom0's kernel, the toolstack) are never faulted: a fault
 * shows what clients would see, it does not break the emulator's plumbing.
 */
function appliesTo(fault: ActiveFault, conn: XsConnection): boolean {
  if (conn.kind === 'internal') return false;
  const target = fault.spec.target;
  if (target === null) return true;
  if (target === 'socket') return conn.kind === 'socket' || conn.kind === 'socket-ro';
  return conn.domid === target.domid;
}

function under(path: string, prefix: string): boolean {
  return prefix === '/' || path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 0x2f);
}

/** A connection's frames that wait: those of xs-delay, and watch events of xs-watch-delay. */
class Held {
  readonly frames: Array<{ due: number; frame: Buffer; key: string | null }> = [];
  timer: Timer | null = null;
}

/**
 * The XenStore fault kinds (xs-errno, xs-eagain, xs-delay, xs-watch-delay, xs-quota)
 * as xenstored's hooks. Delays keep each connection's order: a frame never overtakes
 * one queued before it on the same stage, so a client sees late answers, never
 * reordered ones (watch events alone may fall behind replies, as they can on a real
 * host whose watch events are slow).
 */
export class XsFaults implements XsFaultHooks {
  armed = false;
  /** Per connection: replies and events held by xs-delay. */
  private readonly late = new Map<XsConnection, Held>();
  /** Per connection: watch events held by xs-watch-delay. */
  private readonly lateEvents = new Map<XsConnection, Held>();

  constructor(
    private readonly registry: FaultRegistry,
    private readonly clock: Clock,
    quota: () => QuotaTable,
  ) {
    const rearm = { added: () => this.rearm(), removed: () => this.rearm() };
    for (const kind of XS_KINDS) registry.handle(kind, rearm);
    registry.handle('xs-quota', {
      added: (fault) => {
        quota().lower(fault.domid!, loweredLimits(fault));
        registry.fired(fault, `quota of domain ${fault.domid} lowered: ${Object.entries(fault.spec.options.quota ?? {}).map(([k, v]) => `${k}=${v}`).join(', ')}`);
      },
      removed: (fault) => quota().unlower(fault.domid!),
    });
  }

  private rearm(): void {
    this.armed = XS_KINDS.some((k) => this.registry.has(k)) || this.late.size > 0 || this.lateEvents.size > 0;
  }

  refuse(conn: XsConnection, msg: XsMessage): XsErrno | null {
    if (!this.registry.has('xs-errno')) return null;
    let path: string | null | undefined;
    const fault = this.registry.fire(
      'xs-errno',
      (f) => {
        if (!appliesTo(f, conn)) return false;
        const { op, path: prefix } = f.spec.options;
        if (op !== undefined && xsTypeName(msg.type) !== op) return false;
        if (prefix === undefined) return true;
        if (path === undefined) path = requestPath(conn, msg);
        return path !== null && under(path, prefix);
      },
      () => {
        if (path === undefined) path = requestPath(conn, msg);
        return `${conn.label} ${xsTypeName(msg.type)}${path !== null ? ` ${path}` : ''}`;
      },
    );
    if (fault === null) return null;
    return fault.spec.options.errno as XsErrno;
  }

  failCommit(conn: XsConnection, tx: Transaction): boolean {
    if (!this.registry.has('xs-eagain')) return false;
    const fault = this.registry.fire(
      'xs-eagain',
      (f) => {
        if (!appliesTo(f, conn)) return false;
        const prefix = f.spec.options.path;
        return prefix === undefined || tx.ops.some((op) => under(op.path, prefix));
      },
      () => `${conn.label} commit of transaction ${tx.id} (${tx.ops.length} changes) fails with EAGAIN`,
    );
    return fault !== null;
  }

  deliver(conn: XsConnection, frame: Buffer, event: boolean): void {
    if (event) {
      const queued = this.lateEvents.get(conn);
      const key = frame.toString('latin1', 16);
      // A repeat of an event still held is dropped while a coalescing fault applies: not a firing.
      if (queued?.frames.some((h) => h.key === key) && this.registry.find('xs-watch-delay', (f) => f.spec.options.coalesce === true && appliesTo(f, conn))) return;
      const fault = this.registry.has('xs-watch-delay') ? this.registry.fire('xs-watch-delay', (f) => appliesTo(f, conn), (f) => `${conn.label} ${frameText(frame)} held ${f.spec.options.delayMs ?? 0} ms`) : null;
      if (fault !== null || queued !== undefined) {
        this.hold(this.lateEvents, conn, frame, fault?.spec.options.delayMs ?? 0, key);
        return;
      }
    }
    this.pass(conn, frame);
  }

  /** The xs-delay stage, last before the client. */
  private pass(conn: XsConnection, frame: Buffer): void {
    const queued = this.late.has(conn);
    const fault = this.registry.has('xs-delay') ? this.registry.fire('xs-delay', (f) => appliesTo(f, conn), (f) => `${conn.label} ${frameText(frame)} held ${f.spec.options.delayMs ?? 0} ms`) : null;
    if (fault === null && !queued) {
      if (!conn.closed) conn.sink.deliver(frame);
      return;
    }
    this.hold(this.late, conn, frame, fault?.spec.options.delayMs ?? 0, null);
  }

  private hold(stage: Map<XsConnection, Held>, conn: XsConnection, frame: Buffer, delayMs: number, key: string | null): void {
    let held = stage.get(conn);
    if (held === undefined) {
      held = new Held();
      stage.set(conn, held);
      this.armed = true;
    }
    const last = held.frames.length > 0 ? held.frames[held.frames.length - 1]!.due : 0;
    held.frames.push({ due: Math.max(this.clock.now() + delayMs * 1e6, last), frame, key });
    if (held.timer === null) this.schedule(stage, conn, held);
  }

  private schedule(stage: Map<XsConnection, Held>, conn: XsConnection, held: Held): void {
    held.timer = this.clock.after(Math.max(0, held.frames[0]!.due - this.clock.now()), () => {
      held.timer = null;
      const now = this.clock.now();
      let n = 0;
      while (n < held.frames.length && held.frames[n]!.due <= now) n++;
      const due = held.frames.splice(0, n);
      if (held.frames.length === 0) {
        stage.delete(conn);
        this.rearm();
      } else this.schedule(stage, conn, held);
      for (const { frame } of due) {
        if (conn.closed) break;
        if (stage === this.lateEvents) this.pass(conn, frame);
        else conn.sink.deliver(frame);
      }
    });
  }
}

/** What a frame is, for the log: "READ reply" or "watch event /path". */
function frameText(frame: Buffer): string {
  const type = frame.readUInt32LE(0);
  if (type === XsType.WATCH_EVENT) return `watch event ${frame.toString('latin1', 16, frame.indexOf(0, 16))}`;
  return `${xsTypeName(type)} reply`;
}

/** The absolute path a request names first, or null when it names none. */
function requestPath(conn: XsConnection, msg: XsMessage): string | null {
  if (!PATH_TYPES.has(msg.type)) return null;
  const raw = splitNul(msg.payload)[0] ?? '';
  if (raw === '') return null;
  return raw.startsWith('/') || raw.startsWith('@') ? raw : `${conn.home}${raw}`;
}

function loweredLimits(fault: ActiveFault): Partial<QuotaLimits> {
  const limits: Partial<QuotaLimits> = {};
  for (const [name, value] of Object.entries(fault.spec.options.quota ?? {})) limits[QUOTA_NAMES[name]!] = value;
  return limits;
}
