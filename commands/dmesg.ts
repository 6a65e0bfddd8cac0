import { Args, Flags } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';

export default class Dmesg extends XlCommand {
  static override summary = "Print the hypervisor's log, or a guest kernel's, like xl dmesg";
  static override description = `Without DOMAIN, the emulated hypervisor's console log, "(XEN) ..." lines, as \`xl dmesg\` prints Xen's: its boot, then an event log (domains created, shut down and why, crashed, destroyed) and what guests write to Xen's console. It is a ring of 128 KiB: the oldest lines go first. With DOMAIN, that guest kernel's log (xenemu's extension): its boot, its XenBus and driver messages, sysrq, shutdown. -c clears the log once printed, as \`xl dmesg -c\` and \`dmesg -c\` do.`;
  static override examples = ['<%= config.bin %> dmesg', '<%= config.bin %> dmesg -c', '<%= config.bin %> dmesg web', '<%= config.bin %> dmesg db --json'];
  static override enableJsonFlag = true;

  static override args = { domain: Args.string({ required: false, description: 'a guest: print its kernel log' }) };
  static override flags = { clear: Flags.boolean({ char: 'c', description: 'clear the log after printing it' }) };

  async run(): Promise<{ lines: string[] }> {
    return this.runVerb('dmesg', await this.parse(Dmesg));
  }
}
