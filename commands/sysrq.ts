import { Args } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';

export default class Sysrq extends XlCommand {
  static override summary = 'Send a magic SysRq key to a domain, like xl sysrq';
  static override description = `Writes KEY to the guest's control/sysrq, where its kernel takes it as Linux's drivers/xen/manage.c does and runs the SysRq operation (sysrq fully enabled): "sysrq: ..." lines in its log (\`xenemu dmesg DOMAIN\`); c crashes it (its on_crash action runs), b reboots it at once (on_reboot), o powers it off (on_poweroff), s, u, m, t, 0-9 ... only log; an unknown key logs the help line. KEY is one character, else xl's "Invalid sysrq." and its usage, exit 1.`;
  static override examples = ['<%= config.bin %> sysrq web s', '<%= config.bin %> sysrq db c   # crash it: on_crash decides what follows'];

  static override args = {
    domain: Args.string({ required: true, description: 'domain name or id' }),
    key: Args.string({ required: true, description: 'the SysRq key: one letter or digit' }),
  };

  async run(): Promise<{ domid: number; key: string }> {
    return this.runVerb('sysrq', await this.parse(Sysrq));
  }
}
