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
import { XenbusState } from '../../abi/index.js';
import type { Clock } from '../../hypervisor/clock.js';
import type { XsClient } from '../../protocol/xs-client.js';
import { decodeVdev, type DiskSpec } from '../config/index.js';
import { ToolstackError } from '../errors.js';
import { backendPath, frontendPath, libxlPath, readOrNull, removeDeviceNodes, waitForState, writeDeviceNodes, type DeviceId } from './generic.js';
import { DEFAULT_BLOCK_SCRIPT, hotplugEnv, runHotplugScript } from './hotplug.js';
import { vbdEntries, type VbdContext, type VbdInfo } from './vbd.js';

/** LIBXL_INIT_TIMEOUT and LIBXL_DESTROY_TIMEOUT: how long a backend has to answer. */
export const INIT_TIMEOUT_NS = 10e9;
export const DESTROY_TIMEOUT_NS = 10e9;

export interface DiskDeps {
  xs: XsClient;
  clock: Clock;
  log: (line: string) => void;
  /** Faults made to happen on purpose: hotplug-fail. */
  faults?: { hotplugFails(domid: number, script: string, action: string): number | null };
  /** The environment hotplug scripts start from (the daemon's, plus XENSTORED_PATH). */
  hotplugBaseEnv: NodeJS.ProcessEnv;
}

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
export async function attachDisk(deps: DiskDeps, disk: DiskSpec, ctx: VbdContext): Promise<DeviceId> {
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

/**
 * libxl__wait_device_connection(): wait for the backend's InitWait, then the hotplug
 * script. libxl waits for exactly InitWait, relying on the backend to stay there until
 * the script has run, as Linux blkback and xenemu's do; a backend that does not wait
 * may have gone on to Initialised or Connected when the watch reads the node, which is
 * as good.
 */
async function connectDevice(deps: DiskDeps, d: DeviceId): Promise<void> {
  const { xs, clock } = deps;
  const be = backendPath(d);
  await waitForState(
    xs,
    clock,
    `${be}/state`,
    (s) => s === XenbusState.InitWait || s === XenbusState.Initialised || s === XenbusState.Connected,
    INIT_TIMEOUT_NS,
    `unable to initialize device ${be}`,
  );
  await hotplug(deps, d, 'add');
}

/**
 * device_hotplug(): run the backend's `script` and take its verdict from
 * hotplug-status. A script that fails, or reports "error"/"busy", fails the attach
 * with its hotplug-error (libxl logs it as "script: ..."); on remove, errors are only
 * logged, as libxl carries on with the removal. Xen's default `block` script is done
 * in-process (defaultBlockScript): xenemu's blkback opens the target itself.
 */
async function hotplug(deps: DiskDeps, d: DeviceId, action: 'add' | 'remove'): Promise<void> {
  const { xs } = deps;
  const be = backendPath(d);
  const script = await readOrNull(xs, `${be}/script`);
  if (script === null) throw new ToolstackError('EIO', `unable to read script from ${be}`);
  const failing = deps.faults?.hotplugFails(d.domid, script, action) ?? null;
  let problem: string | undefined;
  if (failing !== null) {
    // hotplug-fail: the script "ran" and exited 1, with nothing in hotplug-status.
    problem = `exit status 1 (xenemu fault ${failing}: hotplug-fail)`;
  } else if (script === DEFAULT_BLOCK_SCRIPT) {
    if (action === 'add') await defaultBlockScript(xs, be);
    return;
  } else {
    problem = await runScript(deps, d, be, script, action);
  }
  if (problem === undefined) return;
  const message = `hotplug script ${script} ${action} failed for ${be}: ${problem}`;
  if (action === 'remove') {
    deps.log(`domain ${d.domid}: ${message}`);
    return;
  }
  throw new ToolstackError('EIO', `script: ${message}`);
}

/** Run a real script and read its verdict: what went wrong, or undefined. */
async function runScript(deps: DiskDeps, d: DeviceId, be: string, script: string, action: 'add' | 'remove'): Promise<string | undefined> {
  const { xs, clock } = deps;
  const run = await runHotplugScript(clock, script, action, { ...deps.hotplugBaseEnv, ...hotplugEnv(script, d) });
  if (run.output.trim() !== '') deps.log(`domain ${d.domid}: hotplug ${script} ${action}: ${run.output.trim().slice(0, 2000)}`);
  let problem: string | undefined;
  if (run.status === null) problem = run.failure;
  const status = await readOrNull(xs, `${be}/hotplug-status`);
  const error = await readOrNull(xs, `${be}/hotplug-error`);
  if (status === 'error' || status === 'busy' || (run.status !== null && run.status !== 0)) problem = error ?? `exit status ${run.status ?? '?'}${status !== null ? `, hotplug-status ${status}` : ''}`;
  else if (problem === undefined && action === 'add' && status !== 'connected') problem = `it exited without writing hotplug-status "connected" to ${be}`;
  return problem;
}

/**
 * What tools/hotplug/Linux/block writes on `add` once its checks pass (checkDisk made
 * them): for a block device its number (`physical-device`, major:minor in hex, as
 * `stat -L -c %t:%T` prints it) and path, then hotplug-status "connected", which is
 * what blkback waits for. A file needs no loop device here, so it gets only the status.
 */
async function defaultBlockScript(xs: XsClient, be: string): Promise<void> {
  const params = (await readOrNull(xs, `${be}/params`)) ?? '';
  await xs.transaction(async (tx) => {
    if (params !== '') {
      const st = statSync(params, { throwIfNoEntry: false });
      if (st?.isBlockDevice() === true) {
        const major = Math.floor(st.rdev / 256) & 0xfff;
        const minor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
        await xs.write(`${be}/physical-device`, `${major.toString(16)}:${minor.toString(16)}`, tx);
        await xs.write(`${be}/physical-device-path`, params, tx);
      }
    }
    await xs.write(`${be}/hotplug-status`, 'connected', tx);
  });
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
 * xl block-detach: libxl__initiate_device_generic_remove(). Without `force`
 * (libxl_device_disk_safe_remove) a backend that does not reach Closed in 10 s fails
 * the detach and the device stays; with it (libxl_device_disk_destroy) the frontend
 * folder goes first and everything is removed whatever the backend does.
 */
export async function detachDisk(deps: DiskDeps, d: DeviceId, force: boolean): Promise<void> {
  const { xs, clock } = deps;
  const be = backendPath(d);
  let backendGone = false;
  await xs.transaction(async (tx) => {
    if (force) await xs.rm(frontendPath(d), tx).catch(() => {});
    const state = await readOrNull(xs, `${be}/state`, tx);
    // No backend state: the backend (domain) is gone already; only the rest is cleaned.
    if (state === null) {
      backendGone = true;
      return;
    }
    await xs.write(`${be}/online`, '0', tx);
    if (Number.parseInt(state, 10) !== XenbusState.Closed) await xs.write(`${be}/state`, String(XenbusState.Closing), tx);
  });
  let failure: unknown = null;
  if (!backendGone) {
    try {
      await waitForState(xs, clock, `${be}/state`, (s) => s === XenbusState.Closed, DESTROY_TIMEOUT_NS, `unable to remove device with path ${be}`);
      await hotplug(deps, d, 'remove');
    } catch (err) {
      failure = err;
    }
  }
  if (failure === null || force) await removeDeviceNodes(xs, d);
  if (failure !== null) throw failure;
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
