/**
 * xl cd-insert and cd-eject: libxl_cdrom_insert() (libxl_disk.c, 4.17) for the cdroms
 * xenemu's blkback serves.
 *
 * libxl checks what it checks (an HVM guest, a cdrom drive whose vdev is the one named,
 * by string) and then, for its qdisk backend, rewrites the drive's `type` and `params`
 * in place: first the empty medium (params ""), then the new one, and QEMU changes the
 * medium under the guest. xenemu's blkback reads `params` once, when its device
 * attaches, and blkfront reads `sectors` once, when it connects, so a medium rewritten
 * in place would change nothing the guest sees. The medium is changed instead by
 * replugging the drive: the frontend closes it (as for block-detach), both busses drop
 * it, and the same vdev attaches again with the new target, or empty. The guest then
 * sees a drive of the new size with the new bytes, or one with no medium, whose reads
 * fail.
 */

import type { DiskSpec } from '../config/index.js';
import { ToolstackError } from '../errors.js';
import { XenbusState } from '../../abi/index.js';
import { detachDevice, INIT_TIMEOUT_NS, type DeviceDeps } from './device-flow.js';
import { attachDisk, checkDisk, findDisk, listDisks } from './disks.js';
import { backendPath, frontendPath, waitForState, type DeviceId } from './generic.js';
import type { VbdContext, VbdInfo } from './vbd.js';

/** How long both busses have to drop a removed drive (libxl's LIBXL_DESTROY_TIMEOUT). */
const GONE_TIMEOUT_MS = 10_000;

/** What a medium change needs besides the device flow. */
export interface CdromDeps extends DeviceDeps {
  /** Whether domain `domid`'s kernel still has a XenBus device at `node` (relative to its home), on either bus. */
  busHas(domid: number, node: string): boolean;
}

/**
 * The guest's cdrom drive named `vdev`, as libxl_cdrom_insert() finds it: in the
 * disks libxl__device_list() reads back, the one that is a cdrom and whose vdev is
 * the same string ("hdc" does not find a drive given as "xvdc").
 */
export async function findCdrom(deps: DeviceDeps, domid: number, vdev: string): Promise<VbdInfo> {
  const drive = (await listDisks(deps.xs, domid)).find((r) => r.deviceType === 'cdrom' && r.vdev === vdev);
  if (drive === undefined) throw new ToolstackError('ENODEV', 'Virtual device not found');
  return drive;
}

/**
 * The drive with `target` in it, or no medium (null): what xl's
 * "vdev=V,access=r,devtype=cdrom,target=T" parses to (raw, or format=empty when T is
 * empty), the drive's other settings (backend, script...) kept.
 */
export function withMedium(drive: DiskSpec, target: string | null): DiskSpec {
  const { target: _old, ...rest } = drive;
  return target === null ? { ...rest, format: 'empty' } : { ...rest, target, format: 'raw' };
}

/**
 * Replug `from` (the guest's drive) as `to`, its new medium. Checked first, so a target
 * that cannot be served changes nothing; if the new medium then fails to attach, the
 * old one goes back in and the error is thrown.
 */
export async function changeMedium(deps: CdromDeps, from: DiskSpec, to: DiskSpec, ctx: VbdContext): Promise<void> {
  checkDisk(to);
  const d = await findDisk(deps.xs, ctx.domid, from.devid);
  if (d === undefined) throw new ToolstackError('ENODEV', 'Virtual device not found');
  // The guest's frontend lets go of the drive first (a backend that does not reach
  // Closed in 10 s fails the change, as block-detach fails), then both ends' busses
  // must have dropped their device: a node written again before a bus saw it removed
  // would look to that bus like the device it already has.
  await detachDevice(deps, d, false);
  await untilGone(deps, d);
  try {
    await attachDisk(deps, to, ctx);
  } catch (err) {
    await untilGone(deps, d).catch(() => {});
    await attachDisk(deps, from, ctx).then(
      () => untilConnected(deps, d),
      (again: Error) => deps.log(`domain ${ctx.domid}: cdrom ${from.vdev}: the old medium did not go back in either: ${again.message}`),
    );
    throw err;
  }
  deps.log(`domain ${ctx.domid}: cdrom ${to.vdev}: ${to.target === undefined ? 'medium ejected' : `medium ${to.target} inserted`}`);
  await untilConnected(deps, d);
}

/**
 * The change is done when the guest has the drive again: both ends Connected. A drive
 * still connecting is no drive to change again (its frontend may not have attached
 * yet to hear the backend close), and the command's caller may read it at once. A
 * guest that takes longer than libxl's 10 s has the medium all the same: logged.
 */
async function untilConnected(deps: DeviceDeps, d: DeviceId): Promise<void> {
  const connected = (s: number): boolean => s === XenbusState.Connected;
  try {
    for (const path of [frontendPath(d), backendPath(d)]) await waitForState(deps.xs, deps.clock, `${path}/state`, connected, INIT_TIMEOUT_NS, `cdrom vbd ${d.devid}`);
  } catch (err) {
    deps.log(`domain ${d.domid}: cdrom vbd ${d.devid}: the new medium is in, but the guest has not connected it: ${(err as Error).message}`);
  }
}

/** Wait until neither end's kernel has the device on a bus any more (bounded: polled, as nothing in XenStore says it). */
async function untilGone(deps: CdromDeps, d: DeviceId): Promise<void> {
  const front = `device/${d.kind}/${d.devid}`;
  const back = `backend/${d.kind}/${d.domid}/${d.devid}`;
  const present = (): boolean => deps.busHas(d.domid, front) || deps.busHas(d.backendDomid, back);
  const deadline = Date.now() + GONE_TIMEOUT_MS;
  while (present()) {
    if (Date.now() > deadline) throw new ToolstackError('ETIMEDOUT', `vbd ${d.devid} of domain ${d.domid} is still on a XenBus bus 10 s after its removal`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
