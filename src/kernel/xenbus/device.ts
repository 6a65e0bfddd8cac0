import { XenbusState } from '../../abi/index.js';
import { errnoNumber, isErrnoName } from '../../common/errno.js';
import { XsRequestError, type XsClient } from '../../protocol/xs-client.js';
import type { KernelLog } from '../kernel-log.js';
import type { XenbusDriver } from './driver.js';

/** Where the other end of a split device lives: its XenStore node and its domain. */
export interface Otherend {
  path: string;
  domid: number;
}

const STATE_NAMES = new Map<number, string>(Object.entries(XenbusState).map(([name, n]) => [n, name]));

/** xenbus_strstate: a state's name as Linux prints it ("INVALID" for a number outside the enum). */
export function xenbusStateName(state: number): string {
  return STATE_NAMES.get(state) ?? 'INVALID';
}

/** Closing or Closed: the end that wrote it is going away. */
function closing(state: number): boolean {
  return state === XenbusState.Closing || state === XenbusState.Closed;
}

/** The other end went away (Closing/Closed) or the device did while a driver waited on it. */
export class OtherendGoneError extends Error {
  constructor(
    readonly node: string,
    readonly state: XenbusState | null,
    why: string,
  ) {
    super(`${node}: ${why}`);
    this.name = 'OtherendGoneError';
  }
}

interface Waiter {
  wanted: readonly XenbusState[];
  resolve(state: XenbusState): void;
  reject(err: Error): void;
}

/**
 * One device on a XenBus bus, FreeBSD's `struct xenbus_device_ivars`: its XenStore node
 * (relative to the kernel's home, `device/vif/0` or `backend/vbd/3/51712`), its type,
 * the other end's node and domain, both ends' last known states, and the driver that
 * attached it. A child of xenstore itself (control, balloon) has a node but no other end.
 */
export class XenbusDevice {
  /** This end's state as last written or read (xd_state). */
  state: XenbusState = XenbusState.Unknown;
  /** The other end's state as last read by the bus (delivered to the driver once attached). */
  otherendState: XenbusState = XenbusState.Unknown;
  driver: XenbusDriver | null = null;
  private waiters: Waiter[] = [];

  constructor(
    readonly xs: XsClient,
    /** The device type, the folder it sits in (`vbd`, `vif`) or the child's name (`control`). */
    readonly type: string,
    readonly node: string,
    public otherend: Otherend | null,
    private readonly log: KernelLog | null = null,
  ) {}

  /**
   * xenbus_set_state: publish this end's state; the other end's watch fires. Setting
   * the state it already has writes nothing, as FreeBSD's xenbusb_write_ivar, so the
   * other end is not woken for nothing.
   */
  async setState(state: XenbusState): Promise<void> {
    if (state === this.state) return;
    let closedByOthers: XenbusState | null = null;
    // As Linux's __xenbus_switch_state, in a transaction and only while the device's
    // node is there: a backend's last Closed, written just after the toolstack removed
    // its folder (a destroyed guest), must not make the folder again.
    await this.xs.transaction(async (tx) => {
      closedByOthers = null;
      const there = await this.xs.read(this.node, tx).then(
        () => true,
        (err: unknown) => {
          if (err instanceof XsRequestError && err.errno === 'ENOENT') return false;
          throw err;
        },
      );
      if (!there) return;
      // Unlike Linux: a step forward is not written over a Closing or Closed this end
      // did not write. That is the toolstack detaching the device (libxl writes the
      // backend's state Closing) while this end was still connecting; overwritten, the
      // other end could read only our Connected, never close, and leave the detach
      // waiting for a Closed that never comes. Left in place, the other end sees it and
      // closes, and this end follows.
      const current = closing(state) ? null : await this.xs.read(`${this.node}/state`, tx).then((v) => Number(v.toString('latin1')), () => null);
      if (current !== null && closing(current) && current !== this.state) {
        closedByOthers = current as XenbusState;
        return;
      }
      await this.xs.write(`${this.node}/state`, String(state), tx);
    });
    if (closedByOthers !== null) {
      this.log?.print(`${this.driver?.name ?? this.type}: ${this.node}: not going ${xenbusStateName(state)}: the state was set ${xenbusStateName(closedByOthers)}`);
      this.state = closedByOthers;
      return;
    }
    this.state = state;
  }

