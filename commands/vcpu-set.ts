import { Args, Flags } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';

export default class VcpuSet extends XlCommand {
  static override summary = 'Set how many vCPUs a domain has online, like xl vcpu-set';
  static override description = `Writes cpu/N/availability for every vCPU the domain may have (its maxvcpus): "online" for the first COUNT, "offline" for the others; the guest kernel brings them up or down, and the VCPUs column of \`xenemu list\` follows. As xl, asking for more vCPUs than the host has CPUs is refused unless -i.`;
  static override examples = ['<%= config.bin %> vcpu-set db 4', '<%= config.bin %> vcpu-set db 1', '<%= config.bin %> vcpu-set -i big 64'];

  static override args = {
    domain: Args.string({ required: true, description: 'domain name or id' }),
    count: Args.string({ required: true, description: 'number of vCPUs online' }),
  };

  static override flags = { 'ignore-host': Flags.boolean({ char: 'i', description: "don't limit the vCPUs to the host's CPU count" }) };

  async run(): Promise<{ domid: number; vcpus: number }> {
    return this.runVerb('vcpu-set', await this.parse(VcpuSet));
  }
}
