import type { BlockIoResult } from '../protocol/blk-rpc.js';

/** Bytes with a binary unit, as dd and fio print sizes (1.0 MiB, 128 KiB). */
function size(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/**
 * The summary `block-io` prints, in the spirit of dd's last line and fio's latency
 * lines:
 *
 *   write xvda (domain 3 web): 8.0 MiB at offset 0 in 128.0 KiB blocks, queue depth 8, pattern offset
 *   64 I/Os in 0.021 s: 399.5 MB/s, 3047 IOPS
 *   latency (usec): p50 1890, p99 4021, max 4102
 */
export function formatBlockIo(r: BlockIoResult): string {
  const what = r.op === 'copy' ? `copy ${r.device} -> ${r.dest}` : `${r.op} ${r.device}`;
  const lines = [
    `${what} (domain ${r.domid} ${r.name}): ${size(r.bytes)} at offset ${r.offset} in ${size(r.blockSize)} blocks${r.random ? ' (random order)' : ''}, queue depth ${r.queueDepth}, ${r.pattern === 'data' ? 'data from the file' : `pattern ${r.pattern}`}`,
    `${r.ios} I/Os in ${r.seconds.toFixed(3)} s: ${r.mbPerSec.toFixed(1)} MB/s, ${Math.round(r.iops)} IOPS`,
    `latency (usec): p50 ${Math.round(r.latencyUs.p50)}, p99 ${Math.round(r.latencyUs.p99)}, max ${Math.round(r.latencyUs.max)}`,
  ];
  if (r.flushed) lines.push('flushed (cache flush completed)');
  if (r.mismatches !== undefined) lines.push(r.mismatches === 0 ? 'verify: every block matches' : `verify: ${r.mismatches} block(s) differ, first at byte ${r.firstMismatch}`);
  if (r.to !== undefined) lines.push(`wrote ${size(r.bytes)} to ${r.to}`);
  return lines.join('\n');
}
