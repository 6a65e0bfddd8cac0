import { Args, Flags } from '@oclif/core';
import type { LsResult } from '../../src/client/xenstore-tools.js';
import { XenstoreToolCommand } from '../../src/compat/xenstore-command.js';

export default class XenstoreLs extends XenstoreToolCommand {
  static override summary = 'Print a XenStore subtree, like xenstore-ls';
  static override description = `Prints every node below PATH (default /) as \`name = "value"\`, indented one space per level, in the daemon's order. Lines are cut with \\..." at 80 columns, or at the terminal width − 2 when output goes to a terminal. -f prints full paths (and cuts only on a terminal), -p appends each node's permissions, e.g. (n0,r5): the owner's entry first, whose letter applies to every domain not listed.

With --json, each node carries its path, name, depth, value (UTF-8 or base64, see "encoding") and, with -p, its permissions.`;
  static override examples = [
    '<%= config.bin %> xenstore ls /local/domain/1',
    '<%= config.bin %> xenstore ls -f -p /local/domain/1/device',
    '<%= config.bin %> xenstore ls --json /vm',
  ];
  static override strict = false;
  static override enableJsonFlag = true;
  static override args = { path: Args.string({ required: false, description: 'subtree(s) to print (default /)' }) };
  static override flags = {
    flat: Flags.boolean({ char: 'f', description: 'print full paths, not an indented tree' }),
    perms: Flags.boolean({ char: 'p', aliases: ['prefix'], description: 'print permissions too' }),
    ...XenstoreToolCommand.socketFlag,
  };

  async run(): Promise<LsResult | undefined> {
    const { flags, argv } = await this.parse(XenstoreLs);
    return (await this.runMode('ls', { flat: flags.flat, prefix: flags.perms }, argv as string[])) as LsResult | undefined;
  }
}
