import { Args, Flags } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';
import type { JsonOutput } from '../src/ui/json/schemas.js';
import { blockListJson } from '../src/ui/json/views.js';

export default class BlockList extends XlCommand {
  static override summary = 'List the disks of domains, like xl block-list';
  static override description = `xl's table, byte for byte: device number, backend domain, frontend domain ("handle"), the frontend's XenBus state, its event channel and ring-ref (-1 while not connected, and ring-ref also with a multi-page ring) and the backend path. -l shows instead the disk's name, both ends' states, its mode and target, and the backend's counters (requests, sectors, requests it could not take at once, errors); --json gives all of it.`;
  static override examples = ['<%= config.bin %> block-list web', '<%= config.bin %> block-list -l web db', '<%= config.bin %> block-list --json web'];
  static override strict = false;
  static override enableJsonFlag = true;

  static override args = { domain: Args.string({ required: true, description: 'domain name(s) or id(s)' }) };
  static override flags = { long: Flags.boolean({ char: 'l', description: "the long table with the backend's counters (xenemu's)" }) };

  async run(): Promise<JsonOutput<'block-list'>> {
    return blockListJson(await this.runVerb('block-list', await this.parse(BlockList)));
  }
}
