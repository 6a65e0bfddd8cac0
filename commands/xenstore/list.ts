import { Args, Flags } from '@oclif/core';
import type { ListResult } from '../../src/client/xenstore-tools.js';
import { XenstoreToolCommand } from '../../src/compat/xenstore-command.js';

export default class XenstoreList extends XenstoreToolCommand {
  static override summary = 'Print the children of XenStore keys, like xenstore-list';
  static override description = 'Prints one child name per line, in the daemon\'s order (oxenstored sorts, C xenstored keeps creation order). Several keys are listed in one transaction; the first that cannot be listed stops the run with exit status 1.';
  static override examples = [
    '<%= config.bin %> xenstore list /local/domain',
    '<%= config.bin %> xenstore list -p /local/domain/0/backend/vbd',
    '<%= config.bin %> xenstore list --json /vm',
  ];
  static override strict = false;
  static override enableJsonFlag = true;
  static override args = { key: Args.string({ required: true, description: 'key(s) to list' }) };
  static override flags = {
    prefix: Flags.boolean({ char: 'p', description: 'print KEY/CHILD, not just CHILD' }),
    ...XenstoreToolCommand.socketFlag,
  };

  async run(): Promise<ListResult | undefined> {
    const { flags, argv } = await this.parse(XenstoreList);
    return (await this.runMode('list', flags, argv as string[])) as ListResult | undefined;
  }
}
