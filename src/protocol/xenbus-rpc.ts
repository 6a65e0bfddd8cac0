import * as z from 'zod';
import { DomainRef } from './params.js';

/**
 * Control-socket method of `xenemu xenbus list`: every XenBus device of a domain's
 * kernel with the generic variables FreeBSD exposes for each by sysctl
 * (dev.<driver>.<unit>.xenstore_path, xenbus_dev_type, xenbus_connection_state,
 * xenbus_peer_domid, xenstore_peer_path), plus the other end's state and the driver.
 */

/** One device, on the front or back bus or a child of xenstore. */
export interface XenbusDeviceRow {
  /** `xenbusb_front`, `xenbusb_back` or `xenstore`. */
  bus: string;
  /** Its node below the kernel's home (`device/vbd/51712`). */
  node: string;
  /** xenstore_path: the node as an absolute path. */
  xenstorePath: string;
  /** xenbus_dev_type. */
  type: string;
  /** xenbus_connection_state, as the number in its `state` node and its name; null for a child of xenstore. */
  state: number | null;
  stateName: string | null;
  /** xenstore_peer_path and xenbus_peer_domid; null for a child of xenstore. */
  otherendPath: string | null;
  otherendId: number | null;
  otherendState: number | null;
  otherendStateName: string | null;
  /** The driver that attached it; null when no driver took it. */
  driver: string | null;
}

export const XenbusParams = {
  'xenbus.list': z.strictObject({ ref: DomainRef }),
} satisfies Record<string, z.ZodType>;

interface XenbusResults {
  'xenbus.list': { domid: number; name: string; devices: XenbusDeviceRow[] };
}

export type XenbusMethod = keyof typeof XenbusParams;

export type XenbusRpc = { [M in XenbusMethod]: { params: z.output<(typeof XenbusParams)[M]>; result: XenbusResults[M] } };
