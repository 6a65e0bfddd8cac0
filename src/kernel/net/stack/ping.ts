import type { Clock } from '../../../hypervisor/clock.js';
import type { NetStack } from './net-stack.js';
import { formatIpv4, ICMP_ECHO_REQUEST, IP_HLEN, type Ipv4 } from './packet.js';

/** iputils' limits: -s up to 65507 (an IPv4 packet of 65535), -c at least 1. */
export const PING_MAX_SIZE = 65535 - IP_HLEN - 8;
/** ping's MAXWAIT: how long it lingers for a reply after the last request when none came. */
const MAXWAIT_NS = 10e9;

export interface PingOptions {
  /** Requests to send (-c); Infinity: until `signal` aborts, as ping without -c runs until Ctrl-C. */
  count: number;
  /** Data bytes per request (-s; 56 by default: 64 bytes of ICMP). */
  size: number;
  /** Between requests (-i; one second by default). */
  intervalNs: number;
  /** Stops sending and summarises at once (Ctrl-C, SIGINT). */
  signal?: AbortSignal;
  /** Each reply and each unreachable request as it happens, for a ping that prints as it goes. */
  onReply?: (r: PingReply) => void;
  onUnreachable?: (seq: number) => void;
}

export interface PingReply {
  seq: number;
  ttl: number;
  bytes: number;
  /** Round trip, microseconds. */
  rttUs: number;
}

export interface PingResult {
  dst: string;
  /** The interface's own address (the source of "Destination Host Unreachable" lines). */
  src: string | null;
  size: number;
  transmitted: number;
  received: number;
  /** Requests that came back as "Destination Host Unreachable" (ARP gave up). */
  errors: number;
  /** Start to finish, milliseconds, as ping's "time". */
  timeMs: number;
  replies: PingReply[];
  unreachable: number[];
  /** Microseconds; null when nothing came back. */
  rtt: { min: number; avg: number; max: number; mdev: number } | null;
  /** Set when ping could not run at all (no address): its message, exit status 2. */
  error: string | null;
  /** ping's: 0 when a reply came, 1 when none did, 2 on an error. */
  exitStatus: number;
}

/** iputils' default payload: each byte its own offset (fill() with no -p). */
function payload(size: number): Uint8Array {
  const d = new Uint8Array(size);
  for (let i = 0; i < size; i++) d[i] = i & 0xff;
  return d;
}

let nextId = 0x1d00;

/**
 * Run ping inside the guest (iputils' ping4 main loop, simplified): a request every
 * interval until `count` are sent, then linger for the outstanding replies (twice the
 * longest round trip seen but at least the interval, or ping's MAXWAIT when none came), all on the kernel's
 * clock so a virtual clock runs it in no time.
 */
export function runPing(stack: NetStack, dst: Ipv4, options: PingOptions, clock: Clock): Promise<PingResult> {
  const base = { dst: formatIpv4(dst), src: stack.ip === null ? null : formatIpv4(stack.ip), size: options.size };
  if (stack.ip === null) {
    return Promise.resolve({ ...base, transmitted: 0, received: 0, errors: 0, timeMs: 0, replies: [], unreachable: [], rtt: null, error: 'connect: Network is unreachable', exitStatus: 2 });
  }
  const id = (nextId = (nextId + 1) & 0xffff);
  const data = payload(options.size);
  const sentAt = new Map<number, number>();
  const replies: PingReply[] = [];
  const unreachable: number[] = [];
  const start = clock.now();
  let transmitted = 0;
  let lastActivity = start;
  return new Promise((resolve) => {
    let lingerTimer = { cancel() {} };
    let sendTimer = { cancel() {} };
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      options.signal?.removeEventListener('abort', finish);
      unlisten();
      sendTimer.cancel();
      lingerTimer.cancel();
      const received = replies.length;
      let rtt: PingResult['rtt'] = null;
      if (received > 0) {
        // iputils keeps integer microseconds: tsum, tsum2, then mdev = sqrt(tsum2/n - avg^2).
        const us = replies.map((r) => r.rttUs);
        const avg = us.reduce((a, b) => a + b, 0) / received;
        const sq = us.reduce((a, b) => a + b * b, 0) / received;
        rtt = { min: Math.min(...us), avg, max: Math.max(...us), mdev: Math.sqrt(Math.max(0, sq - avg * avg)) };
      }
      resolve({ ...base, transmitted, received, errors: unreachable.length, timeMs: Math.floor((lastActivity - start) / 1e6), replies, unreachable, rtt, error: null, exitStatus: received > 0 ? 0 : 1 });
    };
    const settled = (): boolean => replies.length + unreachable.length >= transmitted;
    const maybeDone = (): void => {
      if (transmitted < options.count) return;
      if (settled()) {
        finish();
        return;
      }
      lingerTimer.cancel();
      const maxRtt = replies.length === 0 ? 0 : Math.max(...replies.map((r) => r.rttUs)) * 1000;
      // iputils' ping_common: after the last request it waits twice the longest round trip,
      // but never less than the interval (`if (waittime < 1000 * interval) waittime = ...`).
      lingerTimer = clock.after(replies.length === 0 ? MAXWAIT_NS : Math.max(2 * maxRtt, options.intervalNs, 1e6), finish);
    };
    const unlisten = stack.listenEcho(id, {
      reply(r) {
        const at = sentAt.get(r.seq);
        if (at === undefined || r.src !== dst) return; // a duplicate, or not ours
        sentAt.delete(r.seq);
        const now = clock.now();
        lastActivity = now;
        const reply = { seq: r.seq, ttl: r.ttl, bytes: r.bytes, rttUs: (now - at) / 1000 };
        replies.push(reply);
        options.onReply?.(reply);
        if (transmitted === options.count && settled()) finish();
      },
      unreachable(to, held) {
        if (to !== dst) return;
        // Each request held for ARP that gave up is one "Destination Host Unreachable".
        for (const f of held) {
          const seq = (f[14 + 20 + 6]! << 8) | f[14 + 20 + 7]!;
          if (sentAt.delete(seq)) {
            unreachable.push(seq);
            options.onUnreachable?.(seq);
          }
        }
        lastActivity = clock.now();
        if (transmitted === options.count) maybeDone();
      },
    });
    const sendNext = (): void => {
      transmitted++;
      const seq = transmitted & 0xffff;
      sentAt.set(seq, clock.now());
      lastActivity = clock.now();
      stack.sendEcho(ICMP_ECHO_REQUEST, dst, id, seq, data);
      if (transmitted < options.count) sendTimer = clock.after(options.intervalNs, sendNext);
      else maybeDone();
    };
    if (options.signal?.aborted === true) {
      finish();
      return;
    }
    options.signal?.addEventListener('abort', finish);
    sendNext();
  });
}
