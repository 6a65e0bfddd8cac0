import { Args, Flags } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';
import type { XlUptimeRow } from '../src/ui/xl/index.js';

export default class Uptime extends XlCommand {
  static override summary = 'Print how long domains have been up, like xl uptime';
  static override description = 'Domain 0 first (the host daemon\'s uptime), then the other domains, or the ones named. -s prints one "HH:MM:SS up ..." line per domain, like uptime(1).';
  static override examples = ['<%= config.bin %> uptime', '<%= config.bin %> uptime -s web db', '<%= config.bin %> uptime --json'];
  static override strict = false;
  static override enableJsonFlag = true;

  static override args = { domain: Args.string({ required: false, description: 'domain name(s) or id(s); default: all' }) };
  static override flags = { short: Flags.boolean({ char: 's', description: 'short form, like uptime(1)' }) };

  async run(): Promise<XlUptimeRow[]> {
    return this.runVerb('uptime', await this.parse(Uptime));
  }
}
