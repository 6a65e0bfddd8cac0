import { Args } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';

export default class Domname extends XlCommand {
  static override summary = "Print a domain's name, like xl domname";
  static override description = 'Prints the name of domain ID, or says that there is none (exit status 1). As in xl, the id is read like C strtol: leading digits count, anything after them is ignored.';
  static override examples = ['<%= config.bin %> domname 0', '<%= config.bin %> domname 3 --json'];
  static override enableJsonFlag = true;

  static override args = { id: Args.string({ required: true, description: 'domain id' }) };

  async run(): Promise<{ name: string }> {
    return this.runVerb('domname', await this.parse(Domname));
  }
}
