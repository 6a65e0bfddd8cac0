import { Args } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';

export default class Domid extends XlCommand {
  static override summary = "Print a domain's id, like xl domid";
  static override description = 'Prints the id of the domain called NAME, or says that there is none (exit status 1).';
  static override examples = ['<%= config.bin %> domid web', '<%= config.bin %> domid Domain-0', '<%= config.bin %> domid web --json'];
  static override enableJsonFlag = true;

  static override args = { name: Args.string({ required: true, description: 'domain name' }) };

  async run(): Promise<{ domid: number }> {
    return this.runVerb('domid', await this.parse(Domid));
  }
}
