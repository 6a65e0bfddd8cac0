/**
 * libxl_device.c's generic device code, as far as a split (frontend/backend) device
 * needs it: where its three XenStore folders live, writing them in one transaction
 * (libxl__device_generic_add), waiting for the backend's state (libxl__ev_devstate_wait)
 * and removing them again (libxl__device_destroy with libxl__xs_path_cleanup).
 * Everything here is XenStore only: the drivers on both ends do the rest.
 */

import { XsRequestError, type XsClient } from '../../protocol/xs-client.js';
import type { Clock } from '../../hypervisor/clock.js';
import { ToolstackError } from '../errors.js';

/** One device as libxl__device names it. */
export interface DeviceId {
  /** The frontend (guest) domain. */
  domid: number;
  backendDomid: number;
  /** The frontend's kind ("vbd", "vif") and the backend's (the same for xenemu's devices). */
  kind: string;
  devid: number;
}

/** libxl__device_frontend_path: ~/device/<kind>/<devid> of the guest. */
export const frontendPath = (d: DeviceId): string => `/local/domain/${d.domid}/device/${d.kind}/${d.devid}`;
/** libxl__device_backend_path: under the backend domain's home, by frontend domid. */
export const backendPath = (d: DeviceId): string => `/local/domain/${d.backendDomid}/backend/${d.kind}/${d.domid}/${d.devid}`;
/** libxl__device_libxl_path: the toolstack's own copy, which the guest cannot see. */
export const libxlPath = (d: DeviceId): string => `/libxl/${d.domid}/device/${d.kind}/${d.devid}`;

export type Entries = ReadonlyArray<readonly [string, string]>;

/**
 * libxl__device_generic_add() inside the caller's transaction: the /libxl copy first
 * (frontend and backend paths, then every backend key), then the frontend folder owned
 * by the guest and readable by the backend domain, each frontend key written with those
 * permissions (libxl__xs_writev_perms), then the backend folder owned by the backend
 * domain and readable by the guest. Each folder is removed first, so nothing stale of
 * an earlier device with the same id survives.
 */
export async function writeDeviceNodes(xs: XsClient, tx: number, d: DeviceId, back: Entries, front: Entries, roFront: Entries = []): Promise<void> {
  const fe = frontendPath(d);
  const be = backendPath(d);
  const lx = libxlPath(d);
  const frontendPerms = [`n${d.domid}`, `r${d.backendDomid}`];
  const backendPerms = [`n${d.backendDomid}`, `r${d.domid}`];
  const rmIfThere = (p: string): Promise<void> => xs.rm(p, tx).catch(ignoreEnoent);

  await rmIfThere(lx);
  await xs.write(`${lx}/frontend`, fe, tx);
  await xs.write(`${lx}/backend`, be, tx);

  await rmIfThere(fe);
  await xs.mkdir(fe, tx);
  await xs.setPerms(fe, frontendPerms, tx);
  await xs.write(`${fe}/backend`, be, tx);
  for (const [k, v] of front) {
    await xs.write(`${fe}/${k}`, v, tx);
    await xs.setPerms(`${fe}/${k}`, frontendPerms, tx);
  }
  // libxl's ro_front: keys in the guest's folder that only the backend domain may change (a vif's mtu).
  for (const [k, v] of roFront) {
    await xs.write(`${fe}/${k}`, v, tx);
    await xs.setPerms(`${fe}/${k}`, [`n${d.backendDomid}`, `r${d.domid}`], tx);
  }

  await rmIfThere(be);
  await xs.mkdir(be, tx);
  await xs.setPerms(be, backendPerms, tx);
  await xs.write(`${be}/frontend`, fe, tx);
  for (const [k, v] of back) await xs.write(`${be}/${k}`, v, tx);

  // The "trustworthy copy" of the backend keys (its state stays "1": nothing updates it).
  for (const [k, v] of back) await xs.write(`${lx}/${k}`, v, tx);
}

function ignoreEnoent(err: unknown): void {
  if (!(err instanceof XsRequestError && err.errno === 'ENOENT')) throw err;
}

/**
 * libxl__xs_path_cleanup(): remove `path`, then each parent that has become an empty
 * node with no children (backend/vbd/<domid>, say), stopping at the first that holds
 * a value or other children.
 */
export async function pathCleanup(xs: XsClient, tx: number, path: string): Promise<void> {
  try {
    await xs.rm(path, tx);
  } catch {
    return;
  }
  for (let p = path.slice(0, path.lastIndexOf('/')); p.length > 0; p = p.slice(0, p.lastIndexOf('/'))) {
    const value = await xs.read(p, tx).catch(() => null);
    if (value === null || value.length !== 0) return;
    const children = await xs.directory(p, tx).catch(() => null);
    if (children === null || children.length !== 0) return;
    await xs.rm(p, tx).catch(() => {});
  }
}

/**
 * libxl__device_destroy() as the toolstack domain runs it: the frontend folder, the
 * /libxl copy and the backend folder, each with its emptied parents, in one transaction.
 */
export async function removeDeviceNodes(xs: XsClient, d: DeviceId): Promise<void> {
  await xs.transaction(async (tx) => {
    await pathCleanup(xs, tx, frontendPath(d));
    await pathCleanup(xs, tx, libxlPath(d));
    await pathCleanup(xs, tx, backendPath(d));
  });
}

/** The XenStore read of a node as a string, or null when it is missing. */
export async function readOrNull(xs: XsClient, path: string, tx = 0): Promise<string | null> {
  try {
    return (await xs.read(path, tx)).toString('latin1');
  } catch (err) {
    if (err instanceof XsRequestError && err.errno === 'ENOENT') return null;
    throw err;
  }
}

let watchSerial = 0;

/**
 * libxl__ev_devstate_wait(): watch a `state` node until `accept` says yes, for at
 * most `timeoutNs` of the clock. A node that disappears ends the wait with EINVAL
 * (libxl's ERROR_INVAL, "wanted state N but it was removed"); the time running out
 * with ETIMEDOUT. `what` names the wait in those errors.
 */
export function waitForState(xs: XsClient, clock: Clock, path: string, accept: (state: number) => boolean, timeoutNs: number, what: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const token = `devstate-${++watchSerial}`;
    let done = false;
    const finish = (f: () => void): void => {
      if (done) return;
      done = true;
      timer.cancel();
      void xs.unwatch(path, token).catch(() => {});
      f();
    };
    const timer = clock.after(timeoutNs, () =>
      finish(() => reject(new ToolstackError('ETIMEDOUT', `${what}: timed out after ${timeoutNs / 1e9} s waiting for ${path}`))),
    );
    const check = (): void => {
      void readOrNull(xs, path).then(
        (v) => {
          if (v === null) finish(() => reject(new ToolstackError('EINVAL', `${what}: ${path} was removed`)));
          else if (accept(Number.parseInt(v, 10))) finish(() => resolve(Number.parseInt(v, 10)));
        },
        (err: Error) => finish(() => reject(err)),
      );
    };
    xs.watch(path, token, check).catch((err: Error) => finish(() => reject(err)));
  });
}
