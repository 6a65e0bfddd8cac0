/**
 * Hotplug scripts as libxl runs them (libxl_device.c device_hotplug, libxl_linux.c
 * libxl__hotplug_disk and get_hotplug_env): `<script> add|remove`, stdin from
 * /dev/null, with the environment of the toolstack plus `script`, XENBUS_TYPE,
 * XENBUS_PATH (the backend folder relative to the backend domain's home, which is
 * what the script's xenstore-write calls resolve against) and XENBUS_BASE_PATH, killed
 * after LIBXL_HOTPLUG_TIMEOUT. The script reports through XenStore: `hotplug-status`
 * ("connected", or "error"/"busy" with `hotplug-error`), which the caller reads.
 */

import { spawn } from 'node:child_process';
import { isAbsolute, join } from 'node:path';
import type { Clock } from '../../hypervisor/clock.js';
import type { DeviceId } from './generic.js';

/** LIBXL_HOTPLUG_TIMEOUT: how long a hotplug script may run. */
export const HOTPLUG_TIMEOUT_NS = 40e9;

/** libxl__xen_script_dir_path(): where a script named without a directory lives. */
export const XEN_SCRIPT_DIR = '/etc/xen/scripts';

/** The script libxl names when a spec names none. */
export const DEFAULT_BLOCK_SCRIPT = `${XEN_SCRIPT_DIR}/block`;
/** The script libxl names for a vif whose spec names none. */
export const DEFAULT_VIF_SCRIPT = `${XEN_SCRIPT_DIR}/vif-bridge`;

/** libxl__abs_path(script, the script dir): a bare name is one of Xen's scripts. */
export const scriptPath = (script: string): string => (isAbsolute(script) ? script : join(XEN_SCRIPT_DIR, script));

/**
 * get_hotplug_env() for a block device: the variables added to the toolstack's own.
 * XENBUS_PATH is relative to the home of the domain the script runs in: dom0's for a
 * dom0 backend. A driver domain's scripts run in that domain (xl devd); xenemu runs
 * them in the host with dom0's XenStore connection, so for those it is the absolute
 * path, which the xenstore tools take as well.
 */
export function hotplugEnv(script: string, d: DeviceId): Record<string, string> {
  const relative = `backend/${d.kind}/${d.domid}/${d.devid}`;
  return {
    script,
    XENBUS_TYPE: d.kind,
    XENBUS_PATH: d.backendDomid === 0 ? relative : `/local/domain/${d.backendDomid}/${relative}`,
    XENBUS_BASE_PATH: 'backend',
  };
}

export interface HotplugRun {
  /** Exit status, or null when it was killed (timeout) or could not start. */
  status: number | null;
  /** Why it did not run to an exit, when it did not. */
  failure?: string;
  /** What it printed (stdout and stderr), for the daemon's log. */
  output: string;
}

/** Run `script action` with libxl's environment on top of `baseEnv`. */
export function runHotplugScript(clock: Clock, script: string, action: 'add' | 'remove', env: NodeJS.ProcessEnv): Promise<HotplugRun> {
  return new Promise((resolve) => {
    let output = '';
    let settled = false;
    const settle = (r: HotplugRun): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      resolve(r);
    };
    const child = spawn(script, [action], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer): void => {
      // Enough to say what went wrong; a chatty script does not fill the daemon's memory.
      if (output.length < 16384) output += b.toString('utf8');
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = clock.after(HOTPLUG_TIMEOUT_NS, () => {
      child.kill('SIGKILL');
      settle({ status: null, failure: `timed out after ${HOTPLUG_TIMEOUT_NS / 1e9} s`, output });
    });
    child.on('error', (err: NodeJS.ErrnoException) => settle({ status: null, failure: `cannot run it: ${err.message}`, output }));
    child.on('close', (code) => settle(code === null ? { status: null, failure: 'killed by a signal', output } : { status: code, output }));
  });
}
