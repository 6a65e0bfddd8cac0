/**
 * What iputils' ping prints (ping/ping.c, ping_common.c in iputils 20221126): the
 * header, a line per reply or error, and the statistics. The guest's console shell
 * prints it line by line, `xenemu net-ping` all at once; both through these.
 */
import type { PingReply, PingResult } from './ping.js';

/** ICMP header (8) and IPv4 header (20) around -s bytes of data: ping's "56(84)". */
const ICMP_IP_OVERHEAD = 28;

export function pingHeader(dst: string, size: number): string {
  return `PING ${dst} (${dst}) ${size}(${size + ICMP_IP_OVERHEAD}) bytes of data.`;
}

/** A round trip as ping prints it on a reply line: fewer decimals as it grows (print_timing). */
function tripTime(us: number): string {
  const t = Math.floor(us);
  if (t >= 100000 - 50) return `${Math.floor((t + 500) / 1000)}`;
  if (t >= 10000 - 5) return `${Math.floor((t + 50) / 1000)}.${Math.floor(((t + 50) % 1000) / 100)}`;
  if (t >= 1000) return `${Math.floor((t + 5) / 1000)}.${String(Math.floor(((t + 5) % 1000) / 10)).padStart(2, '0')}`;
  return `${Math.floor(t / 1000)}.${String(t % 1000).padStart(3, '0')}`;
}

export function pingReplyLine(dst: string, r: PingReply): string {
  return `${r.bytes} bytes from ${dst}: icmp_seq=${r.seq} ttl=${r.ttl} time=${tripTime(r.rttUs)} ms`;
}

export function pingUnreachableLine(src: string | null, seq: number): string {
  return `From ${src ?? '0.0.0.0'} icmp_seq=${seq} Destination Host Unreachable`;
}

/** Microseconds as the statistics print them: %ld.%03ld of whole microseconds. */
function ms3(us: number): string {
  const t = Math.floor(us);
  return `${Math.floor(t / 1000)}.${String(t % 1000).padStart(3, '0')}`;
}

/** printf's %g: six significant digits, no trailing zeros. */
function g(x: number): string {
  return String(Number(x.toPrecision(6)));
}

export function pingStatistics(r: PingResult): string[] {
  const loss = r.transmitted === 0 ? 0 : ((r.transmitted - r.received) * 100) / r.transmitted;
  const lines = ['', `--- ${r.dst} ping statistics ---`, `${r.transmitted} packets transmitted, ${r.received} received${r.errors > 0 ? `, +${r.errors} errors` : ''}, ${g(loss)}% packet loss, time ${r.timeMs}ms`];
  if (r.rtt !== null) {
    // iputils divides and takes the square root in integer microseconds.
    const avg = Math.floor(r.rtt.avg);
    lines.push(`rtt min/avg/max/mdev = ${ms3(r.rtt.min)}/${ms3(avg)}/${ms3(r.rtt.max)}/${ms3(Math.floor(r.rtt.mdev))} ms`);
  }
  return lines;
}

/** The whole of ping's output for a finished run (or its one error line, "ping: ..."). */
export function pingOutput(r: PingResult): string[] {
  if (r.error !== null) return [`ping: ${r.error}`];
  const events: Array<{ seq: number; line: string }> = [
    ...r.replies.map((x) => ({ seq: x.seq, line: pingReplyLine(r.dst, x) })),
    ...r.unreachable.map((seq) => ({ seq, line: pingUnreachableLine(r.src, seq) })),
  ];
  events.sort((a, b) => a.seq - b.seq);
  return [pingHeader(r.dst, r.size), ...events.map((e) => e.line), ...pingStatistics(r)];
}
