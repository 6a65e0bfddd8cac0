import { Args, Flags } from '@oclif/core';
import type { XlConsoleResult } from '../src/compat/xl-console.js';
import { XlCommand } from '../src/compat/xl-command.js';

export default class Console extends XlCommand {
  static override summary = "Attach to a domain's console, like xl console";
  static override description = `The terminal goes raw: what you type goes to the guest's console (its io/console.h ring), its output appears as it comes, and Ctrl-] detaches. The first attach after a create also shows what the guest printed before (the boot log, up to 64 KiB), as xenconsoled keeps what no client read. The guest answers a few commands at its prompt: help, uname, uptime, dmesg.

The session ends with status 0 on Ctrl-], when the domain goes away (destroyed, or rebooted into a new domain) and on SIGTERM; the terminal's modes are restored on every way out. Every guest's console output is also kept in $XENEMU_HOME/console/guest-NAME.log, rotated at a size limit (host.yaml: console_log_max_kib, console_log_backups).

-t serial falls back to the PV console, as xenconsole does for a guest without a serial port; -t vuart and -n other than 0 are refused (not emulated). Domain 0 has no console here ("Can't specify Domain-0", status 22, as xenconsole); an unknown name is xl's "is an invalid domain identifier", status 1; one console client at a time per domain.`;

  static override examples = ['<%= config.bin %> console web', '<%= config.bin %> create -c configs/web.yaml   # create, then attach'];

  static override args = { domain: Args.string({ required: true, description: 'domain name or id' }) };
  static override flags = {
    type: Flags.string({ char: 't', description: 'console type: pv, serial (the PV console here) or vuart (refused)' }),
    num: Flags.string({ char: 'n', description: 'console number (only 0, the primary console, is emulated)' }),
  };

  async run(): Promise<XlConsoleResult> {
    return this.runVerb('console', await this.parse(Console));
  }
}
