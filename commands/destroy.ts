import { Args, Flags } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';

export default class Destroy extends XlCommand {
  static override summary = 'Stop a domain at once, like xl destroy';
  static override description = `Tears the domain down immediately, as pulling the power cord would: its kernel stops, its memory is freed and its XenStore entries go. Use \`xenemu shutdown\` to let the guest power off cleanly. Domain 0 is refused.`;
  static override examples = ['<%= config.bin %> destroy web', '<%= config.bin %> destroy 3'];

  static override args = { domain: Args.string({ required: true, description: 'domain name or id' }) };
  static override flags = { force: Flags.boolean({ char: 'f', description: 'try even domain 0 (xenemu refuses it anyway)' }) };

  async run(): Promise<{ domid: number }> {
    return this.runVerb('destroy', await this.parse(Destroy));
  }
}
