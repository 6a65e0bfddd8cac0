/**
 * xl block-attach, block-list and block-detach (tools/xl/xl_block.c, 4.17): xl's
 * messages and exit statuses, the daemon's toolstack doing the work. As elsewhere,
 * where libxl would log its reason a failure says "xenemu: <reason>" and then xl's
 * own summary line.
 */

import { resolve } from 'node:path';
import { DeviceClient } from '../client/devices.js';
import { isRpcError, type DomainClient } from '../client/domains.js';
import { DiskSpecError, parseDiskSpec, type DiskSpecFields } from '../toolstack/config/disk-spec.js';
import type { VbdInfo } from '../toolstack/devices/vbd.js';
import type { LibxlDeviceDisk } from '../toolstack/libxl/idl.js';
import { domainQualifier } from '../toolstack/libxl/qualifier.js';
import { BLOCK_LIST_HEADER, BLOCK_LIST_LONG_HEADER, blockListLine, blockListLongLine } from '../ui/xl/index.js';
import { findDomain, XlFailure, type XlContext, type XlOutput } from './xl-commands.js';

/** libxl_domain_qualifier_to_domid(): an id as it is, a name looked up; null when no domain has it. */
export async function qualifierToDomid(client: DomainClient, q: string): Promise<number | null> {
  const parsed = domainQualifier(q);
  if ('domid' in parsed) return parsed.domid;
  try {
    return await client.domid(q);
  } catch (err) {
    if (isRpcError(err, 'ESRCH')) return null;
    throw err;
  }
}

/**
 * parse_disk_config_multistring(): the DISKSPEC given as one or several arguments.
 * libxlu scans each argument in turn into one disk, so `target=` swallows only the rest
 * of its own argument; joined with commas, that argument goes last to mean the same.
 * A relative target is the caller's (resolved against the working directory).
 */
export function diskFromArgs(specs: readonly string[], cwd: string): DiskSpecFields {
  const ordered = [...specs.filter((s) => !/^\s*target=/.test(s)), ...specs.filter((s) => /^\s*target=/.test(s))];
  const joined = ordered.join(',');
  let fields: DiskSpecFields;
  try {
    fields = parseDiskSpec(joined).fields;
  } catch (err) {
    if (err instanceof DiskSpecError) throw new XlFailure(`command line: config parsing error in disk specification: ${err.message} in \`${joined}'\n`, 1);
    throw err;
  }
  if (fields.target !== undefined && fields.target !== '' && fields.script === undefined) fields = { ...fields, target: resolve(cwd, fields.target) };
  return fields;
}

export interface XlBlockAttachOptions {
  domain: string;
  specs: readonly string[];
  cwd: string;
  /** xl -N: print the disk libxl would be given, attach nothing. */
  dryRun?: boolean;
}

/** What block-attach attached, and what block-attach -N would have. */
export type XlBlockAttached = { domid: number; devid: number };
export type XlBlockAttachDryRun = { domid: number; disk: LibxlDeviceDisk };

/** main_blockattach(). */
export function xlBlockAttach(ctx: XlContext, o: XlBlockAttachOptions & { dryRun?: false }): Promise<XlOutput<XlBlockAttached>>;
export function xlBlockAttach(ctx: XlContext, o: XlBlockAttachOptions): Promise<XlOutput<XlBlockAttached | XlBlockAttachDryRun>>;
export async function xlBlockAttach(ctx: XlContext, o: XlBlockAttachOptions): Promise<XlOutput<XlBlockAttached | XlBlockAttachDryRun>> {
  const client = await ctx.client();
  const domid = await qualifierToDomid(client, o.domain);
  if (domid === null) throw new XlFailure(`${o.domain} is an invalid domain identifier\n`, 1);
  const disk = diskFromArgs(o.specs, o.cwd);
  // What the config's disk rules refuse (a vdev that names no device...) is the spec's problem.
  const { DiskSpecObject } = await import('../toolstack/config/index.js');
  const checked = DiskSpecObject.safeParse(disk);
  if (!checked.success) {
    const why = checked.error.issues.map((i) => i.message).join('; ');
    throw new XlFailure(`command line: config parsing error in disk specification: ${why} in \`${o.specs.join(',')}'\n`, 1);
  }
  if (o.dryRun === true) {
    const { xlParsedDisk } = await import('../toolstack/libxl/from-config.js');
    const { libxlDeviceDiskGenJson, YajlGen } = await import('../toolstack/libxl/index.js');
    const libxlDisk = xlParsedDisk(checked.data, new Set(Object.keys(disk)));
    const g = new YajlGen();
    libxlDeviceDiskGenJson(g, libxlDisk);
    return { stdout: `disk: ${g.buffer}\n`, data: { domid, disk: libxlDisk } };
  }
  try {
    const r = await new DeviceClient(client.rpc).blockAttach(String(domid), disk);
    return { stdout: '', data: { domid, devid: r.devid } };
  } catch (err) {
    // The daemon's checks of the disk mapping (a vdev no device number stands for...) are
    // the spec's problems; everything else is libxl_device_disk_add() failing.
    if (isRpcError(err)) throw new XlFailure(`xenemu: ${err.message}\nlibxl_device_disk_add failed.\n`, 1);
    throw err;
  }
}

export interface XlBlockListOptions {
  domains: readonly string[];
  /** xenemu's -l: the long table with the backend's counters. */
  long: boolean;
}

/** main_blocklist(): the header, then each domain's disks; a domain not found is skipped (status 0). */
export async function xlBlockList(ctx: XlContext, o: XlBlockListOptions): Promise<XlOutput<Array<{ domid: number; disks: VbdInfo[] }>>> {
  const client = await ctx.client();
  const devices = new DeviceClient(client.rpc);
  let stdout = o.long ? BLOCK_LIST_LONG_HEADER : BLOCK_LIST_HEADER;
  const data: Array<{ domid: number; disks: VbdInfo[] }> = [];
  for (const d of o.domains) {
    const domid = await qualifierToDomid(client, d);
    if (domid === null) {
      ctx.note(`${d} is an invalid domain identifier\n`);
      continue;
    }
    let disks: VbdInfo[];
    try {
      disks = await devices.blockList(String(domid));
    } catch (err) {
      // libxl_device_disk_list() of a domain that is not there: no disks.
      if (isRpcError(err, 'ESRCH')) continue;
      throw err;
    }
    for (const r of disks) stdout += o.long ? blockListLongLine(r) : blockListLine(r);
    data.push({ domid, disks });
  }
  return { stdout, data };
}

/** main_blockdetach(). */
export async function xlBlockDetach(ctx: XlContext, o: { domain: string; vdev: string; force: boolean }): Promise<XlOutput<{ domid: number; devid: number }>> {
  const client = await ctx.client();
  const domid = await findDomain(client, o.domain);
  try {
    const r = await new DeviceClient(client.rpc).blockDetach(String(domid), o.vdev, o.force);
    return { stdout: '', data: { domid, devid: r.devid } };
  } catch (err) {
    // libxl_vdev_to_device_disk() fails: no such disk, or no such domain.
    if (isRpcError(err, 'ENODEV') || isRpcError(err, 'ESRCH')) throw new XlFailure(`Error: Device ${o.vdev} not connected.\n`, 1);
    if (isRpcError(err)) throw new XlFailure(`xenemu: ${err.message}\nlibxl_device_disk_${o.force ? 'destroy' : 'safe_remove'} failed.\n`, 1);
    throw err;
  }
}
