import { Args } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';

export default class Pause extends XlCommand {
  static override summary = 'Pause a domain, like xl pause';
  static override description = `Stops scheduling the domain's vCPUs; its state letter becomes p. \`xenemu unpause\` resumes it.`;
  static override examples = ['<%= config.bin %> pause web', '<%= config.bin %> pause 2'];

  static override args = { domain: Args.string({ required: true, description: 'domain name or id' }) };

  async run(): Promise<{ domid: number }> {
    return this.runVerb('pause', await this.parse(Pause));
  }
}
