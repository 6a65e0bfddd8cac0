import { Args, Flags } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';
import type { JsonOutput } from '../src/ui/json/schemas.js';

export default class Save extends XlCommand {
  static override summary = 'Save a domain to a file to restore later, like xl save';
  static override description = `Suspends the domain (the guest quiesces its devices and acknowledges, as for xl save), writes FILE in xl's format (the "Xen saved domain, xl format" header with the domain's config as libxl JSON, then the libxl and libxc migration streams v2: the pages that exist, vCPU and shared-info state, and the emulated kernel's state with the domain's XenStore home as device-model state), then destroys the domain unless -c or -p keeps it. Xen's verify-stream-v2 -f xl accepts the file. Only pages the guest has touched are written: a 512 MiB guest that used 10 MiB makes a file of about 10 MiB.

Prints "Saving to FILE new xl format (info 0x3/0x0/N)" on standard error, as xl does. If the save fails the domain is resumed and runs on ("Failed to save domain, resuming domain"), exit status 1. CONFIG stores another config in the file (the one restore then builds from).`;

  static override examples = [
    '<%= config.bin %> save web /var/tmp/web.save',
    '<%= config.bin %> save -c web web.chk   # a checkpoint: web keeps running',
    '<%= config.bin %> save -p web web.save  # web stays, paused',
  ];

  static override enableJsonFlag = true;

  static override args = {
    domain: Args.string({ required: true, description: 'domain name or id' }),
    file: Args.string({ required: true, description: 'the save file to write (created or truncated, mode 0644)' }),
    config: Args.string({ required: false, description: 'a config file (YAML or xl.cfg) to store instead of the domain\'s' }),
  };

  static override flags = {
    checkpoint: Flags.boolean({ char: 'c', description: 'leave the domain running after the save' }),
    pause: Flags.boolean({ char: 'p', description: 'leave the domain paused after the save' }),
    'preserve-domid': Flags.boolean({ char: 'D', description: 'store the domain id in the saved config' }),
  };

  async run(): Promise<JsonOutput<'save'>> {
    return this.runVerb('save', await this.parse(Save));
  }
}
