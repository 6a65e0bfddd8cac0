import type { Clock } from '../../hypervisor/clock.js';
import { XEN_PAGE_SIZE } from '../../abi/index.js';
import { BlockIoError, readPages, type BlockBuffer, type BlockDevice } from './block-layer.js';

/**
 * `block-io`, a small program a user runs "inside" a guest against one of its disks
 * (what dd or fio would be): read, write, verify or copy a range in blocks of a given
 * size with up to `queueDepth` blocks in flight, and a summary of what it did. Data is
 * a pattern computed from each byte's offset on the disk (so `verify` can check what
 * `write` wrote, in any order), or bytes the caller passes in (`--from FILE`).
 */

export type BlockIoOp = 'read' | 'write' | 'verify' | 'copy';

/** What each byte holds: zero, its disk offset (as little-endian u64 words), or a seeded pseudo-random stream. */
export type BlockIoPattern = 'zero' | 'offset' | 'random';

export interface BlockIoOptions {
  op: BlockIoOp;
  /** Byte offset on the disk. */
  offset: number;
  /** Bytes to move. */
  length: number;
  blockSize: number;
  queueDepth: number;
  pattern: BlockIoPattern;
  seed: number;
  /** write/verify: these bytes instead of the pattern (their length is the length). */
  data?: Uint8Array;
  /** copy: the disk to copy to (same offset). */
  dest?: BlockDevice;
  /** A cache flush at the end (write, copy). */
  flush: boolean;
  /** Blocks in a seeded random order (each block once) instead of ascending. */
  random?: boolean;
  /** read: return the bytes read (for --to FILE); otherwise they stay in the guest's pages. */
  keepData?: boolean;
}

export interface BlockIoSummary {
  op: BlockIoOp;
  device: string;
  dest?: string;
  offset: number;
  length: number;
  blockSize: number;
  queueDepth: number;
  pattern: BlockIoPattern | 'data';
  /** Blocks moved (a copy counts each block once). */
  ios: number;
  bytes: number;
  seconds: number;
  mbPerSec: number;
  iops: number;
  /** Per-block latency percentiles, µs. */
  latencyUs: { p50: number; p99: number; max: number };
  flushed: boolean;
  /** Blocks went in a random order. */
  random: boolean;
  /** verify: blocks whose bytes differ, and the first differing byte's disk offset. */
  mismatches?: number;
  firstMismatch?: number;
}

/** The pattern's bytes for the disk range [offset, offset + length). */
export function patternBytes(pattern: BlockIoPattern, seed: number, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  if (pattern === 'zero') return out;
  const view = new DataView(out.buffer);
  if (pattern === 'offset') {
    // Each 8-byte word holds its own disk offset: any misplaced block shows where it came from.
    for (let i = 0; i + 8 <= length; i += 8) view.setBigUint64(i, BigInt(offset + i), true);
    return out;
  }
  // random: xorshift32 keyed by the seed and each 512-byte sector's number, so any block can be regenerated alone.
  for (let s = 0; s < length; s += 512) {
    let x = (Math.imul(seed ^ 0x9e3779b9, 2654435761) ^ Math.imul((offset + s) / 512, 40503)) >>> 0 || 1;
    for (let i = s; i < Math.min(length, s + 512); i += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      if (i + 4 <= length) view.setUint32(i, x, true);
    }
  }
  return out;
}

/** 0..n-1 in a seeded random order (Fisher-Yates over xorshift32). */
export function shuffled(n: number, seed: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  let x = (seed ^ 0x2545f491) >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const j = x % (i + 1);
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}

