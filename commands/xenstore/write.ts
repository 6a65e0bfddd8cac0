import { Args, Flags } from '@oclif/core';
import type { WriteResult } from '../../src/client/xenstore-tools.js';
import { XenstoreToolCommand } from '../../src/compat/xenstore-command.js';

export default class XenstoreWrite extends XenstoreToolCommand {
  static override summary = 'Write values to XenStore keys, like xenstore-write';
  static override description = `Takes KEY VALUE pairs; several pairs are written in one transaction (all or nothing). Missing parent nodes are created with empty values. VALUE may use the escapes xenstore-write understands: \\t \\n \\r \\\\, \\xHH and \\ooo (octal); any other backslash is dropped. -R writes VALUE exactly as given.`;
  static override examples = [
    '<%= config.bin %> xenstore write /local/domain/1/name guest1',
    '<%= config.bin %> xenstore write /vm/1/a 1 /vm/1/b 2',
    "<%= config.bin %> xenstore write /local/domain/1/data/bin '\\x01\\x02'",
    "<%= config.bin %> xenstore write -R /local/domain/1/data/text 'a\\nb'",
  ];
  static override strict = false;
  static override args = {
    key: Args.string({ required: true, description: 'key to write' }),
    value: Args.string({ required: true, description: 'its value (more KEY VALUE pairs may follow)' }),
  };
  static override flags = {
    raw: Flags.boolean({ char: 'R', description: 'take VALUE as is: no escape parsing' }),
    ...XenstoreToolCommand.socketFlag,
  };

  async run(): Promise<WriteResult | undefined> {
    const { flags, argv } = await this.parse(XenstoreWrite);
    return (await this.runMode('write', flags, argv as string[])) as WriteResult | undefined;
  }
}
