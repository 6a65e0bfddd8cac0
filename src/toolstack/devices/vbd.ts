/**
 * The XenStore entries of a virtual block device, key for key and in libxl's order
 * (libxl_disk.c device_disk_add, 4.17): what goes into the backend folder (and its
 * /libxl copy) and into the frontend folder. Pure: the flow that writes them is
 * disks.ts, the writing itself generic.ts.
 */

import { XenbusState } from '../../abi/index.js';
import type { DiskSpec } from '../config/index.js';
import type { DeviceId, Entries } from './generic.js';
import { scriptPath } from './hotplug.js';

/** What the entries depend on besides the disk itself. */
export interface VbdContext {
  domid: number;
  backendDomid: number;
  /** The guest's type: only a PV guest gets `protocol` from the toolstack. */
  guestType: 'pv' | 'pvh' | 'hvm';
}

export interface VbdEntries {
  device: DeviceId;
  back: Entries;
  front: Entries;
}

/**
 * xc_domain_get_native_protocol() of a 64-bit x86 PV guest (XEN_IO_PROTO_ABI_X86_64):
 * old frontends (before Linux 2.6.26) relied on the toolstack to write it.
 */
const NATIVE_PROTOCOL = 'x86_64-abi';

/**
 * device_disk_add()'s flexarrays for a "phy" disk, xenemu's one backend type (blkback
 * in the backend domain opens the file or block device itself, so no loop device and
 * no default `block` script run; `script` still names it, as libxl writes it).
 */
export function vbdEntries(disk: DiskSpec, ctx: VbdContext): VbdEntries {
  const device: DeviceId = { domid: ctx.domid, backendDomid: ctx.backendDomid, kind: 'vbd', devid: disk.devid };
  const cdrom = disk.devtype === 'cdrom';
  const back: Array<[string, string]> = [
    ['params', disk.target ?? ''],
    ['script', scriptPath(disk.script ?? 'block')],
    ['frontend-id', String(ctx.domid)],
    ['online', '1'],
    // libxl's removable is the spec's (only a cdrom sets it).
    ['removable', cdrom ? '1' : '0'],
    ['bootable', '1'],
    ['state', String(XenbusState.Initialising)],
    ['dev', disk.vdev],
    ['type', 'phy'],
    ['mode', disk.access === 'rw' ? 'w' : 'r'],
    ['device-type', cdrom ? 'cdrom' : 'disk'],
  ];
  if (disk['direct-io-safe']) back.push(['direct-io-safe', '1']);
  // libxl's default for discard_enable is "when writable"; the spec's discard flag is on
  // by default and no-discard turns it off.
  back.push(['discard-enable', disk.discard && disk.access === 'rw' ? '1' : '0']);
  back.push(['specification', disk.specification]);

  const front: Array<[string, string]> = [
    ['backend-id', String(ctx.backendDomid)],
    ['state', String(XenbusState.Initialising)],
    ['virtual-device', String(disk.devid)],
    ['device-type', cdrom ? 'cdrom' : 'disk'],
    ['trusted', disk.trusted ? '1' : '0'],
  ];
  if (ctx.guestType === 'pv') front.push(['protocol', NATIVE_PROTOCOL]);
  return { device, back, front };
}

/**
 * One row of `xl block-list` (libxl_diskinfo from libxl_device_disk_getinfo): the
 * frontend's state, event channel and ring-ref (-1 where the node is missing, as a
 * multi-page ring has no plain ring-ref), plus what `block-list -l` adds.
 */
export interface VbdInfo {
  /** The vdev's device number (libxl__device_disk_dev_number of `dev`). */
  devid: number;
  backendId: number;
  /** xl's "handle" column: the frontend domid. */
  frontendId: number;
  state: number;
  evtch: number;
  rref: number;
  backendPath: string;
  frontendPath: string;
  /** xenemu's additions for -l / --json. */
  vdev: string;
  params: string;
  mode: string;
  deviceType: string;
  backendState: number;
  /** The block layer's counters, once the backend publishes them. */
  stats?: VbdStats;
}

/** Per-device counters of the backend (Linux blkback's statistics/, what xentop reads), and the ring it serves. */
export interface VbdStats {
  /** Read and write requests, and 512-byte sectors moved (xentop's VBD_RD/WR, RSECT/WSECT). */
  reads: number;
  writes: number;
  readSectors: number;
  writeSectors: number;
  /** oo_req: requests the backend could not take when they came (xentop's VBD_OO). */
  outOfRequests: number;
  flushes: number;
  discards: number;
  /** Requests answered with an error. */
  errors: number;
  inFlight: number;
  /** The disk as the backend serves it, and the negotiated ring. */
  sectors: number;
  sectorSize: number;
  ringPages: number;
}
