import type { XsClient } from '../../protocol/xs-client.js';
import type { KernelLog } from '../kernel-log.js';
import { XenbusDevice } from './device.js';
import type { XenbusDriver } from './driver.js';
import { XenbusParent } from './parent.js';

/**
 * The children of xenstore that are not split devices: FreeBSD attaches its control
 * (xctrl) and balloon drivers to xenstore0 through DEVICE_IDENTIFY, not as device
 * nodes a bus found. Each such driver names the one node below the kernel's home it
 * looks after; it has no other end. They use the same driver interface as the devices
 * on the front and back busses, and are attached in the order they are added.
 */
export class XenstoreChildren extends XenbusParent {
  constructor(xs: XsClient, log: KernelLog) {
    super('xenstore', xs, log);
  }

  /** Register a driver, let it identify its child, and probe and attach that child. */
  async add(driver: XenbusDriver): Promise<void> {
    this.drivers.push(driver);
    const node = driver.identify?.() ?? null;
    if (node === null) return;
    await this.probeAndAttach(new XenbusDevice(this.xs, driver.name, node, null, this.log));
  }
}
