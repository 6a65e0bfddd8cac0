import { Flags } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';

export default class MigrateReceive extends XlCommand {
  static override summary = 'Receive a migrating domain on stdin, like xl migrate-receive (for xenemu migrate)';
  static override description = 'The receiving end `xenemu migrate` runs on the target host: the migration stream on stdin, the answers on stdout, messages on stderr. The domain arrives paused as NAME--incoming and starts under its own name when the sender says go.';
  static override examples = ['<%= config.bin %> migrate-receive'];

  static override flags = {
    paused: Flags.boolean({ char: 'p', description: 'leave the domain paused once it has arrived' }),
    debug: Flags.boolean({ char: 'd', description: 'accepted for xl compatibility' }),
  };

  async run(): Promise<void> {
    await this.runVerb('migrate-receive', await this.parse(MigrateReceive));
  }
}
