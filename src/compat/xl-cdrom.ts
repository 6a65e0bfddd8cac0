/**
 * xl cd-insert and cd-eject (tools/xl/xl_cdrom.c, 4.17): xl's messages and exit
 * statuses, the daemon's toolstack changing the medium (src/toolstack/devices/cdrom.ts).
 * As for the other device verbs, where libxl would log its reason the failure says
 * "xenemu: <reason>"; cd_insert() prints no summary line after it, and exits 1.
 */

import { statSync } from 'node:fs';
import { DeviceClient } from '../client/devices.js';
import { isRpcError } from '../client/domains.js';
import { diskFromArgs } from './xl-block.js';
import { findDomain, XlFailure, type XlContext, type XlOutput } from './xl-commands.js';

export interface XlCdInsertOptions {
  domain: string;
  vdev: string;
  /** The medium's path; null ejects (cd-eject). */
  target: string | null;
  /** Where a relative target is resolved. */
  cwd: string;
}

export type XlCdInsertResult = { domid: number; devid: number; target: string | null };

/**
 * cd_insert(): the drive as xl parses "vdev=V,access=r,devtype=cdrom,target=T" (a
 * parse error is xl's), the target stat()ed on this side (libxl does not check it
 * for qdisk), then libxl_cdrom_insert(). xl's -N changes nothing here: cd-insert
 * and cd-eject ignore it and insert anyway, as xl 4.17 does.
 */
export async function xlCdInsert(ctx: XlContext, o: XlCdInsertOptions): Promise<XlOutput<XlCdInsertResult>> {
  const client = await ctx.client();
  const domid = await findDomain(client, o.domain);
  const disk = diskFromArgs([`vdev=${o.vdev}`, 'access=r', 'devtype=cdrom', `target=${o.target ?? ''}`], o.cwd);
  const target = disk.target === undefined || disk.target === '' ? null : disk.target;
  if (target !== null) {
    try {
      statSync(target);
    } catch {
      // xl names pdev_path as it parsed it: the path as given.
      throw new XlFailure(`Cannot stat file: ${o.target}\n`, 1);
    }
  }
  try {
    const r = await new DeviceClient(client.rpc).cdInsert(String(domid), o.vdev, target ?? '');
    return { stdout: '', data: { domid, devid: r.devid, target } };
  } catch (err) {
    if (isRpcError(err)) throw new XlFailure(`xenemu: ${err.message}\n`, 1);
    throw err;
  }
}
