import type { Clock } from '../../../hypervisor/clock.js';
import { XenemuError } from '../../../common/errors.js';
import type { NetStack } from './net-stack.js';
import { ETH_HLEN, formatIpv4, IP_HLEN, IPV4_BROADCAST, UDP_HLEN, type Ipv4 } from './packet.js';

/** The discard service (RFC 863): where a stream of test datagrams goes by default. */
export const DISCARD_PORT = 9;
/** The smallest frame a stream sends: Ethernet, IPv4 and UDP headers (42 bytes); the NIC pads to 60. */
export const STREAM_MIN_FRAME = ETH_HLEN + IP_HLEN + UDP_HLEN;
/** The largest: a full Ethernet MTU (1500 bytes of IP) in a 1514-byte frame. */
export const STREAM_MAX_FRAME = ETH_HLEN + 1500;

export interface UdpStreamOptions {
  /** Destination address; IPV4_BROADCAST sends to every port of the bridge without ARP. */
  dst: Ipv4;
  port: number;
  count: number;
  /** Whole frame size in bytes (STREAM_MIN_FRAME..STREAM_MAX_FRAME). */
  frameSize: number;
}

export interface UdpStreamResult {
  frames: number;
  /** Frame bytes put on the NIC. */
  bytes: number;
  elapsedNs: number;
  /** Times the NIC's ring was full and the sender waited for it to drain. */
  ringFullWaits: number;
}

/** Consecutive refusals after which the NIC is taken for gone (down, detached). */
const MAX_WAITS_IN_A_ROW = 10_000;

/**
 * net-send inside the guest: resolve the destination (ARP, as any first datagram
 * would), then put `count` copies of one UDP frame on the NIC as fast as its ring
 * takes them, waiting a turn whenever the ring is full, so nothing is dropped by
 * the sender. The frame is reused: the NIC copies it (grant copy) before send returns.
 */
export async function runUdpStream(stack: NetStack, o: UdpStreamOptions, clock: Clock): Promise<UdpStreamResult> {
  const turn = (): Promise<void> => new Promise((resolve) => clock.defer(resolve));
  // Without an address the stream goes from 0.0.0.0, as a DHCP client's first datagrams do.
  const payload = o.frameSize - STREAM_MIN_FRAME;
  let mac = stack.neighbourMac(o.dst);
  if (mac === null) {
    // One datagram starts ARP (and is sent when it resolves); wait up to ARP's three tries.
    stack.sendIp(o.dst, stack.udpFrame(o.dst, DISCARD_PORT, o.port, payload));
    const start = clock.now();
    while ((mac = stack.neighbourMac(o.dst)) === null) {
      if (clock.now() - start > 3.5e9) throw new XenemuError('EHOSTUNREACH', `${formatIpv4(o.dst)}: Destination Host Unreachable (no ARP reply on ${stack.name})`);
      await new Promise<void>((resolve) => clock.after(10e6, resolve));
    }
  }
  const frame = stack.udpFrame(o.dst, DISCARD_PORT, o.port, payload);
  frame.set(o.dst === IPV4_BROADCAST ? [255, 255, 255, 255, 255, 255] : mac, 0);
  const start = clock.now();
  let frames = 0;
  let waits = 0;
  let inARow = 0;
  while (frames < o.count) {
    if (stack.sendFrame(frame, true)) {
      frames++;
      inARow = 0;
      continue;
    }
    waits++;
    if (++inARow > MAX_WAITS_IN_A_ROW) throw new XenemuError('ENETDOWN', `${stack.name}: the NIC took no frame after ${MAX_WAITS_IN_A_ROW} waits (${frames} of ${o.count} sent)`);
    await turn();
  }
  return { frames, bytes: frames * frame.length, elapsedNs: clock.now() - start, ringFullWaits: waits };
}
