import { Args } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';

export default class MemSet extends XlCommand {
  static override summary = "Set a domain's memory target, like xl mem-set";
  static override description = `Writes the domain's memory/target; its balloon driver gives memory back, or takes it up to the target, and the Mem column of \`xenemu list\` follows. The target may not exceed the domain's maximum (maxmem, or \`xenemu mem-max\`).

SIZE is read as xl reads it: a bare number is MiB (despite what xl(1) says), or a number with a suffix b, k, m, g or t.`;
  static override examples = ['<%= config.bin %> mem-set db 1024   # MiB', '<%= config.bin %> mem-set db 3g'];

  static override args = {
    domain: Args.string({ required: true, description: 'domain name or id' }),
    size: Args.string({ required: true, description: 'size: MiB, or with a suffix b/k/m/g/t' }),
  };

  async run(): Promise<{ domid: number; kib: number }> {
    return this.runVerb('mem-set', await this.parse(MemSet));
  }
}
