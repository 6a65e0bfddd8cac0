/**
 * Disks the libxl way (libxl_disk.c over libxl_device.c): attach writes the device's
 * XenStore folders in one transaction, waits for the backend to reach InitWait, runs
 * the hotplug script the spec names and waits for its verdict; detach asks the backend
 * to close (online=0, state=Closing), waits for Closed, runs the script's `remove` and
 * removes the folders; list reads what `xl block-list` shows.
 *
 * Unlike libxl, a failed attach removes what it wrote, so a command that fails leaves
 * no half-made device behind; and the checks the default `block` script makes (the
 * target exists, is a file or a block device, is not read-only when attached rw) are
 * made here, before anything is written, since xenemu's blkback opens the target itself.
 */

import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { XsClient } from '../../protocol/xs-client.js';
import { decodeVdev, type DiskSpec } from '../config/index.js';
import { ToolstackError } from '../errors.js';
import { connectDevice, detachDevice, type DeviceDeps } from './device-flow.js';
import { libxlPath, readOrNull, removeDeviceNodes, writeDeviceNodes, type DeviceId } from './generic.js';
import { vbdEntries, type VbdContext, type VbdInfo } from './vbd.js';

/** strerror() of the errno a failed stat(2) gives, as libxl's LOGE prints it. */
const STRERROR: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
};

/**
 * What libxl__device_disk_setdefault / libxl__device_disk_set_backend refuse, and what
 * the `block` script refuses, for a disk served by xenemu's blkback. Throws a
 * ToolstackError with libxl's or the script's wording.
 */
