import { Args, Flags } from '@oclif/core';
import { XenstoreToolCommand } from '../../src/compat/xenstore-command.js';

export default class XenstoreRm extends XenstoreToolCommand {
  static override summary = 'Remove XenStore keys and their subtrees, like xenstore-rm';
  static override description = 'Removing a key that does not exist is fine when its parent exists, and an error otherwise. Several keys are removed in one transaction. -t also removes each parent left with an empty value and no children, up to the root.';
  static override examples = ['<%= config.bin %> xenstore rm /local/domain/1/data/tmp', '<%= config.bin %> xenstore rm -t /local/domain/1/data/a/b/c'];
  static override strict = false;
  static override args = { key: Args.string({ required: true, description: 'key(s) to remove' }) };
  static override flags = {
    tidy: Flags.boolean({ char: 't', description: 'also remove parents left empty' }),
    ...XenstoreToolCommand.socketFlag,
  };

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(XenstoreRm);
    await this.runMode('rm', flags, argv as string[]);
  }
}
