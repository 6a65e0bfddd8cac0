import { XenbusState } from '../../abi/index.js';
import type { XsClient } from '../../protocol/xs-client.js';
import type { XenbusDriver } from './driver.js';

/** Where the other end of a split device lives: its XenStore node and its domain. */
export interface Otherend {
  path: string;
  domid: number;
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
  /** The other end's state as last delivered to the driver. */
  otherendState: XenbusState = XenbusState.Unknown;
  driver: XenbusDriver | null = null;

  constructor(
    readonly xs: XsClient,
    /** The device type, the folder it sits in (`vbd`, `vif`) or the child's name (`control`). */
    readonly type: string,
    readonly node: string,
    public otherend: Otherend | null,
  ) {}

  /**
   * xenbus_set_state: publish this end's state; the other end's watch fires. Setting
   * the state it already has writes nothing, as FreeBSD's xenbusb_write_ivar, so the
   * other end is not woken for nothing.
   */
  async setState(state: XenbusState): Promise<void> {
    if (state === this.state) return;
    await this.xs.write(`${this.node}/state`, String(state));
    this.state = state;
  }

  /** A node below the device's own (`xenbus_read(dev->nodename, name)`), as text. */
  async read(name: string): Promise<string> {
    return (await this.xs.read(`${this.node}/${name}`)).toString('latin1');
  }
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
