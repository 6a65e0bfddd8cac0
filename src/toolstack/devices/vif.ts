/**
 * The XenStore entries of a vif, key for key and in libxl's order
 * (libxl_nic.c libxl__set_xenstore_nic over libxl__device_generic_add, 4.17), and the
 * row `xl network-list` prints (libxl_device_nic_getinfo). Pure: the flow is nics.ts.
 */

import { XenbusState } from '../../abi/index.js';
import { parseVifRate, type VifSpec } from '../config/index.js';
import type { DeviceId, Entries } from './generic.js';
import { scriptPath } from './hotplug.js';

/** LIBXL_DEVICE_NIC_MTU_DEFAULT: the backend gets `mtu` only when it differs. */
export const NIC_MTU_DEFAULT = 1500;

export interface VifEntries {
  device: DeviceId;
  back: Entries;
  front: Entries;
  /** The frontend keys only the backend domain may change (libxl's ro_front). */
  roFront: Entries;
}

export function vifEntries(vif: VifSpec, ctx: { domid: number; backendDomid: number }): VifEntries {
  const device: DeviceId = { domid: ctx.domid, backendDomid: ctx.backendDomid, kind: 'vif', devid: vif.devid };
  const back: Array<[string, string]> = [
    ['frontend-id', String(ctx.domid)],
    ['online', '1'],
    ['state', String(XenbusState.Initialising)],
    ['script', scriptPath(vif.script)],
  ];
  if (vif.vifname !== undefined) back.push(['vifname', vif.vifname]);
  back.push(['mac', vif.mac]);
  if (vif.ip !== undefined) back.push(['ip', vif.ip]);
  if (vif.gatewaydev !== undefined) back.push(['gatewaydev', vif.gatewaydev]);
  if (vif.rate !== undefined) {
    const r = parseVifRate(vif.rate);
    back.push(['rate', `${r.bytesPerInterval},${r.intervalUsecs}`]);
  }
  if (vif.mtu !== NIC_MTU_DEFAULT) back.push(['mtu', String(vif.mtu)]);
  back.push(['bridge', vif.bridge], ['handle', String(vif.devid)], ['type', vif.type === 'ioemu' ? 'vif_ioemu' : 'vif']);
  // "Force backend to wait for hotplug script execution before switching to connected state."
  back.push(['hotplug-status', '']);
  const front: Array<[string, string]> = [
    ['backend-id', String(ctx.backendDomid)],
    ['state', String(XenbusState.Initialising)],
    ['handle', String(vif.devid)],
    ['mac', vif.mac],
    ['trusted', vif.trusted ? '1' : '0'],
  ];
  return { device, back, front, roFront: [['mtu', String(vif.mtu)]] };
}

/** One row of `xl network-list` (libxl_nicinfo), plus what --json adds. */
export interface NicInfo {
  devid: number;
  backendId: number;
  mac: string;
  /** The frontend's state, event channel and ring-refs; -1 where the node is missing. */
  state: number;
  evtch: number;
  rrefTx: number;
  rrefRx: number;
  backendPath: string;
  frontendPath: string;
  /** xenemu's additions. */
  bridge: string;
  ip: string | null;
  backendState: number;
  /** The backend's counters from the guest's side, once it connected. */
  stats?: { txPackets: number; txBytes: number; txDropped: number; txErrors: number; rxPackets: number; rxBytes: number; rxDropped: number };
}
