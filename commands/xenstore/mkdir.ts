import { Args } from '@oclif/core';
import { XenstoreToolCommand } from '../../src/compat/xenstore-command.js';

export default class XenstoreMkdir extends XenstoreToolCommand {
  static override summary = 'Create XenStore nodes with empty values (XS_MKDIR)';
  static override description = 'Creates each key and any missing parents, with empty values and the parent\'s permissions; an existing key is left as it is. There is no C tool for this (libxenstore\'s xs_mkdir); several keys are created in one transaction.';
  static override examples = ['<%= config.bin %> xenstore mkdir /local/domain/1/data', '<%= config.bin %> xenstore mkdir /tool/a /tool/b'];
  static override strict = false;
  static override args = { key: Args.string({ required: true, description: 'key(s) to create' }) };

  async run(): Promise<void> {
    const { argv } = await this.parse(XenstoreMkdir);
    await this.runMode('mkdir', {}, argv as string[]);
  }
}
