import { Args, Flags } from '@oclif/core';
import type { ReadResult } from '../../src/client/xenstore-tools.js';
import { XenstoreToolCommand } from '../../src/compat/xenstore-command.js';

export default class XenstoreRead extends XenstoreToolCommand {
  static override summary = 'Print the values of XenStore keys, like xenstore-read';
  static override description = `Prints one value per line, escaped as xenstore-read escapes it: printable ASCII as is, \\t \\n \\r \\\\, other bytes as \\ooo or \\xHH. Several keys are read in one transaction; the first missing key stops the run with exit status 1, after the values before it are printed. A relative key is relative to /local/domain/0.

Connects to $XENSTORED_PATH if it is set, else to the xenemu host (started if needed). With --json, values come as UTF-8 text or, when they are not valid UTF-8, as base64 ("encoding" says which).`;
  static override examples = [
    '<%= config.bin %> xenstore read /local/domain/1/name',
    '<%= config.bin %> xenstore read -p /vm/1/name /vm/1/uuid',
    '<%= config.bin %> xenstore read -R /local/domain/1/data/blob | od -c',
    '<%= config.bin %> xenstore read --json /local/domain/1/name',
  ];
  static override strict = false;
  static override enableJsonFlag = true;
  static override args = { key: Args.string({ required: true, description: 'key(s) to read' }) };
  static override flags = {
    prefix: Flags.boolean({ char: 'p', description: 'print "KEY: VALUE"' }),
    raw: Flags.boolean({ char: 'R', description: 'print the raw bytes, unescaped, without a newline' }),
    ...XenstoreToolCommand.socketFlag,
  };

  async run(): Promise<ReadResult | undefined> {
    const { flags, argv } = await this.parse(XenstoreRead);
    return (await this.runMode('read', flags, argv as string[])) as ReadResult | undefined;
  }
}
