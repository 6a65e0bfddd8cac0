import { Args } from '@oclif/core';
import type { ExistsResult } from '../../src/client/xenstore-tools.js';
import { XenstoreToolCommand } from '../../src/compat/xenstore-command.js';

export default class XenstoreExists extends XenstoreToolCommand {
  static override summary = 'Test whether XenStore keys exist, like xenstore-exists';
  static override description = 'Prints nothing: exits 0 when every key exists and 1 otherwise (checked in one transaction, stopping at the first missing key).';
  static override examples = [
    '<%= config.bin %> xenstore exists /local/domain/1 && echo running',
    '<%= config.bin %> xenstore exists --json /vm/1/name /vm/1/uuid',
  ];
  static override strict = false;
  static override enableJsonFlag = true;
  static override args = { key: Args.string({ required: true, description: 'key(s) to test' }) };
  static override flags = { ...XenstoreToolCommand.socketFlag };

  async run(): Promise<ExistsResult | undefined> {
    const { argv } = await this.parse(XenstoreExists);
    return (await this.runMode('exists', {}, argv as string[])) as ExistsResult | undefined;
  }
}
