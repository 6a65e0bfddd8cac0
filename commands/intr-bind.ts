import { Args } from '@oclif/core';
import { XenemuCommand } from '../src/cli/base-command.js';
import { evtchnCall } from '../src/client/evtchn.js';
import type { JsonOutput } from '../src/ui/json/schemas.js';
import { intrBindJson } from '../src/ui/json/views.js';

export default class IntrBind extends XenemuCommand {
  static override summary = "Move one of a guest's interrupt sources to another vCPU, like cpuset -x";
  static override description = `SOURCE is an interrupt number as \`xenemu interrupts DOM\` shows it (768 or irq768), a port (port:5), or a source name that is unique in the domain (xn0, xenstore0). The guest kernel masks the port, tells Xen (EVTCHNOP_bind_vcpu), moves it between its per-vCPU port maps, and unmasks it, which delivers on the new vCPU an event that was pending meanwhile. Its counts from now on go to CPU.

Refused: per-vCPU VIRQs and IPIs (cpuN:timer, cpuN:r: they belong to their vCPU, EINVAL), an offline or missing vCPU (EINVAL), and any move when the domain takes its events through the platform PCI device's INTx line (callback: pci-intx), which Xen only delivers on vCPU 0 (EOPNOTSUPP).`;
  static override examples = ['<%= config.bin %> intr-bind web xn0 2', '<%= config.bin %> intr-bind web irq770 1', '<%= config.bin %> intr-bind 3 port:9 0 --json'];
  static override enableJsonFlag = true;
  static override args = {
    dom: Args.string({ required: true, description: 'domain id or name' }),
    source: Args.string({ required: true, description: 'irq number, port:N, or source name' }),
    cpu: Args.integer({ required: true, min: 0, description: 'the vCPU to deliver it to' }),
  };

  async run(): Promise<JsonOutput<'intr-bind'>> {
    const { args } = await this.parse(IntrBind);
    const r = await evtchnCall(this.paths, 'intr.bind', { ref: args.dom, source: args.source, cpu: args.cpu });
    this.log(`irq${r.irq} (${r.source}, port ${r.port}): vCPU ${r.from} -> vCPU ${r.to}`);
    return intrBindJson(r);
  }
}