  /** A node below the device's own (`xenbus_read(dev->nodename, name)`), as text. */
  async read(name: string): Promise<string> {
    return (await this.xs.read(`${this.node}/${name}`)).toString('latin1');
  }

  /** Where xenbus_dev_error writes: `error/<node>/error` below the kernel's home. */
  get errorPath(): string {
    return `error/${this.node}/error`;
  }

  /**
   * xenbus_dev_error: log "Error <errno> <message>" and write "<errno> <message>" to
   * `error/<node>/error` (FreeBSD's and Linux's format: the positive errno, a space,
   * the message). `err` is an errno number or name.
   */
  async error(err: number | string, message: string): Promise<void> {
    const text = `${typeof err === 'number' ? err : errnoNumber(err)} ${message}`;
    this.log?.print(`${this.driver?.name ?? this.type}: ${this.node}: Error ${text}`);
    await this.xs.write(this.errorPath, text).catch((e: Error) => this.log?.print(`xenbus: failed to write error node for ${this.node} (${text}): ${e.message}`));
  }

  /**
   * xenbus_dev_fatal: the error, then this end goes Closing, so the other end (which
   * watches our state) starts closing too instead of waiting for us.
   */
  async fatal(err: number | string, message: string): Promise<void> {
    await this.error(err, message);
    this.log?.print(`${this.driver?.name ?? this.type}: ${this.node}: Fatal error. Transitioning to Closing State`);
    await this.setState(XenbusState.Closing).catch(() => {});
  }

  /**
   * Wait until the other end is in one of `wanted` (blkfront waiting for InitWait, then
   * Connected). Resolves at once if it already is. Rejects with OtherendGoneError when
   * the other end goes Closing or Closed (or the device is detached) instead, unless
   * those are wanted: a driver waiting on a peer that gave up is never left waiting.
   * Driven by the bus's watch on the other end's state, so it does not block the bus.
   */
  waitForOtherend(...wanted: XenbusState[]): Promise<XenbusState> {
    if (wanted.includes(this.otherendState)) return Promise.resolve(this.otherendState);
    const gone = this.goneReason(this.otherendState, wanted);
    if (gone !== null) return Promise.reject(new OtherendGoneError(this.node, this.otherendState, gone));
    return new Promise((resolve, reject) => this.waiters.push({ wanted, resolve, reject }));
  }

  /** The bus read a new state of the other end: record it and settle the waits it decides. */
  noteOtherendState(state: XenbusState): void {
    this.otherendState = state;
    if (this.waiters.length === 0) return;
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) {
      const gone = this.goneReason(state, w.wanted);
      if (w.wanted.includes(state)) w.resolve(state);
      else if (gone !== null) w.reject(new OtherendGoneError(this.node, state, gone));
      else this.waiters.push(w);
    }
  }

  /** The device is going away: every wait on its other end fails with `why`. */
  cancelWaits(why: string): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w.reject(new OtherendGoneError(this.node, null, why));
  }

  private goneReason(state: XenbusState, wanted: readonly XenbusState[]): string | null {
    if (!closing(state) || wanted.includes(state)) return null;
    return `the other end (${this.otherend?.path ?? 'none'}) went ${xenbusStateName(state)} while waiting for ${wanted.map(xenbusStateName).join(' or ')}`;
  }
}

/** The errno a failure carries: its code when that is an errno name, else EIO. */
export function errnoOf(err: unknown): number {
  const code = (err as { code?: unknown } | null)?.code;
  return errnoNumber(typeof code === 'string' && isErrnoName(code) ? code : 'EIO');
}

/**
 * xenbus_read_driver_state: a missing or unreadable state node reads as Closed, as in
 * FreeBSD (Linux says Unknown), so a peer that went away looks like one that shut down
 * and the driver takes its device down the same way.
 */
export async function readDriverState(xs: XsClient, node: string): Promise<XenbusState> {
  const text = await xs.read(`${node}/state`).then(
    (v) => v.toString('latin1'),
    () => '',
  );
  const n = /^[0-9]+$/.test(text) ? Number(text) : XenbusState.Closed;
  return n <= XenbusState.Reconfigured ? (n as XenbusState) : XenbusState.Unknown;
}