/** Where the buffer's first bytes differ from `want`, or -1. */
function firstDifference(buf: BlockBuffer, want: Uint8Array): number {
  for (let at = 0, p = 0; at < want.length; at += XEN_PAGE_SIZE, p++) {
    const page = buf.pages[p]!;
    const n = Math.min(XEN_PAGE_SIZE, want.length - at);
    for (let i = 0; i < n; i++) if (page[i] !== want[at + i]) return at + i;
  }
  return -1;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * Run `o` against `dev`. Blocks go out in order, up to queueDepth at a time; each
 * block's latency is timed. A read returns the bytes it read (for `--to FILE`).
 *
 * Reads, writes and verifies use direct I/O, as dd or fio with O_DIRECT: each of the
 * queueDepth workers has its own buffer of guest pages (allocBuffer) that the device
 * reads into or writes from as it is, filled once when the data is zeros (as fio fills
 * its buffers once), so the layer copies nothing. A copy, or buffers the disk cannot
 * give (more than its queue's share of guest memory: ENOMEM), go through the layer's
 * copying read/write.
 */
export async function runBlockIo(dev: BlockDevice, o: BlockIoOptions, clock: Clock): Promise<{ summary: BlockIoSummary; data?: Uint8Array }> {
  const length = o.data?.length ?? o.length;
  if (!(Number.isSafeInteger(o.blockSize) && o.blockSize > 0)) throw new BlockIoError('EINVAL', `block size ${o.blockSize}`, null);
  if (!(Number.isSafeInteger(o.queueDepth) && o.queueDepth >= 1)) throw new BlockIoError('EINVAL', `queue depth ${o.queueDepth}`, null);
  if (o.op === 'copy' && o.dest === undefined) throw new BlockIoError('EINVAL', 'copy needs a destination disk', null);
  if (o.op === 'copy' && o.dest === dev) throw new BlockIoError('EINVAL', `copy from ${dev.name} to itself`, null);
  const readBack = o.op === 'read' && o.keepData === true ? new Uint8Array(length) : undefined;
  const latencies: number[] = [];
  let mismatches = 0;
  let firstMismatch: number | undefined;
  // Zeros are the same for every block: one block of them, read-only here (dd from /dev/zero does not allocate per block).
  const zeros = o.data === undefined && o.pattern === 'zero' ? new Uint8Array(Math.min(o.blockSize, length)) : null;
  const expected = (at: number, n: number): Uint8Array => (o.data !== undefined ? o.data.subarray(at - o.offset, at - o.offset + n) : zeros !== null ? zeros.subarray(0, n) : patternBytes(o.pattern, o.seed, at, n));

  const one = async (at: number, n: number, buf: BlockBuffer | null): Promise<void> => {
    const t0 = clock.now();
    if (buf !== null) {
      await direct(at, n, buf);
      latencies.push((clock.now() - t0) / 1000);
      return;
    }
    switch (o.op) {
      case 'write':
        await dev.write(at, expected(at, n));
        break;
      case 'read':
        await dev.read(at, n, readBack === undefined ? null : readBack.subarray(at - o.offset, at - o.offset + n));
        break;
      case 'verify': {
        const got = await dev.read(at, n);
        const want = expected(at, n);
        const i = got.findIndex((b, j) => b !== want[j]);
        if (i >= 0) {
          mismatches++;
          if (firstMismatch === undefined || at + i < firstMismatch) firstMismatch = at + i;
        }
        break;
      }
      case 'copy':
        await o.dest!.write(at, await dev.read(at, n));
        break;
    }
    latencies.push((clock.now() - t0) / 1000);
  };

  /** One block on a worker's direct buffer. */
  const direct = async (at: number, n: number, buf: BlockBuffer): Promise<void> => {
    if (o.op === 'write') {
      if (zeros === null) dev.fill(buf, expected(at, n));
      await dev.writeDirect(at, buf, n);
      return;
    }
    await dev.readDirect(at, buf, n);
    if (readBack !== undefined) readPages(buf, readBack.subarray(at - o.offset, at - o.offset + n));
    if (o.op === 'verify') {
      const i = firstDifference(buf, expected(at, n));
      if (i >= 0) {
        mismatches++;
        if (firstMismatch === undefined || at + i < firstMismatch) firstMismatch = at + i;
      }
    }
  };

  const blocks = Math.ceil(length / o.blockSize);
  const order = o.random === true ? shuffled(blocks, o.seed) : null;
  const end = o.offset + length;
  const workers = Math.min(o.queueDepth, Math.max(1, blocks));
  const bufferBytes = Math.min(o.blockSize, length);
  const buffers: BlockBuffer[] = [];
  if (o.op !== 'copy' && length > 0) {
    try {
      for (let i = 0; i < workers; i++) buffers.push(dev.allocBuffer(bufferBytes));
    } catch (err) {
      if (!(err instanceof BlockIoError && err.code === 'ENOMEM')) throw err;
      for (const b of buffers.splice(0)) dev.freeBuffer(b);
    }
  }
  // A page from the allocator may hold anything: zeros are written once, here.
  if (o.op === 'write' && zeros !== null && buffers.length > 0) {
    // One block of zeros for every buffer (they are all the same size).
    const blank = new Uint8Array(buffers[0]!.pages.length * XEN_PAGE_SIZE);
    for (const b of buffers) dev.fill(b, blank);
  }
  const start = clock.now();
  let next = 0;
  const worker = async (buf: BlockBuffer | null): Promise<void> => {
    while (next < blocks) {
      const b = order === null ? next : order[next]!;
      next++;
      const at = o.offset + b * o.blockSize;
      await one(at, Math.min(o.blockSize, end - at), buf);
    }
  };
  try {
    await Promise.all(Array.from({ length: workers }, (_, i) => worker(buffers[i] ?? null)));
  } finally {
    for (const b of buffers) dev.freeBuffer(b);
  }
  let flushed = false;
  if (o.flush && (o.op === 'write' || o.op === 'copy')) {
    await (o.op === 'copy' ? o.dest! : dev).flush();
    flushed = true;
  }
  const seconds = (clock.now() - start) / 1e9;
  latencies.sort((a, b) => a - b);
  const summary: BlockIoSummary = {
    op: o.op,
    device: dev.name,
    ...(o.dest !== undefined && o.op === 'copy' ? { dest: o.dest.name } : {}),
    offset: o.offset,
    length,
    blockSize: o.blockSize,
    queueDepth: o.queueDepth,
    pattern: o.data !== undefined ? 'data' : o.pattern,
    ios: latencies.length,
    bytes: length,
    seconds,
    mbPerSec: seconds > 0 ? length / 1e6 / seconds : 0,
    iops: seconds > 0 ? latencies.length / seconds : 0,
    latencyUs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies[latencies.length - 1] ?? 0 },
    flushed,
    random: order !== null,
    ...(o.op === 'verify' ? { mismatches, ...(firstMismatch !== undefined ? { firstMismatch } : {}) } : {}),
  };
  return readBack !== undefined ? { summary, data: readBack } : { summary };
}
