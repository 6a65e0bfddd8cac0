import type { XenbusDevice } from '../kernel/xenbus/device.js';
import { xenbusStateName } from '../kernel/xenbus/device.js';
import type { XenbusDeviceRow, XenbusRpc } from '../protocol/xenbus-rpc.js';
import { bootedKernel } from './booted-kernel.js';
import { rpcMethods, type RpcMethod } from './control-server.js';
import type { Machine } from './machine.js';

/**
 * The daemon's side of `xenemu xenbus list`: a domain kernel's XenBus devices as its
 * busses know them (this end's state as the driver last set it, the other end's as
 * the bus last read it), and the device nodes no driver took, read from XenStore.
 */
export function xenbusMethods(machine: Machine): Record<string, RpcMethod> {
  const row = (bus: string, domid: number, dev: XenbusDevice): XenbusDeviceRow => {
    const split = dev.otherend !== null;
    return {
      bus,
      node: dev.node,
      xenstorePath: `/local/domain/${domid}/${dev.node}`,
      type: dev.type,
      state: split ? dev.state : null,
      stateName: split ? xenbusStateName(dev.state) : null,
      otherendPath: dev.otherend?.path ?? null,
      otherendId: dev.otherend?.domid ?? null,
      otherendState: split ? dev.otherendState : null,
      otherendStateName: split ? xenbusStateName(dev.otherendState) : null,
      driver: dev.driver?.name ?? null,
    };
  };

  return rpcMethods<XenbusRpc>({
    'xenbus.list': async (p) => {
      const d = machine.toolstack.find(p.ref);
      const k = bootedKernel(machine, d);
      const devices: XenbusDeviceRow[] = [];
      for (const bus of [k.xenbusFront, k.xenbusBack]) {
        const attached = [...bus.devices].sort((a, b) => a.node.localeCompare(b.node));
        for (const dev of [...attached, ...(await bus.unattached())]) devices.push(row(bus.name, d.domid, dev));
      }
      for (const dev of k.xenstoreChildren.devices) devices.push(row(k.xenstoreChildren.name, d.domid, dev));
      return { domid: d.domid, name: d.name, devices };
    },
  });
}
