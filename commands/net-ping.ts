import { Args, Flags } from '@oclif/core';
import { XenemuCommand } from '../src/cli/base-command.js';
import { netCall } from '../src/client/net.js';
import { pingOutput } from '../src/kernel/net/stack/ping-output.js';
import type { JsonOutput } from '../src/ui/json/schemas.js';

export default class NetPing extends XenemuCommand {
  static override summary = 'Run ping inside a guest and print what ping prints';
  static override description = `Runs ping in DOM, on its own network stack: ICMP echo requests leave by its NIC (netfront, the ring, netback), cross the bridge and come back the same way, ARP first when the guest does not know the address yet. Prints iputils ping's output: a line per reply, then the statistics (transmitted, received, loss, rtt min/avg/max/mdev), and exits as ping does: 0 when a reply came, 1 when none did, 2 on an error (the guest has no address: give its vif an ip=).`;
  static override examples = ['<%= config.bin %> net-ping web 10.0.0.2', '<%= config.bin %> net-ping web 10.0.0.2 -c 10 -s 1400 -i 0.2', '<%= config.bin %> net-ping web 10.0.0.2 -c 1 --json'];
  static override enableJsonFlag = true;
  static override args = {
    dom: Args.string({ description: 'the domain ping runs in: id or name', required: true }),
    ip: Args.string({ description: 'the address to ping (IPv4)', required: true }),
  };
  static override flags = {
    count: Flags.integer({ char: 'c', description: 'stop after this many requests', default: 4, min: 1, max: 100000 }),
    size: Flags.integer({ char: 's', description: 'data bytes per request (ICMP adds 8, IPv4 20)', default: 56, min: 0, max: 65507 }),
    interval: Flags.string({ char: 'i', description: 'seconds between requests (at least 0.2)', default: '1' }),
  };

  async run(): Promise<JsonOutput<'net-ping'>> {
    const { args, flags } = await this.parse(NetPing);
    const interval = Number(flags.interval);
    if (!Number.isFinite(interval) || interval < 0.2) this.error('ping: cannot flood; minimal interval allowed for user is 200ms', { exit: 2 });
    const r = await netCall(this.paths, 'net.ping', { ref: args.dom, ip: args.ip, count: flags.count, size: flags.size, interval });
    const out = pingOutput(r);
    if (r.error !== null) this.logToStderr(out.join('\n'));
    else this.log(out.join('\n'));
    if (r.exitStatus !== 0 && !this.jsonEnabled()) this.exit(r.exitStatus);
    return r;
  }
}
