import { Args } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';
import type { XlCdInsertResult } from '../src/compat/xl-cdrom.js';

export default class CdEject extends XlCommand {
  static override summary = "Eject a cdrom from a guest's cd drive, like xl cd-eject";
  static override description = `Empties the HVM guest's cdrom drive VDEV: the guest then sees a drive with no medium (0 sectors), whose reads fail. The drive stays empty across a restart of the host daemon. Errors as cd-insert's (a PV guest, a VDEV that is no cdrom drive, a paused guest).`;
  static override examples = ['<%= config.bin %> cd-eject win hdc'];

  static override args = {
    domain: Args.string({ required: true, description: 'domain name or id' }),
    vdev: Args.string({ required: true, description: 'the cdrom drive (hdc, xvdd...)' }),
  };

  async run(): Promise<XlCdInsertResult> {
    return this.runVerb('cd-eject', await this.parse(CdEject));
  }
}
