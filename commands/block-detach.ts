import { Args, Flags } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';
import type { JsonOutput } from '../src/ui/json/schemas.js';

export default class BlockDetach extends XlCommand {
  static override summary = "Detach a domain's disk, like xl block-detach";
  static override description = `VDEV is the disk's name (xvdb) or device number (51728). The backend is asked to close (online=0, state Closing); once it is Closed (within 10 s) the hotplug script, if any, runs with "remove" and the device's nodes go. Without --force a backend that does not close fails the detach and the disk stays; with --force the guest's frontend goes first and everything is removed regardless.`;
  static override examples = ['<%= config.bin %> block-detach web xvdb', '<%= config.bin %> block-detach web 51728 --force'];
  static override enableJsonFlag = true;

  static override args = {
    domain: Args.string({ required: true, description: 'domain name or id' }),
    vdev: Args.string({ required: true, description: 'virtual disk name or device number' }),
  };
  static override flags = { force: Flags.boolean({ char: 'f', description: 'remove the disk even if the backend does not close' }) };

  async run(): Promise<JsonOutput<'block-detach'>> {
    return this.runVerb('block-detach', await this.parse(BlockDetach));
  }
}
