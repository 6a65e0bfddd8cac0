/**
 * vifs the libxl way (libxl_nic.c over libxl_device.c): attach writes the device's
 * XenStore folders in one transaction, waits for netback's InitWait and runs the
 * hotplug script; detach closes, waits and removes; list reads what `xl network-list`
 * shows. As for disks, a failed attach removes what it wrote.
 */

import type { XsClient } from '../../protocol/xs-client.js';
import type { VifSpec } from '../config/index.js';
import { ToolstackError } from '../errors.js';
import { connectDevice, detachDevice, type DeviceDeps } from './device-flow.js';
import { libxlPath, readOrNull, removeDeviceNodes, writeDeviceNodes, type DeviceId } from './generic.js';
import { vifEntries, type NicInfo } from './vif.js';

/** Attach one vif: refuse a devid the guest already has, write the nodes, then the device flow. */
export async function attachNic(deps: DeviceDeps, vif: VifSpec, ctx: { domid: number; backendDomid: number }): Promise<DeviceId> {
  const { xs } = deps;
  const e = vifEntries(vif, ctx);
  const d = e.device;
  // xenemu's own part of a vif, whatever its script: the file its frames are captured to.
  const problem = deps.captureProblem?.(d.domid, d.devid, vif.capture) ?? null;
  if (problem !== null) throw new ToolstackError('EIO', `vif ${d.devid}: ${problem}`);
  await xs.transaction(async (tx) => {
    if ((await readOrNull(xs, libxlPath(d), tx)) !== null) {
      throw new ToolstackError('EEXIST', `vif ${d.devid} of domain ${d.domid} is already in use: device already exists in xenstore`);
    }
    await writeDeviceNodes(xs, tx, d, e.back, e.front, e.roFront);
  });
  try {
    await connectDevice(deps, d);
  } catch (err) {
    await removeDeviceNodes(xs, d).catch(() => {});
    throw err;
  }
  deps.log(`domain ${d.domid}: vif ${d.devid} (mac ${vif.mac}, bridge ${vif.bridge}) attached, backend in domain ${d.backendDomid}`);
  return d;
}

/** The devids of the guest's vifs, from its /libxl entries. */
export async function nicDevids(xs: XsClient, domid: number): Promise<number[]> {
  const ids = await xs.directory(`/libxl/${domid}/device/vif`).catch(() => [] as string[]);
  return ids.filter((id) => /^[0-9]+$/.test(id)).map(Number).sort((a, b) => a - b);
}

/**
 * libxl_devid_to_device_nic / libxl_mac_to_device_nic: `ref` is a MAC when it has a
 * colon (as xl network-detach decides), else a devid (atoi). Undefined when the guest has no such vif.
 */
export async function findNic(xs: XsClient, domid: number, ref: string): Promise<DeviceId | undefined> {
  let devid: number | undefined;
  if (ref.includes(':')) {
    const mac = ref.toLowerCase();
    for (const id of await nicDevids(xs, domid)) if ((await readOrNull(xs, `/libxl/${domid}/device/vif/${id}/mac`))?.toLowerCase() === mac) devid = id;
  } else {
    devid = Number.parseInt(/^\s*[+-]?[0-9]+/.exec(ref)?.[0] ?? '0', 10);
  }
  if (devid === undefined) return undefined;
  const be = await readOrNull(xs, `/libxl/${domid}/device/vif/${devid}/backend`);
  const m = be === null ? null : /^\/local\/domain\/([0-9]+)\/backend\/vif\/[0-9]+\/[0-9]+$/.exec(be);
  if (m === null) return undefined;
  return { domid, backendDomid: Number(m![1]), kind: 'vif', devid };
}

export async function detachNic(deps: DeviceDeps, d: DeviceId): Promise<void> {
  await detachDevice(deps, d, false);
  deps.log(`domain ${d.domid}: vif ${d.devid} detached`);
}

/** libxl_device_nic_list() + libxl_device_nic_getinfo() for every vif of a guest. */
export async function listNics(xs: XsClient, domid: number): Promise<NicInfo[]> {
  const rows: NicInfo[] = [];
  // strtoul of the node, or -1 when it is missing, as libxl_device_nic_getinfo reads it.
  const num = (v: string | null): number => (v === null ? -1 : Number(BigInt.asIntN(32, BigInt(/^[0-9]+/.exec(v)?.[0] ?? '0'))));
  for (const id of await nicDevids(xs, domid)) {
    const lx = `/libxl/${domid}/device/vif/${id}`;
    const be = await readOrNull(xs, `${lx}/backend`);
    const beId = be === null ? null : /^\/local\/domain\/([0-9]+)\//.exec(be);
    if (be === null || beId === null) continue;
    const fe = `/local/domain/${domid}/device/vif/${id}`;
    rows.push({
      devid: id,
      backendId: Number(beId[1]),
      mac: (await readOrNull(xs, `${lx}/mac`)) ?? '00:00:00:00:00:00',
      state: num(await readOrNull(xs, `${fe}/state`)),
      evtch: num(await readOrNull(xs, `${fe}/event-channel`)),
      rrefTx: num(await readOrNull(xs, `${fe}/tx-ring-ref`)),
      rrefRx: num(await readOrNull(xs, `${fe}/rx-ring-ref`)),
      backendPath: be,
      frontendPath: fe,
      bridge: (await readOrNull(xs, `${lx}/bridge`)) ?? '',
      ip: await readOrNull(xs, `${lx}/ip`),
      backendState: num(await readOrNull(xs, `${be}/state`)),
    });
  }
  return rows;
}
