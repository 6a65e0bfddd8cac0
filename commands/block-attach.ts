import { Args } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';
import type { JsonOutput } from '../src/ui/json/schemas.js';

export default class BlockAttach extends XlCommand {
  static override summary = 'Attach a disk to a domain, like xl block-attach';
  static override description = `DISKSPEC is xl-disk-configuration(5)'s, as a config's disk list takes it, in one argument or several. The toolstack writes the frontend and backend nodes libxl writes, waits (up to 10 s) for the backend to reach InitWait, runs the hotplug script if the spec names one (script=), and fails, leaving nothing behind, if the target is missing or unreadable, is read-only and asked for rw, or the vdev is in use. A relative target is resolved against the current directory. The disk stays attached across a restart of the host daemon.`;
  static override examples = [
    '<%= config.bin %> block-attach web format=raw,vdev=xvdb,access=rw,target=/srv/data.img',
    "<%= config.bin %> block-attach web 'vdev=xvdc, access=ro, target=images/iso.img'",
    '<%= config.bin %> block-attach web vdev=xvdd target=/srv/d.img script=/srv/my-hotplug',
  ];
  static override strict = false;
  static override enableJsonFlag = true;

  static override args = {
    domain: Args.string({ required: true, description: 'domain name or id' }),
    diskspec: Args.string({ required: true, description: 'DISKSPEC (one argument or several)' }),
  };

  async run(): Promise<JsonOutput<'block-attach'>> {
    return this.runVerb('block-attach', await this.parse(BlockAttach));
  }
}
