import type { Hypercalls } from '../hypervisor/hypercalls.js';
import type { KernelLog } from './kernel-log.js';
import type { XenbusDevice } from './xenbus/device.js';
import type { XenbusDriver } from './xenbus/driver.js';

/**
 * vCPU hotplug (Linux drivers/xen/cpu_hotplug.c): the toolstack writes
 * ~/cpu/<N>/availability = "online" | "offline" (xl vcpu-set), the guest brings the
 * vCPU up or down with VCPUOP_up / VCPUOP_down. A child of xenstore looking after
 * the node `cpu`.
 */
export class CpuHotplug implements XenbusDriver {
  readonly name = 'cpu';

  constructor(
    private readonly hc: Hypercalls,
    private readonly log: KernelLog,
    private readonly isOnline: (vcpu: number) => boolean,
    /** Called once a vCPU came up (it needs its timer and IPIs). */
    private readonly onUp: (vcpu: number) => void = () => {},
  ) {}

  identify(): string {
    return 'cpu';
  }

  probe(dev: XenbusDevice): boolean {
    return dev.type === this.name;
  }

  async attach(dev: XenbusDevice): Promise<void> {
    await dev.xs.watch(dev.node, 'cpu', (e) => {
      const m = /(?:^|\/)cpu\/([0-9]+)\/availability$/.exec(e.path);
      if (m) void this.apply(dev, Number(m[1]));
    });
  }

  async detach(dev: XenbusDevice): Promise<void> {
    await dev.xs.unwatch(dev.node, 'cpu');
  }

  private async apply(dev: XenbusDevice, vcpu: number): Promise<void> {
    let state: string;
    try {
      state = await dev.read(`${vcpu}/availability`);
    } catch {
      return;
    }
    if (state === 'online' && !this.isOnline(vcpu)) {
      this.hc.vcpuUp(vcpu);
      this.onUp(vcpu);
      this.log.print(`xen: vCPU ${vcpu} is now online`);
    } else if (state === 'offline' && vcpu !== 0 && this.isOnline(vcpu)) {
      // The boot CPU stays up (Linux's cpu_down() refuses it): "offline" for vCPU 0 is
      // what libxl writes for a config with vcpus = 0.
      this.hc.vcpuDown(vcpu);
      this.log.print(`xen: vCPU ${vcpu} is now offline`);
    }
  }
}
