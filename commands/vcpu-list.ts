import { Args, Flags } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';
import type { JsonOutput } from '../src/ui/json/schemas.js';
import { vcpuListJson } from '../src/ui/json/views.js';

export default class VcpuList extends XlCommand {
  static override summary = 'List the vCPUs of domains, like xl vcpu-list';
  static override description = `One line per vCPU: the physical CPU it runs on, its state (r running, b blocked, p paused or offline), CPU time, and its hard / soft affinity. -l adds xenemu's vcpu_info column: where the vCPU's vcpu_info lives, a slot of shared_info (vCPUs 0-31) or the guest frame it registered with VCPUOP_register_vcpu_info ("gfn 0x...+0x..."), as vCPUs from 32 on must.`;
  static override examples = ['<%= config.bin %> vcpu-list', '<%= config.bin %> vcpu-list web db', '<%= config.bin %> vcpu-list -l big', '<%= config.bin %> vcpu-list --json'];
  static override strict = false;
  static override enableJsonFlag = true;

  static override args = { domain: Args.string({ required: false, description: 'domain name(s) or id(s); default: all' }) };
  static override flags = { long: Flags.boolean({ char: 'l', description: "add the vcpu_info column (xenemu's)" }) };

  async run(): Promise<JsonOutput<'vcpu-list'>> {
    return vcpuListJson(await this.runVerb('vcpu-list', await this.parse(VcpuList)));
  }
}
