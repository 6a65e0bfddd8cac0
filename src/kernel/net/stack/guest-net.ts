import type { Clock } from '../../../hypervisor/clock.js';
import { parseMac } from '../../../net/mac.js';
import type { Shell, ShellIO } from '../../console/shell.js';
import type { EthernetLink } from '../../../net/link.js';
import { NetStack } from './net-stack.js';
import { formatIpv4, parseIpv4 } from './packet.js';
import { PING_MAX_SIZE, runPing } from './ping.js';
import { pingHeader, pingReplyLine, pingStatistics, pingUnreachableLine } from './ping-output.js';

/** What the stack needs of a NIC (netfront's NetfrontNic): its link, number, name and the vif's mac and ip=. */
export interface GuestNic extends EthernetLink {
  readonly devid: number;
  readonly name: string;
  readonly mac: string;
  readonly ip: string | null;
}

/** Who says when NICs come up and go down (netfront). */
export interface NicSource {
  subscribe(listener: (e: { type: 'up' | 'down'; nic: GuestNic }) => void): () => void;
}

/**
 * The guest's network: an IPv4 stack on each NIC netfront brings up (its address from
 * the vif spec's ip=, which netfront reads from the backend), taken down with the NIC,
 * and the console's `ifconfig` and `ping`.
 */
export class GuestNet {
  private readonly stacks = new Map<GuestNic, NetStack>();

  constructor(
    netfront: NicSource,
    private readonly clock: Clock,
    shell: Shell,
  ) {
    netfront.subscribe((e) => (e.type === 'up' ? this.up(e.nic) : this.down(e.nic)));
    shell.register({ name: 'ifconfig', summary: 'show the network interfaces', run: (argv, io) => this.ifconfig(argv, io) });
    shell.register({
      name: 'ping',
      summary: 'send ICMP ECHO_REQUEST to a host: ping [-c count] [-s size] [-i interval] host',
      // iputils catches SIGINT and prints its statistics.
      handlesInterrupt: true,
      run: (argv, io) => this.ping(argv, io),
    });
  }

  /** The stacks of the NICs up now, by devid. */
  interfaces(): NetStack[] {
    return [...this.stacks.entries()].sort(([a], [b]) => a.devid - b.devid).map(([, s]) => s);
  }

  /** The stack of NIC `devid`, if it is up. */
  interface(devid: number): NetStack | undefined {
    for (const [nic, s] of this.stacks) if (nic.devid === devid) return s;
    return undefined;
  }

  /** The NIC a ping to `dst` leaves by: the first one with an address (every address is on the link). */
  route(): NetStack | undefined {
    return this.interfaces().find((s) => s.ip !== null) ?? this.interfaces()[0];
  }

  private up(nic: GuestNic): void {
    this.down(nic);
    const mac = parseMac(nic.mac);
    if (mac === null) return; // netfront refuses a vif without a valid mac before it comes up
    this.stacks.set(nic, new NetStack(nic, { name: nic.name, mac, ip: nic.ip === null ? null : parseIpv4(nic.ip), clock: this.clock }));
  }

  private down(nic: GuestNic): void {
    this.stacks.get(nic)?.detach();
    this.stacks.delete(nic);
  }

  /** net-tools' ifconfig (lo left out: the emulated guest has no loopback). */
  private ifconfig(argv: readonly string[], io: ShellIO): number {
    const want = argv[1];
    const list = this.interfaces().filter((s) => want === undefined || s.name === want);
    if (want !== undefined && list.length === 0) {
      io.println(`${want}: error fetching interface information: Device not found`);
      return 1;
    }
    for (const s of list) for (const line of ifconfigLines(s)) io.println(line);
    return 0;
  }

  private async ping(argv: readonly string[], io: ShellIO): Promise<number> {
    const args = parsePingArgs(argv.slice(1));
    if (typeof args === 'string') {
      io.println(`ping: ${args}`);
      return 2;
    }
    const dst = parseIpv4(args.host);
    if (dst === null) {
      // No resolver in the guest: a name is an unknown host, as ping says without DNS.
      io.println(`ping: ${args.host}: Name or service not known`);
      return 2;
    }
    const stack = this.route();
    if (stack === undefined || stack.ip === null) {
      io.println('ping: connect: Network is unreachable');
      return 2;
    }
    const host = formatIpv4(dst);
    io.println(pingHeader(host, args.size));
    const r = await runPing(stack, dst, {
      count: args.count,
      size: args.size,
      intervalNs: args.intervalNs,
      signal: io.signal,
      onReply: (x) => io.println(pingReplyLine(host, x)),
      onUnreachable: (seq) => io.println(pingUnreachableLine(formatIpv4(stack.ip!), seq)),
    }, this.clock);
    for (const line of pingStatistics(r)) io.println(line);
    return r.exitStatus;
  }
}

export interface PingArgs {
  host: string;
  count: number;
  size: number;
  intervalNs: number;
}

/** ping's options that the guest's ping takes: -c, -s, -i (seconds, at least 0.2 as for a user); an error string else. */
export function parsePingArgs(args: readonly string[]): PingArgs | string {
  const out: Partial<PingArgs> & { count: number; size: number; intervalNs: number } = { count: Infinity, size: 56, intervalNs: 1e9 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^-([csi])(.*)$/.exec(a);
    if (m === null) {
      if (a.startsWith('-')) return `invalid option -- '${a.slice(1, 2)}'`;
      if (out.host !== undefined) return `${a}: extra argument`;
      out.host = a;
      continue;
    }
    const value = m[2] !== '' ? m[2]! : args[++i];
    if (value === undefined) return `option requires an argument -- '${m[1]}'`;
    const n = Number(value);
    if (m[1] === 'c') {
      if (!Number.isInteger(n) || n < 1) return `invalid argument: '${value}': out of range: 1 <= value <= 9223372036854775807`;
      out.count = n;
    } else if (m[1] === 's') {
      if (!Number.isInteger(n) || n < 0 || n > PING_MAX_SIZE) return `invalid argument: '${value}': out of range: 0 <= value <= ${PING_MAX_SIZE}`;
      out.size = n;
    } else {
      if (!Number.isFinite(n) || n < 0) return `option argument contains garbage: ${value}`;
      if (n < 0.2) return 'cannot flood; minimal interval allowed for user is 200ms';
      out.intervalNs = n * 1e9;
    }
  }
  if (out.host === undefined) return 'usage error: Destination address required';
  return out as PingArgs;
}

/** net-tools 2.10's ifconfig block for one interface. */
export function ifconfigLines(s: NetStack): string[] {
  const c = s.counters;
  const mac = Array.from(s.mac, (b) => b.toString(16).padStart(2, '0')).join(':');
  return [
    `${s.name}: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500`,
    // ip= gives an address and no prefix: the guest holds it as a /32, every neighbour reached by ARP.
    ...(s.ip !== null ? [`        inet ${formatIpv4(s.ip)}  netmask 255.255.255.255`] : []),
    `        ether ${mac}  txqueuelen 1000  (Ethernet)`,
    `        RX packets ${c.rxPackets}  bytes ${c.rxBytes} (${humanBytes(c.rxBytes)})`,
    `        RX errors 0  dropped ${c.rxDropped}  overruns 0  frame 0`,
    `        TX packets ${c.txPackets}  bytes ${c.txBytes} (${humanBytes(c.txBytes)})`,
    `        TX errors 0  dropped ${c.txDropped} overruns 0  carrier 0  collisions 0`,
    '',
  ];
}

/** net-tools' print_bytes_scaled: 1024-based units, one decimal. */
function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}
