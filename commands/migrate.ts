import { Args, Flags } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';

export default class Migrate extends XlCommand {
  static override summary = 'Move a running domain to another host, like xl migrate';
  static override description = `Runs SSHCOMMAND HOST xenemu migrate-receive (SSHCOMMAND is ssh unless -s says otherwise; with -s '' HOST is the whole command) and sends the domain over its stdin and stdout while it runs: every page it has, then what it wrote meanwhile, round after round; then it is suspended, the last pages and its state go, and once the target has it running it is destroyed here. Disks must be files both hosts reach; NICs join the bridge of the same name on the target. A migration that fails before the target starts the domain leaves it running here. Two hosts on one machine: -s '' DOM 'env XENEMU_HOME=/other xenemu migrate-receive'.`;
  static override examples = [
    '<%= config.bin %> migrate web otherhost',
    "<%= config.bin %> migrate -s '' web 'env XENEMU_HOME=/tmp/host2 xenemu migrate-receive'",
  ];

  static override args = {
    domain: Args.string({ required: true, description: 'domain name or id' }),
    host: Args.string({ required: true, description: 'the target host (given to SSHCOMMAND), or with -s \'\' the command to run' }),
  };
  static override flags = {
    ssh: Flags.string({ char: 's', description: "the command that reaches HOST, run by sh (default ssh; '' runs HOST itself)" }),
    config: Flags.string({ char: 'C', description: 'send this config instead of the one the domain was created from' }),
    debug: Flags.boolean({ description: 'print each round of the transfer' }),
    paused: Flags.boolean({ char: 'p', description: 'leave the domain paused on the target' }),
  };

  async run(): Promise<void> {
    await this.runVerb('migrate', await this.parse(Migrate));
  }
}