export function checkDisk(disk: DiskSpec): void {
  const vdev = disk.vdev;
  if (disk.specification === 'virtio') throw new ToolstackError('EINVAL', `Disk vdev=${vdev}: specification=virtio is not emulated (xenemu serves Xen PV disks only)`);
  if (disk.backendtype === 'tap') throw new ToolstackError('EINVAL', `Disk vdev=${vdev}: blktap is not supported`);
  if (disk.backendtype === 'qdisk' || disk.backendtype === 'standalone') {
    throw new ToolstackError('EINVAL', `Disk vdev=${vdev}: backendtype=${disk.backendtype} needs QEMU, which xenemu does not emulate: use backendtype=phy (blkback)`);
  }
  if (disk.format !== 'raw' && disk.format !== 'empty') {
    throw new ToolstackError('EINVAL', `no suitable backend for disk ${vdev}: blkback serves raw images, and this one is format=${disk.format}`);
  }
  // With script=, the target is the script's argument (an iSCSI name, say), not a path.
  if (disk.script !== undefined || disk.target === undefined) return;
  const target = disk.target;
  // The CLI resolves a relative target against its working directory (a config's
  // against the config's); the daemon's own directory means nothing to the caller.
  if (!isAbsolute(target)) throw new ToolstackError('EINVAL', `Disk vdev=${vdev}: the target "${target}" is a relative path; give an absolute one`);
  let st;
  try {
    st = statSync(target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw new ToolstackError('EINVAL', `Disk vdev=${vdev} failed to stat: ${target}: ${STRERROR[code] ?? code}`);
  }
  if (!st.isFile() && !st.isBlockDevice()) throw new ToolstackError('EINVAL', `Disk vdev=${vdev}: ${target} is not a regular file or a block device`);
  try {
    accessSync(target, fsConstants.R_OK);
  } catch {
    throw new ToolstackError('EACCES', `Disk vdev=${vdev}: ${target} cannot be read: Permission denied`);
  }
  if (disk.access === 'rw') {
    let writable = (st.mode & 0o222) !== 0;
    try {
      accessSync(target, fsConstants.W_OK);
    } catch {
      writable = false;
    }
    // The block script's check (stat -c %A | grep w), and ours as the daemon's user.
    if (!writable) throw new ToolstackError('EROFS', `File ${target} is read-only, and so I will not mount it read-write in a guest domain.`);
  }
}

/**
 * Attach one disk: write its nodes (refusing a vdev the guest already has), then the
 * libxl device flow. Any failure removes the nodes and throws.
 */
export async function attachDisk(deps: DeviceDeps, disk: DiskSpec, ctx: VbdContext): Promise<DeviceId> {
  checkDisk(disk);
  const { xs } = deps;
  const e = vbdEntries(disk, ctx);
  const d = e.device;
  await xs.transaction(async (tx) => {
    // libxl__device_exists(): the /libxl copy says whether the guest has the device.
    if ((await readOrNull(xs, libxlPath(d), tx)) !== null) {
      throw new ToolstackError('EEXIST', `vdev ${disk.vdev} (device ${d.devid}) of domain ${d.domid} is already in use: device already exists in xenstore`);
    }
    await writeDeviceNodes(xs, tx, d, e.back, e.front);
  });
  try {
    await connectDevice(deps, d);
  } catch (err) {
    await removeDeviceNodes(xs, d).catch(() => {});
    throw err;
  }
  deps.log(`domain ${d.domid}: disk ${disk.vdev} (vbd ${d.devid}) attached, backend in domain ${d.backendDomid}`);
  return d;
}

/** The device a /libxl entry describes, or undefined when the guest has no such disk. */
export async function findDisk(xs: XsClient, domid: number, devid: number): Promise<DeviceId | undefined> {
  const be = await readOrNull(xs, `/libxl/${domid}/device/vbd/${devid}/backend`);
  if (be === null) return undefined;
  const m = /^\/local\/domain\/([0-9]+)\/backend\/vbd\/[0-9]+\/[0-9]+$/.exec(be);
  if (m === null) return undefined;
  return { domid, backendDomid: Number(m[1]), kind: 'vbd', devid };
}

/**
 * xl block-detach: libxl__initiate_device_generic_remove() (see detachDevice); without
 * `force` a backend that does not reach Closed in 10 s fails the detach.
 */
export async function detachDisk(deps: DeviceDeps, d: DeviceId, force: boolean): Promise<void> {
  await detachDevice(deps, d, force);
  deps.log(`domain ${d.domid}: vbd ${d.devid} detached`);
}

/** libxl_device_disk_list() + libxl_device_disk_getinfo() for every disk of a guest. */
export async function listDisks(xs: XsClient, domid: number): Promise<VbdInfo[]> {
  const devids = await xs.directory(`/libxl/${domid}/device/vbd`).catch(() => [] as string[]);
  const rows: VbdInfo[] = [];
  const num = (v: string | null): number => (v === null ? -1 : Number(BigInt.asIntN(32, BigInt(/^[0-9]+/.exec(v)?.[0] ?? '0'))));
  for (const id of devids) {
    const lx = `/libxl/${domid}/device/vbd/${id}`;
    const be = await readOrNull(xs, `${lx}/backend`);
    const fe = await readOrNull(xs, `${lx}/frontend`);
    const vdev = await readOrNull(xs, `${lx}/dev`);
    if (be === null || fe === null || vdev === null) continue;
    const beId = /^\/local\/domain\/([0-9]+)\//.exec(be);
    if (beId === null) continue;
    const frontend = `/local/domain/${domid}/device/vbd/${id}`;
    rows.push({
      devid: decodeVdev(vdev)?.devid ?? -1,
      backendId: Number(beId[1]),
      frontendId: domid,
      state: num(await readOrNull(xs, `${frontend}/state`)),
      evtch: num(await readOrNull(xs, `${frontend}/event-channel`)),
      rref: num(await readOrNull(xs, `${frontend}/ring-ref`)),
      backendPath: be,
      frontendPath: fe,
      vdev,
      params: (await readOrNull(xs, `${lx}/params`)) ?? '',
      mode: (await readOrNull(xs, `${lx}/mode`)) ?? '',
      deviceType: (await readOrNull(xs, `${lx}/device-type`)) ?? '',
      backendState: num(await readOrNull(xs, `${be}/state`)),
    });
  }
  return rows;
}
