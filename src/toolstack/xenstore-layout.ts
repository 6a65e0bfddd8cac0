import type { XsClient } from '../protocol/xs-client.js';

/** What the layout needs to know about a domain being built. */
export interface LayoutInfo {
  domid: number;
  name: string;
  uuid: string;
  type: 'pv' | 'pvh' | 'hvm';
  maxvcpus: number;
  vcpus: number;
  /** memory/static-max and memory/target, in KiB. */
  staticMaxKiB: number;
  targetKiB: number;
  storeGfn: number;
  storePort: number;
  consoleGfn: number;
  consolePort: number;
  /** The domain whose console backend (xenconsoled) serves it. */
  consoleDomid: number;
  kernel?: string;
  ramdisk?: string;
  cmdline?: string;
  /** start_time as libxl writes it: seconds, '.', centiseconds. */
  startTime: string;
}

type Perms = readonly string[];

/**
 * The XenStore nodes libxl writes for a new domain (docs/misc/xenstore-paths, and
 * libxl__domain_make / libxl__build_post in 4.17), with libxl's owners and
 * permissions: the home is dom0's and readable by the guest; the guest-writable
 * subtrees (control/shutdown and friends, data, drivers, feature, attr, error) are the
 * guest's own. Written in one transaction, which the caller retries on EAGAIN.
 */
export async function writeDomainLayout(xs: XsClient, tx: number, d: LayoutInfo): Promise<void> {
  const home = `/local/domain/${d.domid}`;
  const vm = `/vm/${d.uuid}`;
  const roGuest: Perms = ['n0', `r${d.domid}`];
  const guestOwned: Perms = [`n${d.domid}`];
  const w = async (path: string, value: string, perms?: Perms): Promise<void> => {
    await xs.write(path, value, tx);
    if (perms) await xs.setPerms(path, perms, tx);
  };

  // libxl__domain_make: start from nothing, then the skeleton.
  for (const p of [home, vm, `/libxl/${d.domid}`]) await xs.rm(p, tx).catch(() => {});
  await xs.mkdir(home, tx);
  await xs.setPerms(home, roGuest, tx);
  await xs.mkdir(vm, tx);
  await xs.setPerms(vm, roGuest, tx);
  await w(`/libxl/${d.domid}`, '', ['n0']);
  await w(`/libxl/${d.domid}/type`, d.type);

  await w(`${home}/vm`, vm);
  await w(`${home}/name`, d.name);
  await w(`${home}/cpu`, '', roGuest);
  await w(`${home}/memory`, '', roGuest);
  await w(`${home}/control`, '', roGuest);
  for (const node of ['shutdown', 'feature-poweroff', 'feature-reboot', 'feature-suspend', 'sysrq']) {
    await w(`${home}/control/${node}`, '', guestOwned);
  }
  await w(`${home}/control/platform-feature-multiprocessor-suspend`, '1');
  await w(`${home}/control/platform-feature-xs_reset_watches`, '1');
  for (const node of ['data', 'drivers', 'feature', 'attr', 'error']) await w(`${home}/${node}`, '', guestOwned);
  await w(`${home}/device`, '', roGuest);
  await w(`${home}/device/suspend/event-channel`, '', guestOwned);
  await w(`${home}/console`, '', roGuest);

  await w(`${vm}/uuid`, d.uuid);
  await w(`${vm}/name`, d.name);

  // libxl__build_post: what the build produced.
  await w(`${home}/domid`, String(d.domid));
  await w(`${home}/memory/static-max`, String(d.staticMaxKiB));
  await w(`${home}/memory/target`, String(d.targetKiB));
  await w(`${home}/memory/videoram`, '0');
  await w(`${home}/store/port`, String(d.storePort));
  await w(`${home}/store/ring-ref`, String(d.storeGfn));
  for (let i = 0; i < d.maxvcpus; i++) await w(`${home}/cpu/${i}/availability`, i < d.vcpus ? 'online' : 'offline');
  if (d.type !== 'pvh') {
    await w(`${vm}/image/ostype`, d.type === 'hvm' ? 'hvm' : 'linux');
    if (d.type === 'pv') {
      if (d.kernel !== undefined) await w(`${vm}/image/kernel`, d.kernel);
      if (d.ramdisk !== undefined) await w(`${vm}/image/ramdisk`, d.ramdisk);
      if (d.cmdline !== undefined) await w(`${vm}/image/cmdline`, d.cmdline);
    }
  }
  await w(`${vm}/start_time`, d.startTime);
}

/**
 * The primary console (libxl__device_console_add): the frontend is ~/console itself
 * (no xenbus handshake), the backend dir is the console domain's, and /libxl keeps a
 * copy (which is how teardown finds the backend dir again).
 */
export async function writeConsoleLayout(xs: XsClient, tx: number, d: LayoutInfo): Promise<void> {
  const home = `/local/domain/${d.domid}`;
  const backend = `/local/domain/${d.consoleDomid}/backend/console/${d.domid}/0`;
  const frontend = `${home}/console`;
  const backendKeys: Array<[string, string]> = [
    ['frontend', frontend],
    ['frontend-id', String(d.domid)],
    ['online', '1'],
    ['state', '1'],
    ['protocol', 'vt100'],
  ];
  await xs.mkdir(backend, tx);
  // libxl__device_generic_add: the backend domain owns its dir, the frontend reads it.
  await xs.setPerms(backend, [`n${d.consoleDomid}`, `r${d.domid}`], tx);
  for (const [k, v] of backendKeys) await xs.write(`${backend}/${k}`, v, tx);
  const frontKeys: Array<[string, string]> = [
    ['backend', backend],
    ['backend-id', String(d.consoleDomid)],
    ['limit', '1048576'],
    ['type', 'xenconsoled'],
    ['output', 'pty'],
    ['tty', ''],
    ['port', String(d.consolePort)],
    ['ring-ref', String(d.consoleGfn)],
  ];
  for (const [k, v] of frontKeys) await xs.write(`${frontend}/${k}`, v, tx);
  const copy = `/libxl/${d.domid}/device/console/0`;
  await xs.write(`${copy}/frontend`, frontend, tx);
  await xs.write(`${copy}/backend`, backend, tx);
  for (const [k, v] of backendKeys) await xs.write(`${copy}/${k}`, v, tx);
}

/**
 * What libxl removes when a domain is destroyed: its homes and, for each device
 * /libxl/<domid>/device records (libxl__devices_destroy), the device's folder in its
 * backend domain's backend/ tree, whichever domain that is.
 */
export async function removeDomainLayout(xs: XsClient, tx: number, domid: number, uuid: string): Promise<void> {
  const gone = new Set<string>();
  const list = (path: string): Promise<string[]> => xs.directory(path, tx).catch(() => [] as string[]);
  for (const kind of await list(`/libxl/${domid}/device`)) {
    for (const devid of await list(`/libxl/${domid}/device/${kind}`)) {
      const backend = await xs.read(`/libxl/${domid}/device/${kind}/${devid}/backend`, tx).then(
        (v) => v.toString('latin1'),
        () => '',
      );
      // Only what the toolstack wrote there: /local/domain/<be>/backend/<kind>/<domid>/<devid>.
      const m = /^(\/local\/domain\/[0-9]+\/backend\/[^/]+\/([0-9]+))\/[^/]+$/.exec(backend);
      if (m !== null && Number(m[2]) === domid) gone.add(m[1]!);
    }
  }
  gone.add(`/local/domain/${domid}`).add(`/vm/${uuid}`).add(`/libxl/${domid}`);
  for (const p of gone) await xs.rm(p, tx).catch(() => {});
}
