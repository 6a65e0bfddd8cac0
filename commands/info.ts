import { Args, Flags } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';
import type { JsonOutput } from '../src/ui/json/schemas.js';
import { infoJson } from '../src/ui/json/views.js';

export default class Info extends XlCommand {
  static override summary = 'Print the emulated host\'s information, like xl info';
  static override description = `Prints xl info's "key : value" lines in xl's order: the host (uname), the emulated machine (CPUs, memory in MiB), Xen's version and capabilities. With NAME, only the values of the keys that start with NAME (\`xenemu info free_memory\`). --json gives the same data under README's JSON names (memory in KiB).`;
  static override examples = ['<%= config.bin %> info', '<%= config.bin %> info free_memory', '<%= config.bin %> info xen_', '<%= config.bin %> info --json'];
  static override enableJsonFlag = true;

  static override args = { name: Args.string({ required: false, description: 'print only the values of keys starting with this' }) };
  static override flags = { numa: Flags.boolean({ char: 'n', description: 'add the CPU, device and NUMA topology' }) };

  async run(): Promise<JsonOutput<'info'>> {
    return infoJson(await this.runVerb('info', await this.parse(Info)));
  }
}
