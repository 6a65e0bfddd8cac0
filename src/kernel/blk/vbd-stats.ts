import type { BlkbackInfo } from './blkback.js';

/**
 * xentop's VBD columns for one domain, as libxenstat sums them: over every backend
 * device serving the domain's disks (in dom0 or a driver domain), the backend's
 * statistics (Linux blkback's statistics/oo_req, rd_req, wr_req, rd_sect, wr_sect).
 */
export interface VbdTotals {
  /** Number of VBDs. */
  vbds: number;
  oo: number;
  rd: number;
  wr: number;
  rsect: number;
  wsect: number;
}

/** Sum the backends' devices that serve `frontendDomid` (pass every kernel's Blkback.devices()). */
export function vbdTotals(devices: Iterable<BlkbackInfo>, frontendDomid: number): VbdTotals {
  const t: VbdTotals = { vbds: 0, oo: 0, rd: 0, wr: 0, rsect: 0, wsect: 0 };
  for (const d of devices) {
    if (d.frontendDomid !== frontendDomid) continue;
    t.vbds++;
    t.oo += d.stats.ooReq;
    t.rd += d.stats.rdReq;
    t.wr += d.stats.wrReq;
    t.rsect += d.stats.rdSect;
    t.wsect += d.stats.wrSect;
  }
  return t;
}
