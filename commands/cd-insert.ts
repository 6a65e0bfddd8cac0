import { Args } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';
import type { XlCdInsertResult } from '../src/compat/xl-cdrom.js';

export default class CdInsert extends XlCommand {
  static override summary = "Insert a cdrom into a guest's cd drive, like xl cd-insert";
  static override description = `Puts the image FILE into the HVM guest's cdrom drive VDEV (as its disk list names it: "hdc" finds a drive given as hdc, not one given as xvdc), replacing what was in it. The guest sees a drive of the new size with the new bytes; the drive keeps its medium across a restart of the host daemon and a reboot of the guest. A relative FILE is resolved against the current directory.

As xl: a file that cannot be stat()ed is "Cannot stat file: FILE"; a PV or PVH guest is "cdrom-insert requires an HVM domain"; a VDEV that is no cdrom drive of the guest is "Virtual device not found"; each exits 1 and changes nothing. Unlike xl, whose QEMU changes the medium under the guest, xenemu's guest lets go of the drive and takes it back with the new medium: the guest must be running (a paused one is refused), and its frontend must close the drive within 10 s.`;
  static override examples = ['<%= config.bin %> cd-insert win hdc /srv/iso/install.iso', '<%= config.bin %> cd-insert 5 hdc ./drivers.iso'];

  static override args = {
    domain: Args.string({ required: true, description: 'domain name or id' }),
    vdev: Args.string({ required: true, description: 'the cdrom drive (hdc, xvdd...)' }),
    target: Args.string({ required: true, description: 'the image to insert' }),
  };

  async run(): Promise<XlCdInsertResult> {
    return this.runVerb('cd-insert', await this.parse(CdInsert));
  }
}
