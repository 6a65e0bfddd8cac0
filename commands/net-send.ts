import { Args, Flags } from '@oclif/core';
import { XenemuCommand } from '../src/cli/base-command.js';
import { netCall } from '../src/client/net.js';
import type { JsonOutput } from '../src/ui/json/schemas.js';
import { formatNetSend } from '../src/ui/net.js';

export default class NetSend extends XenemuCommand {
  static override summary = 'Push a stream of UDP frames out of a guest NIC, for throughput tests';
  static override description = `Runs a sender in DOM that puts --count UDP frames of --size bytes (the whole Ethernet frame, 42 to 1514) on its NIC VIF as fast as the ring takes them, to --dest (resolved by ARP first) or to everyone on the bridge (broadcast, the default), and prints frames/s and MB/s as the guest saw them leave. A full ring makes the sender wait, not drop. Receiving guests count the datagrams (ifconfig's RX packets).

VIF is the vif's devid (0), its MAC, or netback's name for it (vif3.0).`;
  static override examples = ['<%= config.bin %> net-send web 0 --count 100000 --size 1514 --dest 10.0.0.2', '<%= config.bin %> net-send web 0 --count 1000000 --size 64 --json'];
  static override enableJsonFlag = true;
  static override args = {
    dom: Args.string({ description: 'domain id or name', required: true }),
    vif: Args.string({ description: 'the vif: devid, MAC or vifD.N', required: true }),
  };
  static override flags = {
    count: Flags.integer({ char: 'n', description: 'frames to send', default: 10000, min: 1, max: 100000000 }),
    size: Flags.integer({ char: 's', description: 'bytes per frame, headers included (42-1514)', default: 1514, min: 42, max: 1514 }),
    dest: Flags.string({ char: 'd', description: 'destination IPv4 address (default: broadcast)' }),
    port: Flags.integer({ description: 'destination UDP port', default: 9, min: 0, max: 65535 }),
  };

  async run(): Promise<JsonOutput<'net-send'>> {
    const { args, flags } = await this.parse(NetSend);
    const r = await netCall(this.paths, 'net.send', { ref: args.dom, vif: args.vif, count: flags.count, size: flags.size, port: flags.port, ...(flags.dest !== undefined ? { dest: flags.dest } : {}) });
    this.log(formatNetSend(r));
    return r;
  }
}
