import { Args } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';

export default class Rename extends XlCommand {
  static override summary = 'Rename a domain, like xl rename';
  static override description = 'Changes the name the hypervisor, ~/name and /vm/<uuid>/name hold, together. The new name must not belong to another domain.';
  static override examples = ['<%= config.bin %> rename web web-old', '<%= config.bin %> rename 3 db-test'];

  static override args = {
    domain: Args.string({ required: true, description: 'domain name or id' }),
    newName: Args.string({ required: true, description: 'the new name' }),
  };

  async run(): Promise<{ domid: number; name: string }> {
    return this.runVerb('rename', await this.parse(Rename));
  }
}
