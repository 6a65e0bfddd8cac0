import type { BlkbackInfo } from '../kernel/blk/blkback.js';
import type { DeviceRpc } from '../protocol/device-rpc.js';
import type { VbdInfo, VbdStats } from '../toolstack/devices/vbd.js';
import { rpcMethods, type RpcMethod } from './control-server.js';
import type { Machine } from './machine.js';

/** The daemon's side of the device commands: the toolstack does the work. */
export function deviceMethods(machine: Machine): Record<string, RpcMethod> {
  const { toolstack } = machine;
  const domid = (ref: string): number => toolstack.find(ref).domid;
  return rpcMethods<DeviceRpc>({
    'block.attach': (p) => toolstack.blockAttach(domid(p.ref), p.disk),
    'block.detach': (p) => toolstack.blockDetach(domid(p.ref), p.vdev, p.force),
    // A domid as it is: libxl_cdrom_insert() itself says when no domain has it.
    'block.cdInsert': (p) => toolstack.cdromInsert(/^[0-9]+$/.test(p.ref) ? Number(p.ref) : domid(p.ref), p.vdev, p.target === '' ? null : p.target),
    'block.list': async (p) => (await toolstack.blockList(domid(p.ref))).map((r) => withStats(machine, r)),
    'network.attach': (p) => toolstack.networkAttach(domid(p.ref), p.vif),
    'network.detach': (p) => toolstack.networkDetach(domid(p.ref), p.dev),
    'network.list': async (p) => {
      const id = domid(p.ref);
      // The counters of a connected vif, from the netback serving it (the registry has it).
      return (await toolstack.networkList(id)).map((n) => {
        const vif = machine.vifs.get(id, n.devid);
        return vif === undefined ? n : { ...n, stats: vif.stats() };
      });
    },
  });
}

/** A disk's row with its backend's counters, read from the blkback serving it (in whichever domain). */
function withStats(machine: Machine, r: VbdInfo): VbdInfo {
  // A bus names its devices relative to its kernel's home (`backend/vbd/<domid>/<devid>`).
  const home = `/local/domain/${r.backendId}/`;
  const info = machine.kernel(r.backendId)?.blkback?.devices().find((b) => (b.node.startsWith('/') ? b.node : home + b.node) === r.backendPath);
  return info === undefined ? r : { ...r, stats: vbdStats(info) };
}

function vbdStats(b: BlkbackInfo): VbdStats {
  const s = b.stats;
  return {
    reads: s.rdReq,
    writes: s.wrReq,
    readSectors: s.rdSect,
    writeSectors: s.wrSect,
    outOfRequests: s.ooReq,
    flushes: s.fReq,
    discards: s.dsReq,
    errors: s.errors,
    inFlight: b.inFlight,
    sectors: b.sectors,
    sectorSize: b.sectorSize,
    ringPages: b.ringPages,
  };
}
