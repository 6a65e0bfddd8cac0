import { Args } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';

export default class Unpause extends XlCommand {
  static override summary = 'Resume a paused domain, like xl unpause';
  static override description = `Resumes a domain paused by \`xenemu pause\`, or created with \`xenemu create -p\` (whose kernel then boots).`;
  static override examples = ['<%= config.bin %> unpause web', '<%= config.bin %> unpause 2'];

  static override args = { domain: Args.string({ required: true, description: 'domain name or id' }) };

  async run(): Promise<{ domid: number }> {
    return this.runVerb('unpause', await this.parse(Unpause));
  }
}
