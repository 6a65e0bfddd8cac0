import { Args, Flags } from '@oclif/core';
import { type XlShutdownResult } from '../src/compat/xl-commands.js';
import { XlCommand } from '../src/compat/xl-command.js';

export default class Shutdown extends XlCommand {
  static override summary = 'Ask a domain to shut down, like xl shutdown';
  static override description = `Writes "poweroff" to the guest's control/shutdown node and waits until the guest acknowledges it (60 s at most, as libxl), printing "Shutting down domain N" on standard error. The guest then shuts down and the host applies the domain's on_poweroff (default: destroy, so the domain disappears).

-w waits until the domain has shut down ("Domain N has been shut down, reason code 0"); -a asks every domain but domain 0.`;
  static override examples = ['<%= config.bin %> shutdown web', '<%= config.bin %> shutdown -w db', '<%= config.bin %> shutdown -a -w'];

  static override args = { domain: Args.string({ required: false, description: 'domain name or id (or -a)' }) };
  static override flags = {
    all: Flags.boolean({ char: 'a', description: 'power off every domain but domain 0' }),
    wait: Flags.boolean({ char: 'w', description: 'wait until the domain(s) have shut down' }),
    fallback: Flags.boolean({ char: 'F', hidden: true, description: 'accepted for compatibility: every emulated guest has PV control' }),
  };

  async run(): Promise<XlShutdownResult[]> {
    return this.runVerb('shutdown', await this.parse(Shutdown));
  }
}
