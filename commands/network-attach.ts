import { Args } from '@oclif/core';
import { XlCommand } from '../src/compat/xl-command.js';
import type { JsonOutput } from '../src/ui/json/schemas.js';

export default class NetworkAttach extends XlCommand {
  static override summary = 'Attach a virtual NIC to a domain, like xl network-attach';
  static override description = `VIFSPEC is xl-network-configuration(5)'s (mac=, bridge=, ip=, backend=, devid=, rate=, mtu=, ...), in one argument or several, plus xenemu's capture= (the vif's pcap file). Without devid= the next free one is taken; without mac= one in Xen's 00:16:3e range is derived from the domain's uuid and the devid, so it is the same each time. A MAC another vif on the host has is refused. The toolstack writes the nodes libxl writes, waits for netback's InitWait and runs the hotplug script; the guest's netfront then connects. No host network interface is made: the vif's frames stay in the daemon. The vif stays attached across a restart of the host daemon.`;
  static override examples = ['<%= config.bin %> network-attach web bridge=xenbr0', '<%= config.bin %> network-attach web mac=00:16:3e:01:02:03 bridge=br1 ip=10.0.0.2', "<%= config.bin %> network-attach db 'bridge=xenbr0,capture=/tmp/db.pcap'"];
  static override strict = false;
  static override enableJsonFlag = true;

  static override args = {
    domain: Args.string({ required: true, description: 'domain name or id' }),
    vifspec: Args.string({ required: false, description: 'VIFSPEC (one argument or several; none for all defaults)' }),
  };

  async run(): Promise<JsonOutput<'network-attach'>> {
    return this.runVerb('network-attach', await this.parse(NetworkAttach));
  }
}
