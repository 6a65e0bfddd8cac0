/**
 * The libxl device flow every split device shares (libxl_device.c): after the nodes are
 * written, wait for the backend's InitWait and run the hotplug script
 * (libxl__wait_device_connection, device_hotplug); to remove, ask the backend to close,
 * wait for Closed, run the script's `remove`, remove the nodes
 * (libxl__initiate_device_generic_remove). Xen's default `block` and `vif-bridge`
 * scripts are done in-process: the backends here open disks and join bridges themselves.
 */

import { statSync } from 'node:fs';
import { XenbusState } from '../../abi/index.js';
import type { Clock } from '../../hypervisor/clock.js';
import { unknownBridgeMessage } from '../../net/fabric.js';
import type { XsClient } from '../../protocol/xs-client.js';
import { ToolstackError } from '../errors.js';
import { backendPath, frontendPath, readOrNull, removeDeviceNodes, waitForState, type DeviceId } from './generic.js';
import { DEFAULT_BLOCK_SCRIPT, DEFAULT_VIF_SCRIPT, hotplugEnv, runHotplugScript } from './hotplug.js';

/** LIBXL_INIT_TIMEOUT and LIBXL_DESTROY_TIMEOUT: how long a backend has to answer. */
export const INIT_TIMEOUT_NS = 10e9;
export const DESTROY_TIMEOUT_NS = 10e9;

export interface DeviceDeps {
  xs: XsClient;
  clock: Clock;
  log: (line: string) => void;
  /** The environment hotplug scripts start from (the daemon's, plus XENSTORED_PATH). */
  hotplugBaseEnv: NodeJS.ProcessEnv;
  /** Whether dom0 has this bridge (`ip link show dev $bridge` in vif-bridge); absent: every bridge does. */
  bridgeExists?: (name: string) => boolean;
  /** Why a vif's capture file (its spec's capture=, or the default) cannot be written, or null; absent: not checked. */
  captureProblem?: (domid: number, devid: number, capture: string | undefined) => string | null;
  /** Faults made to happen on purpose: hotplug-fail. */
  faults?: { hotplugFails(domid: number, script: string, action: string): number | null };
}

/**
 * libxl__wait_device_connection(): wait for the backend's InitWait, then the hotplug
 * script. libxl waits for exactly InitWait, relying on the backend to stay there until
 * the script has run, as Linux blkback and xenemu's do; a backend that does not wait
 * may have gone on to Initialised or Connected when the watch reads the node, which is
 * as good.
 */
export async function connectDevice(deps: DeviceDeps, d: DeviceId): Promise<void> {
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
async function hotplug(deps: DeviceDeps, d: DeviceId, action: 'add' | 'remove'): Promise<void> {
  const { xs, clock } = deps;
  const be = backendPath(d);
  const script = await readOrNull(xs, `${be}/script`);
  if (script === null) throw new ToolstackError('EIO', `unable to read script from ${be}`);
  const failing = deps.faults?.hotplugFails(d.domid, script, action) ?? null;
  if (failing !== null) {
    // hotplug-fail: the script "ran" and exited 1, with nothing in hotplug-status.
    const problem = `exit status 1 (xenemu fault ${failing}: hotplug-fail)`;
    if (action === 'remove') return deps.log(`domain ${d.domid}: hotplug script ${script} ${action} failed for ${be}: ${problem}`);
    throw hotplugFailure(script, action, be, problem);
  }
  if (script === DEFAULT_BLOCK_SCRIPT) {
    if (action === 'add') await defaultBlockScript(xs, be);
    return;
  }
  if (script === DEFAULT_VIF_SCRIPT) {
    // vif-bridge "online": the vif joins its bridge, which is the daemon's own fabric here
    // (netback hands the vif to it on connect), so all the script has left to do is
    // vif-bridge's check that the bridge exists, failing as its `fatal` does.
    const problem = action === 'add' ? await vifBridgeScript(deps, be) : null;
    if (problem !== null) throw hotplugFailure(script, action, be, problem);
    return;
  }
  const run = await runHotplugScript(clock, script, action, { ...deps.hotplugBaseEnv, ...hotplugEnv(script, d) });
  if (run.output.trim() !== '') deps.log(`domain ${d.domid}: hotplug ${script} ${action}: ${run.output.trim().slice(0, 2000)}`);
  let problem: string | undefined;
  if (run.status === null) problem = run.failure;
  const status = await readOrNull(xs, `${be}/hotplug-status`);
  const error = await readOrNull(xs, `${be}/hotplug-error`);
  if (status === 'error' || status === 'busy' || (run.status !== null && run.status !== 0)) problem = error ?? `exit status ${run.status ?? '?'}${status !== null ? `, hotplug-status ${status}` : ''}`;
  else if (problem === undefined && action === 'add' && status !== 'connected') problem = `it exited without writing hotplug-status "connected" to ${be}`;
  if (problem === undefined) return;
  if (action === 'remove') {
    deps.log(`domain ${d.domid}: hotplug script ${script} ${action} failed for ${be}: ${problem}`);
    return;
  }
  throw hotplugFailure(script, action, be, problem);
}

/** A script's failure to add a device, as libxl logs its hotplug-error ("script: ..."). */
function hotplugFailure(script: string, action: string, be: string, problem: string): ToolstackError {
  return new ToolstackError('EIO', `script: hotplug script ${script} ${action} failed for ${be}: ${problem}`);
}

/**
 * tools/hotplug/Linux/vif-bridge `online`, in-process: a bridge dom0 does not have
 * fails with `fatal "Could not find bridge device $bridge"` (hotplug-error, then
 * hotplug-status error), and the error is returned for hotplug() to fail the device
 * with; else "connected" and null.
 */
async function vifBridgeScript(deps: DeviceDeps, be: string): Promise<string | null> {
  const bridge = (await readOrNull(deps.xs, `${be}/bridge`)) ?? '';
  if (deps.bridgeExists !== undefined && !deps.bridgeExists(bridge)) {
    const error = bridge === '' ? 'Could not find bridge, and none was specified' : unknownBridgeMessage(bridge);
    await deps.xs.transaction(async (tx) => {
      await deps.xs.write(`${be}/hotplug-error`, error, tx);
      await deps.xs.write(`${be}/hotplug-status`, 'error', tx);
    });
    return error;
  }
  await deps.xs.write(`${be}/hotplug-status`, 'connected');
  return null;
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

/**
 * libxl__initiate_device_generic_remove() (xl block-detach, network-detach). Without
 * `force` (libxl_device_disk_safe_remove) a backend that does not reach Closed in 10 s fails
 * the detach and the device stays; with it (libxl_device_disk_destroy) the frontend
 * folder goes first and everything is removed whatever the backend does.
 */
export async function detachDevice(deps: DeviceDeps, d: DeviceId, force: boolean): Promise<void> {
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
}

