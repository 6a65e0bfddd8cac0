import { Args } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';

export default class MemMax extends XlCommand {
  static override summary = "Set a domain's maximum memory, like xl mem-max";
  static override description = `Sets the limit the hypervisor enforces and the domain's memory/static-max, not its current target: \`xenemu mem-set\` up to it afterwards.

SIZE is read as xl reads it: a bare number is MiB (despite what xl(1) says), or a number with a suffix b, k, m, g or t.`;
  static override examples = ['<%= config.bin %> mem-max db 8192', '<%= config.bin %> mem-max db 8g'];

  static override args = {
    domain: Args.string({ required: true, description: 'domain name or id' }),
    size: Args.string({ required: true, description: 'size: MiB, or with a suffix b/k/m/g/t' }),
  };

  async run(): Promise<{ domid: number; kib: number }> {
    return this.runVerb('mem-max', await this.parse(MemMax));
  }
}
