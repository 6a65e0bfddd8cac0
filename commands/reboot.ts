import { Args, Flags } from '@oclif/core';
import { type XlShutdownResult } from '../src/compat/xl-commands.js';
import { XlCommand } from '../src/compat/xl-command.js';

export default class Reboot extends XlCommand {
  static override summary = 'Ask a domain to reboot, like xl reboot';
  static override description = `Writes "reboot" to the guest's control/shutdown node and waits until the guest acknowledges it (60 s at most, as libxl), printing "Rebooting domain N" on standard error. The guest then shuts down and the host applies the domain's on_reboot (default: restart: the domain comes back with the same name and UUID and a new id).

-w waits until the domain has shut down ("Domain N has been shut down, reason code 1"); -a asks every domain but domain 0.`;
  static override examples = ['<%= config.bin %> reboot web', '<%= config.bin %> reboot -w db', '<%= config.bin %> reboot -a -w'];

  static override args = { domain: Args.string({ required: false, description: 'domain name or id (or -a)' }) };
  static override flags = {
    all: Flags.boolean({ char: 'a', description: 'reboot every domain but domain 0' }),
    wait: Flags.boolean({ char: 'w', description: 'wait until the domain(s) have shut down' }),
    fallback: Flags.boolean({ char: 'F', hidden: true, description: 'accepted for compatibility: every emulated guest has PV control' }),
  };

  async run(): Promise<XlShutdownResult[]> {
    return this.runVerb('reboot', await this.parse(Reboot));
  }
}
