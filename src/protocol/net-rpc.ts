import * as z from 'zod';
import type { PingResult } from '../kernel/net/stack/ping.js';
import type { UdpStreamResult } from '../kernel/net/stack/udp-stream.js';
import type { BridgeView } from '../net/bridge.js';
import { DomainRef, NoParams } from './params.js';

/**
 * Control-socket methods of the network fabric: the bridges (`bridge list`), and
 * programs run in a guest on its network stack (`net-ping`, `net-send`) or frames
 * put on a guest's vif from the host (`net-inject`). Errors: ESRCH for a domain,
 * ENODEV for a vif it does not have connected, EAGAIN for a kernel not booted,
 * EINVAL for a file that is not a usable pcap, ENETUNREACH / EHOSTUNREACH from the
 * guest's stack.
 */

/** A vif of the domain: its devid (0), MAC (00:16:3e:..) or netback's name (vif3.0). */
const VifRef = z.string().min(1).max(64);
const Ipv4Text = z.string().regex(/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/, 'an IPv4 address (a.b.c.d)');

export const NetParams = {
  'net.bridges': NoParams,
  'net.ping': z.strictObject({
    ref: DomainRef,
    ip: Ipv4Text,
    count: z.int().min(1).max(100_000),
    /** Data bytes per request (ping -s). */
    size: z.int().min(0).max(65507),
    /** Seconds between requests (ping -i); at least 0.2, the floor ping sets for a user. */
    interval: z.number().min(0.2).max(3600),
  }),
  'net.inject': z.strictObject({
    ref: DomainRef,
    vif: VifRef,
    /** The capture on the host (the CLI makes it absolute). */
    file: z.string().min(1).max(4096),
  }),
  'net.send': z.strictObject({
    ref: DomainRef,
    vif: VifRef,
    count: z.int().min(1).max(100_000_000),
    /** Whole frame bytes (42..1514). */
    size: z.int().min(42).max(1514),
    /** Destination address; absent: broadcast. */
    dest: Ipv4Text.optional(),
    port: z.int().min(0).max(65535),
  }),
} satisfies Record<string, z.ZodType>;

export interface BridgeListResult {
  bridges: BridgeView[];
}

export interface NetPingResult extends PingResult {
  domid: number;
  name: string;
}

export interface NetInjectResult {
  domid: number;
  name: string;
  vif: string;
  file: string;
  /** Frames the guest's rx ring took, and bytes of them. */
  frames: number;
  bytes: number;
  /** Records the capture had cut short (caplen < len): delivered as captured. */
  truncated: number;
}

export interface NetSendResult extends UdpStreamResult {
  domid: number;
  name: string;
  vif: string;
  dest: string;
  frameSize: number;
}

export type NetMethod = keyof typeof NetParams;

type P<M extends NetMethod> = z.output<(typeof NetParams)[M]>;
export type NetRpc = {
  'net.bridges': { params: P<'net.bridges'>; result: BridgeListResult };
  'net.ping': { params: P<'net.ping'>; result: NetPingResult };
  'net.inject': { params: P<'net.inject'>; result: NetInjectResult };
  'net.send': { params: P<'net.send'>; result: NetSendResult };
};
