import { Args, Flags } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';
import type { JsonOutput } from '../src/ui/json/schemas.js';

export default class Restore extends XlCommand {
  static override summary = 'Restore a domain from a save file, like xl restore';
  static override description = `Reads FILE (written by xenemu save or migrate) whole and checks it, then builds a new domain from it: the same memory, vCPUs, XenStore home and kernel state, its disks and NICs reconnected to this host's backends; the guest resumes where it was suspended. A bad, truncated or foreign file is refused with the record and byte offset at fault, and nothing is created (exit status 1).

Prints "Loading new save file FILE (new xl fmt info ...)" and "Parsing config from <saved>" on standard error, as xl does. With CONFIG before FILE the domain is built from that config instead of the saved one.`;

  static override examples = [
    '<%= config.bin %> restore /var/tmp/web.save',
    '<%= config.bin %> restore -p web.save               # restored paused (xenemu unpause starts it)',
    '<%= config.bin %> restore configs/web.yaml web.save  # with another config',
  ];

  static override enableJsonFlag = true;

  static override args = {
    config: Args.string({ required: true, description: 'the save file; or, when FILE follows, a config file (YAML or xl.cfg)' }),
    file: Args.string({ required: false, description: 'the save file, when a config file comes first' }),
  };

  static override flags = {
    paused: Flags.boolean({ char: 'p', description: 'leave the restored domain paused' }),
    'no-wait': Flags.boolean({ char: 'e', description: 'accepted for xl: the daemon, not this command, keeps the domain' }),
    debug: Flags.boolean({ char: 'd', description: 'print the saved config (libxl JSON) on standard error' }),
    console: Flags.boolean({ char: 'c', description: "attach to the domain's console once it is restored (Ctrl-] detaches)" }),
  };

  async run(): Promise<JsonOutput<'restore'>> {
    return this.runVerb('restore', await this.parse(Restore));
  }
}
