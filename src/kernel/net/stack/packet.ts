/**
 * The guest network stack's view of a frame: Ethernet II, ARP (RFC 826) for IPv4 over
 * Ethernet, IPv4 (RFC 791), ICMP echo (RFC 792) and UDP (RFC 768). parseFrame() reads
 * untrusted bytes (whatever arrives on the NIC) and never throws: a frame it cannot
 * use comes back as `{ kind: 'drop', reason }`. The build* functions write the same
 * layouts, at the offsets named here once.
 */

export const ETH_HLEN = 14;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
/** IPv4 header without options, ARP for IPv4 over Ethernet, ICMP echo and UDP headers. */
export const IP_HLEN = 20;
export const ARP_LEN = 28;
export const ICMP_ECHO_HLEN = 8;
export const UDP_HLEN = 8;
export const IPPROTO_ICMP = 1;
export const IPPROTO_UDP = 17;
export const ICMP_ECHO_REPLY = 0;
export const ICMP_ECHO_REQUEST = 8;
export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;
/** Linux's and FreeBSD's default TTL (net.inet.ip.ttl, ip_default_ttl). */
export const DEFAULT_TTL = 64;
/** Ethernet's MTU: the largest IPv4 packet one frame carries. */
export const ETH_MTU = 1500;

/** An IPv4 address as an unsigned 32-bit number (network order when written). */
export type Ipv4 = number;

export function parseIpv4(text: string): Ipv4 | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (m === null) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function formatIpv4(ip: Ipv4): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

export const IPV4_BROADCAST: Ipv4 = 0xffffffff;

/** The Internet checksum (RFC 1071) of b[start, end): the ones' complement of the ones' complement sum. */
export function inetChecksum(b: Uint8Array, start: number, end: number): number {
  let sum = 0;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < end) sum += b[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export type ParsedFrame =
  | { kind: 'drop'; reason: string }
  | { kind: 'arp'; op: number; senderMac: Uint8Array; senderIp: Ipv4; targetMac: Uint8Array; targetIp: Ipv4 }
  | { kind: 'icmp-echo'; type: number; src: Ipv4; dst: Ipv4; ttl: number; id: number; seq: number; data: Uint8Array }
  | { kind: 'udp'; src: Ipv4; dst: Ipv4; srcPort: number; dstPort: number; data: Uint8Array }
  | { kind: 'ipv4-other'; protocol: number; src: Ipv4; dst: Ipv4 };

const drop = (reason: string): ParsedFrame => ({ kind: 'drop', reason });

function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** Decode a frame; the views it returns point into `frame` (valid while the frame is). */
export function parseFrame(frame: Uint8Array): ParsedFrame {
  if (frame.length < ETH_HLEN) return drop('runt frame');
  const type = u16(frame, 12);
  if (type === ETHERTYPE_ARP) return parseArp(frame);
  if (type === ETHERTYPE_IPV4) return parseIp(frame);
  return drop(`ethertype 0x${type.toString(16).padStart(4, '0')}`);
}

function parseArp(frame: Uint8Array): ParsedFrame {
  const a = ETH_HLEN;
  if (frame.length < a + ARP_LEN) return drop('short ARP');
  // Only IPv4 over Ethernet: htype 1, ptype 0x0800, hlen 6, plen 4.
  if (u16(frame, a) !== 1 || u16(frame, a + 2) !== ETHERTYPE_IPV4 || frame[a + 4] !== 6 || frame[a + 5] !== 4) return drop('ARP not for IPv4 over Ethernet');
  const op = u16(frame, a + 6);
  if (op !== ARPOP_REQUEST && op !== ARPOP_REPLY) return drop(`ARP op ${op}`);
  return { kind: 'arp', op, senderMac: frame.subarray(a + 8, a + 14), senderIp: u32(frame, a + 14), targetMac: frame.subarray(a + 18, a + 24), targetIp: u32(frame, a + 24) };
}

function parseIp(frame: Uint8Array): ParsedFrame {
  const i = ETH_HLEN;
  if (frame.length < i + IP_HLEN) return drop('short IPv4 header');
  const vihl = frame[i]!;
  const ihl = (vihl & 15) * 4;
  if (vihl >> 4 !== 4 || ihl < IP_HLEN) return drop('bad IPv4 version or header length');
  const total = u16(frame, i + 2);
  // Ethernet pads short frames: the IP total length says where the packet ends.
  if (total < ihl || i + total > frame.length) return drop('bad IPv4 total length');
  if (inetChecksum(frame, i, i + ihl) !== 0) return drop('bad IPv4 header checksum');
  const frag = u16(frame, i + 6);
  if ((frag & 0x3fff) !== 0) return drop('IPv4 fragment');
  const protocol = frame[i + 9]!;
  const src = u32(frame, i + 12);
  const dst = u32(frame, i + 16);
  const p = i + ihl;
  const end = i + total;
  if (protocol === IPPROTO_ICMP) {
    if (end - p < ICMP_ECHO_HLEN) return drop('short ICMP');
    if (inetChecksum(frame, p, end) !== 0) return drop('bad ICMP checksum');
    const type = frame[p]!;
    if ((type !== ICMP_ECHO_REQUEST && type !== ICMP_ECHO_REPLY) || frame[p + 1] !== 0) return { kind: 'ipv4-other', protocol, src, dst };
    return { kind: 'icmp-echo', type, src, dst, ttl: frame[i + 8]!, id: u16(frame, p + 4), seq: u16(frame, p + 6), data: frame.subarray(p + ICMP_ECHO_HLEN, end) };
  }
  if (protocol === IPPROTO_UDP) {
    if (end - p < UDP_HLEN) return drop('short UDP');
    const len = u16(frame, p + 4);
    if (len < UDP_HLEN || p + len > end) return drop('bad UDP length');
    return { kind: 'udp', src, dst, srcPort: u16(frame, p), dstPort: u16(frame, p + 2), data: frame.subarray(p + UDP_HLEN, p + len) };
  }
  return { kind: 'ipv4-other', protocol, src, dst };
}

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 8;
  b[at + 1] = v & 255;
}

