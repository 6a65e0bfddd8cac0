import { Args, Flags } from '@oclif/core';
import { XenstoreToolCommand } from '../../src/compat/xenstore-command.js';

export default class XenstoreChmod extends XenstoreToolCommand {
  static override summary = 'Set the permissions of a XenStore key, like xenstore-chmod';
  static override description = `Each PERM is a letter and a domain id: r (read), w (write), b (both) or n (none). The first PERM names the owner, who always has full access, and its letter is what every domain not listed after it gets. -r sets the same list on every descendant, -u on every ancestor up to (not including) /. Runs in one transaction: the first failure leaves everything unchanged.`;
  static override examples = [
    '<%= config.bin %> xenstore chmod /local/domain/1 n0 r1',
    '<%= config.bin %> xenstore chmod -r /local/domain/1/data b1',
    '<%= config.bin %> xenstore chmod -u /local/domain/1/device/vif/0 n1 r0',
  ];
  static override strict = false;
  static override args = {
    key: Args.string({ required: true, description: 'key to change' }),
    perm: Args.string({ required: false, description: 'permission entries, owner first (e.g. n0 r5)' }),
  };
  static override flags = {
    upto: Flags.boolean({ char: 'u', description: 'also set every ancestor' }),
    recurse: Flags.boolean({ char: 'r', description: 'also set every descendant' }),
    ...XenstoreToolCommand.socketFlag,
  };

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(XenstoreChmod);
    await this.runMode('chmod', flags, argv as string[]);
  }
}
