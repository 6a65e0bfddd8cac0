import { Args } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';
import type { JsonOutput } from '../src/ui/json/schemas.js';

export default class NetworkDetach extends XlCommand {
  static override summary = "Detach a domain's virtual NIC, like xl network-detach";
  static override description = `DEVID|MAC names the vif: a MAC when it has a colon, else its device number. netback is asked to close (online=0, state Closing); once it is Closed (within 10 s) the device's nodes go and the vif leaves its bridge. "Unknown device" (exit 1) when the domain has no such vif.`;
  static override examples = ['<%= config.bin %> network-detach web 1', '<%= config.bin %> network-detach web 00:16:3e:01:02:03'];
  static override enableJsonFlag = true;

  static override args = {
    domain: Args.string({ required: true, description: 'domain name or id' }),
    dev: Args.string({ required: true, description: 'device number or MAC' }),
  };

  async run(): Promise<JsonOutput<'network-detach'>> {
    return this.runVerb('network-detach', await this.parse(NetworkDetach));
  }
}
