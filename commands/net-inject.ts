import { Args } from '@oclif/core';
import { resolve } from 'node:path';
import { XenemuCommand } from '../src/cli/base-command.js';
import { netCall } from '../src/client/net.js';
import type { JsonOutput } from '../src/ui/json/schemas.js';
import { formatNetInject } from '../src/ui/net.js';

export default class NetInject extends XenemuCommand {
  static override summary = "Deliver the frames of a pcap capture to a guest's NIC";
  static override description = `Reads FILE.pcap (libpcap format, Ethernet link type, as tcpdump -w or tshark -F pcap write) and puts each frame, byte for byte and in order, on DOM's vif VIF from dom0's side, as if it came from the bridge: through netback, the rx ring and netfront to the guest's network stack, which answers what is for it (an ARP request for its address, a ping). The frames show in the vif's capture as any other. A file that is not a usable pcap is refused with the byte offset of the problem, before anything is sent.

VIF is the vif's devid (0), its MAC, or netback's name for it (vif3.0).`;
  static override examples = ['<%= config.bin %> net-inject web 0 ./arp-who-has.pcap', '<%= config.bin %> net-inject web vif3.0 ~/captures/replay.pcap --json'];
  static override enableJsonFlag = true;
  static override args = {
    dom: Args.string({ description: 'domain id or name', required: true }),
    vif: Args.string({ description: 'the vif: devid, MAC or vifD.N', required: true }),
    file: Args.string({ description: 'the pcap file', required: true }),
  };

  async run(): Promise<JsonOutput<'net-inject'>> {
    const { args } = await this.parse(NetInject);
    const r = await netCall(this.paths, 'net.inject', { ref: args.dom, vif: args.vif, file: resolve(args.file) });
    this.log(formatNetInject(r));
    return r;
  }
}
