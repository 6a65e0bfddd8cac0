import type { DeviceRpc } from '../protocol/device-rpc.js';
import type { DiskSpecFields } from '../toolstack/config/disk-spec.js';
import type { VifSpecFields } from '../toolstack/config/vif-spec.js';
import type { VbdInfo } from '../toolstack/devices/vbd.js';
import type { NicInfo } from '../toolstack/devices/vif.js';
import { TypedClient } from './typed-client.js';

/** The device methods of the daemon, typed (src/protocol/device-rpc.ts), over a DomainClient's connection. */
export class DeviceClient extends TypedClient<DeviceRpc> {
  blockAttach(ref: string, disk: DiskSpecFields): Promise<{ devid: number }> {
    return this.call('block.attach', { ref, disk: disk as DeviceRpc['block.attach']['params']['disk'] });
  }

  blockDetach(ref: string, vdev: string, force: boolean): Promise<{ devid: number }> {
    return this.call('block.detach', { ref, vdev, force });
  }

  blockList(ref: string): Promise<VbdInfo[]> {
    return this.call('block.list', { ref });
  }

  /** xl cd-insert (an absolute target) and cd-eject (target ""). */
  cdInsert(ref: string, vdev: string, target: string): Promise<{ devid: number }> {
    return this.call('block.cdInsert', { ref, vdev, target });
  }

  networkAttach(ref: string, vif: VifSpecFields): Promise<{ devid: number; mac: string }> {
    return this.call('network.attach', { ref, vif: vif as DeviceRpc['network.attach']['params']['vif'] });
  }

  networkDetach(ref: string, dev: string): Promise<{ devid: number }> {
    return this.call('network.detach', { ref, dev });
  }

  networkList(ref: string): Promise<NicInfo[]> {
    return this.call('network.list', { ref });
  }
}