function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 255;
  b[at + 2] = (v >>> 8) & 255;
  b[at + 3] = v & 255;
}

function ethHeader(b: Uint8Array, dst: Uint8Array, src: Uint8Array, type: number): void {
  b.set(dst, 0);
  b.set(src, 6);
  put16(b, 12, type);
}

export function buildArp(op: number, srcMac: Uint8Array, senderMac: Uint8Array, senderIp: Ipv4, targetMac: Uint8Array, targetIp: Ipv4, dstMac: Uint8Array): Uint8Array {
  // 42 bytes; the minimum frame of 60 is the NIC's padding to make, as Linux leaves it to the driver.
  const b = new Uint8Array(ETH_HLEN + ARP_LEN);
  ethHeader(b, dstMac, srcMac, ETHERTYPE_ARP);
  const a = ETH_HLEN;
  put16(b, a, 1);
  put16(b, a + 2, ETHERTYPE_IPV4);
  b[a + 4] = 6;
  b[a + 5] = 4;
  put16(b, a + 6, op);
  b.set(senderMac, a + 8);
  put32(b, a + 14, senderIp);
  b.set(targetMac, a + 18);
  put32(b, a + 24, targetIp);
  return b;
}

/**
 * An IPv4 packet in a frame, with room for `payloadLen` bytes of payload at
 * ETH_HLEN + IP_HLEN; the caller writes the payload (and its checksum) and the
 * destination MAC (bytes 0-5) once it knows it.
 */
export function buildIpFrame(srcMac: Uint8Array, protocol: number, src: Ipv4, dst: Ipv4, id: number, payloadLen: number, ttl = DEFAULT_TTL): Uint8Array {
  const b = new Uint8Array(ETH_HLEN + IP_HLEN + payloadLen);
  b.set(srcMac, 6);
  put16(b, 12, ETHERTYPE_IPV4);
  const i = ETH_HLEN;
  b[i] = 0x45;
  put16(b, i + 2, IP_HLEN + payloadLen);
  put16(b, i + 4, id & 0xffff);
  put16(b, i + 6, 0x4000); // DF, as Linux sets on ICMP and unfragmented UDP
  b[i + 8] = ttl;
  b[i + 9] = protocol;
  put32(b, i + 12, src);
  put32(b, i + 16, dst);
  put16(b, i + 10, inetChecksum(b, i, i + IP_HLEN));
  return b;
}

/** Fill in an ICMP echo at the IP payload of a frame from buildIpFrame. */
export function writeIcmpEcho(b: Uint8Array, type: number, id: number, seq: number, data: Uint8Array): void {
  const p = ETH_HLEN + IP_HLEN;
  b[p] = type;
  b[p + 1] = 0;
  put16(b, p + 4, id);
  put16(b, p + 6, seq);
  b.set(data, p + ICMP_ECHO_HLEN);
  put16(b, p + 2, inetChecksum(b, p, b.length));
}

/** Fill in a UDP datagram at the IP payload; checksum 0 (none), which RFC 768 allows over IPv4. */
export function writeUdp(b: Uint8Array, srcPort: number, dstPort: number, data: Uint8Array | number): void {
  const p = ETH_HLEN + IP_HLEN;
  put16(b, p, srcPort);
  put16(b, p + 2, dstPort);
  const len = UDP_HLEN + (typeof data === 'number' ? data : data.length);
  put16(b, p + 4, len);
  put16(b, p + 6, 0);
  if (typeof data !== 'number') b.set(data, p + UDP_HLEN);
}
