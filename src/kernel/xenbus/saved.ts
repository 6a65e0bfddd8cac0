import type { XenbusState } from '../../abi/index.js';
import type { Otherend } from './device.js';

/**
 * What a XenBus bus keeps in kernel memory, as plain JSON-able data: its devices as
 * FreeBSD's xenbus_device_ivars hold them. XenStore has the nodes themselves; what
 * is here is what xenbusb_resume needs on top: which devices exist and which driver
 * has each, this end's last state, and where the other end was and what it last said
 * (a resume rereads the other end, which a migration may have moved).
 */
export interface XenbusDeviceState {
  /** The device's node below the kernel's home (`device/vif/0`, `backend/vbd/3/51712`). */
  node: string;
  type: string;
  /** The name of the driver that attached it. */
  driver: string;
  state: XenbusState;
  otherend: Otherend | null;
  /** The other end's state as last delivered to the driver. */
  otherendState: XenbusState;
}

export interface XenbusBusState {
  /** `xenbusb_front` or `xenbusb_back`. */
  bus: string;
  /** Attached devices, in attach order. */
  devices: XenbusDeviceState[];
  /** Nodes every driver declined (not offered again until a driver registers or the node goes). */
  declined: string[];
}
