import type { XenbusState } from '../../abi/index.js';
import type { XenbusDevice } from './device.js';

/**
 * How a freeze is done. A suspend the toolstack asked for is the guest's own and logs
 * as Linux's PM core does; a host checkpoint (the daemon's periodic image) is not the
 * guest's business: `quiet` drivers quiesce the same way but print nothing. `paused`:
 * the domain is paused, so no interrupt comes to drain anything with: a driver that
 * would have to wait refuses at once instead.
 */
export interface Freeze {
  quiet: boolean;
  paused: boolean;
}

/** The guest's own suspend (save, migration, xl save -c). */
export const GUEST_SUSPEND: Freeze = { quiet: false, paused: false };

/**
 * A driver on a XenBus bus or below xenstore, with the methods FreeBSD gives one
 * (device_if.m's probe/attach/detach/suspend/resume, xenbus_if.m's otherend_changed).
 * The bus owns enumeration, the watches and the state plumbing; a driver only says
 * what to do for its devices. One driver object serves every device it attached, so
 * any per-device state it keeps is keyed by the device.
 */
export interface XenbusDriver {
  /** The driver's name, for messages (FreeBSD's driver_t name: "xbd", "xctrl"). */
  readonly name: string;
  /**
   * Children of xenstore only (DEVICE_IDENTIFY): the node of the one device this
   * driver adds below the kernel's home (`control`, `memory`), or null to add none.
   * Drivers on the front and back busses are offered the devices the bus finds instead.
   */
  identify?(): string | null;
  /** Does this driver take the device? Decided from the device's type and what it can see, without side effects. */
  probe(dev: XenbusDevice): boolean;
  /**
   * Set the device up. It may wait for the other end (dev.waitForOtherend): devices
   * attach independently, so that holds up no other. A rejection leaves the device
   * unattached and the bus forgets it; a split device then gets an error node
   * ("<errno> <message>", the errno from the error's code, else EIO) and state Closed.
   */
  attach(dev: XenbusDevice): Promise<void>;
  /** The device is going away (its node was removed, or the kernel stops): release what attach took. */
  detach(dev: XenbusDevice): Promise<void>;
  /** Quiesce before the domain is suspended (save, migration). */
  suspend?(dev: XenbusDevice, how: Freeze): Promise<void>;
  /** Go on after a cancelled suspend: the connection is the one it had (Linux's PMSG_THAW). */
  thaw?(dev: XenbusDevice, how: Freeze): Promise<void>;
  /** Reconnect after the domain resumed in a new domain, possibly with a new other end. */
  resume?(dev: XenbusDevice): Promise<void>;
  /** The other end published a new state (XENBUS_OTHEREND_CHANGED). */
  otherendChanged?(dev: XenbusDevice, state: XenbusState): void;
}
