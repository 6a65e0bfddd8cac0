import { Args, Flags } from '@oclif/core';
import { atoi } from '../../src/common/c-number.js';
import { XenstoreToolCommand } from '../../src/compat/xenstore-command.js';

export default class XenstoreWatch extends XenstoreToolCommand {
  static override summary = 'Print the paths of XenStore changes as they happen, like xenstore-watch';
  static override description = `Watches each KEY and prints the path of every change at or below it, one per line, flushed at once. A new watch fires once right away for its own path, even when the key does not exist yet; that event counts for -n. Without -n it runs until interrupted (SIGINT or SIGTERM).`;
  static override examples = [
    '<%= config.bin %> xenstore watch /local/domain/1/device',
    '<%= config.bin %> xenstore watch -n 2 /local/domain/1/control/shutdown',
    '<%= config.bin %> xenstore watch @introduceDomain @releaseDomain',
  ];
  static override strict = false;
  static override args = { key: Args.string({ required: true, description: 'key(s) or special paths (@introduceDomain, @releaseDomain) to watch' }) };
  static override flags = {
    number: Flags.string({ char: 'n', helpValue: 'NR', description: 'exit after NR events (the initial one included)' }),
  };

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(XenstoreWatch);
    // atoi, as the C tool: a number it cannot read is 0, and -n 0 exits at once.
    await this.runMode('watch', flags.number === undefined ? {} : { number: atoi(flags.number) }, argv as string[]);
  }
}
