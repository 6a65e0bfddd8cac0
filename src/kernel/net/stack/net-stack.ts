import type { Clock, Timer } from '../../../hypervisor/clock.js';
import type { EthernetLink } from '../../../net/link.js';
import { BROADCAST_MAC, formatMac } from '../../../net/mac.js';
import {
  ARPOP_REPLY,
  ARPOP_REQUEST,
  buildArp,
  buildIpFrame,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  IPPROTO_ICMP,
  IPPROTO_UDP,
  IPV4_BROADCAST,
  parseFrame,
  UDP_HLEN,
  writeIcmpEcho,
  writeUdp,
  type Ipv4,
} from './packet.js';

/** How long a learned neighbour is kept (FreeBSD's net.link.ether.inet.max_age: 1200 s). */
export const ARP_MAX_AGE_NS = 1200e9;
/** An unanswered request is sent again after a second, three times in all (Linux's mcast_solicit). */
export const ARP_RETRY_NS = 1e9;
export const ARP_TRIES = 3;
/** Packets held per unresolved neighbour (the rest are dropped while it resolves). */
const ARP_HOLD = 16;

/** Interface counters, as ifconfig and netstat -i show them. */
export interface IfCounters {
  rxPackets: number;
  rxBytes: number;
  rxDropped: number;
  txPackets: number;
  txBytes: number;
  /** Frames the NIC refused (ring full, link down). */
  txDropped: number;
  /** UDP datagrams delivered to this address. */
  udpIn: number;
  udpInBytes: number;
}

export interface EchoReply {
  src: Ipv4;
  ttl: number;
  id: number;
  seq: number;
  bytes: number;
}

interface Neighbour {
  mac: Uint8Array;
  at: number;
}

interface Resolving {
  held: Uint8Array[];
  tries: number;
  timer: Timer;
}

export interface NetStackOptions {
  /** The interface's name as the guest calls it (FreeBSD's netfront: xn0, xn1...). */
  name: string;
  mac: Uint8Array;
  /** The address from the vif spec's ip=; null: the interface has none (it answers nothing). */
  ip: Ipv4 | null;
  clock: Clock;
}

/**
 * A guest's IPv4 on one NIC, above netfront's EthernetLink: it answers ARP for its
 * address and keeps a neighbour cache, answers ICMP echo requests to its address,
 * and sends ICMP echo (for ping) and UDP. Every neighbour is on the link (ip= gives
 * an address, no netmask nor router), so any destination is resolved by ARP.
 */
export class NetStack {
  readonly name: string;
  readonly mac: Uint8Array;
  readonly ip: Ipv4 | null;
  readonly counters: IfCounters = { rxPackets: 0, rxBytes: 0, rxDropped: 0, txPackets: 0, txBytes: 0, txDropped: 0, udpIn: 0, udpInBytes: 0 };
  private readonly clock: Clock;
  private readonly neighbours = new Map<Ipv4, Neighbour>();
  private readonly resolving = new Map<Ipv4, Resolving>();
  private nextIpId = 1;
  /** Who hears echo replies and "host unreachable" (ping), by ICMP id. */
  private readonly echoListeners = new Map<number, { reply(r: EchoReply): void; unreachable(dst: Ipv4, held: Uint8Array[]): void }>();

  constructor(
    private readonly link: EthernetLink,
    options: NetStackOptions,
  ) {
    this.name = options.name;
    this.mac = options.mac;
    this.ip = options.ip;
    this.clock = options.clock;
    link.onFrame = (frame) => this.input(frame);
  }

  /** Stop: pending resolutions are dropped and the NIC's frames go nowhere. */
  detach(): void {
    this.link.onFrame = null;
    for (const r of this.resolving.values()) r.timer.cancel();
    this.resolving.clear();
  }

  arpTable(): { ip: Ipv4; mac: string }[] {
    const now = this.clock.now();
    return [...this.neighbours].filter(([, n]) => now - n.at <= ARP_MAX_AGE_NS).map(([ip, n]) => ({ ip, mac: formatMac(n.mac) }));
  }

  listenEcho(id: number, listener: { reply(r: EchoReply): void; unreachable(dst: Ipv4, held: Uint8Array[]): void }): () => void {
    this.echoListeners.set(id, listener);
    return () => this.echoListeners.delete(id);
  }

