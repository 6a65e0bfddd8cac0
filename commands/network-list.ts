import { Args } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';
import type { JsonOutput } from '../src/ui/json/schemas.js';
import { networkListJson } from '../src/ui/json/views.js';

export default class NetworkList extends XlCommand {
  static override summary = 'List the virtual NICs of domains, like xl network-list';
  static override description = `xl's table, byte for byte: device number, backend domain, MAC, handle, the frontend's XenBus state, its event-channel (-1 with split tx/rx channels, which Linux's netfront uses, as xl shows it), the tx and rx ring-refs (-1 while not connected) and the backend path. --json adds the bridge, ip, both states and netback's counters.`;
  static override examples = ['<%= config.bin %> network-list web', '<%= config.bin %> network-list --json web db'];
  static override strict = false;
  static override enableJsonFlag = true;

  static override args = { domain: Args.string({ required: true, description: 'domain name(s) or id(s)' }) };

  async run(): Promise<JsonOutput<'network-list'>> {
    return networkListJson(await this.runVerb('network-list', await this.parse(NetworkList)));
  }
}
