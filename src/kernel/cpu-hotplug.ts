import type { XsClient } from '../protocol/xs-client.js';
import type { Hypercalls } from '../hypervisor/hypercalls.js';
import type { KernelLog } from './kernel-log.js';

/**
 * vCPU hotplug (Linux drivers/xen/cpu_hotplug.c): the toolstack writes
 * ~/cpu/<N>/availability = "online" | "offline" (xl vcpu-set), the guest brings the
 * vCPU up or down with VCPUOP_up / VCPUOP_down.
 */
export class CpuHotplug {
  constructor(
    private readonly xs: XsClient,
    private readonly hc: Hypercalls,
    private readonly log: KernelLog,
    private readonly isOnline: (vcpu: number) => boolean,
    /** Called once a vCPU came up (it needs its timer and IPIs). */
    private readonly onUp: (vcpu: number) => void = () => {},
  ) {}

  async start(): Promise<void> {
    await this.xs.watch('cpu', 'cpu', (e) => {
      const m = /(?:^|\/)cpu\/([0-9]+)\/availability$/.exec(e.path);
      if (m) void this.apply(Number(m[1]));
    });
  }

  private async apply(vcpu: number): Promise<void> {
    let state: string;
    try {
      state = (await this.xs.read(`cpu/${vcpu}/availability`)).toString('latin1');
    } catch {
      return;
    }
    if (state === 'online' && !this.isOnline(vcpu)) {
      this.hc.vcpuUp(vcpu);
      this.onUp(vcpu);
      this.log.print(`xen: vCPU ${vcpu} is now online`);
    } else if (state === 'offline' && this.isOnline(vcpu)) {
      this.hc.vcpuDown(vcpu);
      this.log.print(`xen: vCPU ${vcpu} is now offline`);
    }
  }
}