  private input(frame: Uint8Array): void {
    this.counters.rxPackets++;
    this.counters.rxBytes += frame.length;
    // Not for us (a bridge floods unknown unicast): what a NIC's MAC filter drops.
    if ((frame[0]! & 1) === 0 && !sameMac(frame, this.mac)) {
      this.counters.rxDropped++;
      return;
    }
    const p = parseFrame(frame);
    switch (p.kind) {
      case 'arp': {
        if (this.ip === null) return;
        // RFC 826: update a neighbour we know, and learn the sender of a request for us.
        const forUs = p.targetIp === this.ip;
        if (forUs || this.neighbours.has(p.senderIp)) this.learn(p.senderIp, p.senderMac);
        if (forUs && p.op === ARPOP_REQUEST) {
          this.transmit(buildArp(ARPOP_REPLY, this.mac, this.mac, this.ip, p.senderMac, p.senderIp, p.senderMac));
        }
        return;
      }
      case 'icmp-echo': {
        if (this.ip === null || p.dst !== this.ip) return;
        if (p.type === ICMP_ECHO_REQUEST) this.sendEcho(ICMP_ECHO_REPLY, p.src, p.id, p.seq, p.data);
        else this.echoListeners.get(p.id)?.reply({ src: p.src, ttl: p.ttl, id: p.id, seq: p.seq, bytes: p.data.length + 8 });
        return;
      }
      case 'udp':
        if (p.dst === this.ip || p.dst === IPV4_BROADCAST) {
          this.counters.udpIn++;
          this.counters.udpInBytes += p.data.length;
        }
        return;
      case 'ipv4-other':
        return;
      case 'drop':
        this.counters.rxDropped++;
        return;
    }
  }

  private learn(ip: Ipv4, mac: Uint8Array): void {
    const copy = new Uint8Array(mac); // the frame's bytes are the NIC's until the handler returns
    this.neighbours.set(ip, { mac: copy, at: this.clock.now() });
    const r = this.resolving.get(ip);
    if (r === undefined) return;
    r.timer.cancel();
    this.resolving.delete(ip);
    for (const f of r.held) {
      f.set(copy, 0);
      this.transmit(f);
    }
  }

  private transmit(frame: Uint8Array, countDrop = true): boolean {
    if (this.link.send(frame)) {
      this.counters.txPackets++;
      this.counters.txBytes += frame.length;
      return true;
    }
    if (countDrop) this.counters.txDropped++;
    return false;
  }

  /** The MAC of `dst` if known now; else starts (or joins) its resolution and holds `frame` for it. */
  private resolve(dst: Ipv4, frame: Uint8Array): Uint8Array | null {
    if (dst === IPV4_BROADCAST) return BROADCAST_MAC;
    const n = this.neighbours.get(dst);
    if (n !== undefined && this.clock.now() - n.at <= ARP_MAX_AGE_NS) return n.mac;
    const r = this.resolving.get(dst);
    if (r !== undefined) {
      if (r.held.length < ARP_HOLD) r.held.push(frame);
      return null;
    }
    const entry: Resolving = { held: [frame], tries: 0, timer: { cancel() {} } };
    this.resolving.set(dst, entry);
    this.solicit(dst, entry);
    return null;
  }

  private solicit(dst: Ipv4, r: Resolving): void {
    if (this.resolving.get(dst) !== r) return;
    if (r.tries === ARP_TRIES) {
      this.resolving.delete(dst);
      for (const l of [...this.echoListeners.values()]) l.unreachable(dst, r.held);
      return;
    }
    r.tries++;
    // The timer first: the reply may come back within transmit() on a synchronous link.
    r.timer = this.clock.after(ARP_RETRY_NS, () => this.solicit(dst, r));
    this.transmit(buildArp(ARPOP_REQUEST, this.mac, this.mac, this.ip ?? 0, new Uint8Array(6), dst, BROADCAST_MAC));
  }

  /** Send a frame from buildIpFrame to `dst`: now, or once ARP has its MAC. False when the NIC refused it. */
  sendIp(dst: Ipv4, frame: Uint8Array): boolean {
    const mac = this.resolve(dst, frame);
    if (mac === null) return true;
    frame.set(mac, 0);
    return this.transmit(frame);
  }

  sendEcho(type: number, dst: Ipv4, id: number, seq: number, data: Uint8Array): boolean {
    const f = buildIpFrame(this.mac, IPPROTO_ICMP, this.ip ?? 0, dst, this.nextIpId++, 8 + data.length);
    writeIcmpEcho(f, type, id, seq, data);
    return this.sendIp(dst, f);
  }

  /** A UDP datagram of `data` (or that many zero bytes) from this address. */
  udpFrame(dst: Ipv4, srcPort: number, dstPort: number, data: Uint8Array | number): Uint8Array {
    const len = typeof data === 'number' ? data : data.length;
    const f = buildIpFrame(this.mac, IPPROTO_UDP, this.ip ?? 0, dst, this.nextIpId++, UDP_HLEN + len);
    writeUdp(f, srcPort, dstPort, data);
    return f;
  }

  /** The destination MAC once resolved (for a stream that reuses one frame), or null while ARP works. */
  neighbourMac(dst: Ipv4): Uint8Array | null {
    if (dst === IPV4_BROADCAST) return BROADCAST_MAC;
    const n = this.neighbours.get(dst);
    return n !== undefined && this.clock.now() - n.at <= ARP_MAX_AGE_NS ? n.mac : null;
  }

  /**
   * Put a whole, addressed frame on the NIC; false when the NIC refused it. A sender
   * that waits and tries again (net-send's stream, on a full ring) passes
   * `retrying`, so that a refusal is not counted as a drop.
   */
  sendFrame(frame: Uint8Array, retrying = false): boolean {
    return this.transmit(frame, !retrying);
  }
}

function sameMac(frame: Uint8Array, mac: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (frame[i] !== mac[i]) return false;
  return true;
}
