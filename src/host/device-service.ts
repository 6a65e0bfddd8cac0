import type { DeviceRpc } from '../protocol/device-rpc.js';
import { rpcMethods, type RpcMethod } from './control-server.js';
import type { Machine } from './machine.js';

/** The daemon's side of the device commands: the toolstack does the work. */
export function deviceMethods(machine: Machine): Record<string, RpcMethod> {
  const { toolstack } = machine;
  const domid = (ref: string): number => toolstack.find(ref).domid;
  return rpcMethods<DeviceRpc>({
    'block.attach': (p) => toolstack.blockAttach(domid(p.ref), p.disk),
    'block.detach': (p) => toolstack.blockDetach(domid(p.ref), p.vdev, p.force),
    'block.list': (p) => toolstack.blockList(domid(p.ref)),
  });
}
