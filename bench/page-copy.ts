/**
 * The kernel's copy from the page cache into memory at different alignments: why guest
 * frames are page-aligned (src/hypervisor/host-pages.ts) and why bench/blk.ts's raw side
 * reads into page-aligned buffers.
 *
 * Each round reads --mib MiB of a file in the page cache with preadv, --block bytes a
 * call, --qd calls in flight on libuv's pool (as blkback's and raw's calls are), into
 * buffers that start at a page boundary, or 64, 32, 48 or 16 bytes past one. malloc
 * aligns to 16: a large ArrayBuffer (mmapped by glibc, behind a 16-byte header) starts
 * 16 bytes past a page, and 64 KiB ones from the heap (guest memory's chunks before
 * they came from page-aligned slabs) at each of 0, 16, 32 and 48 past a cache line in
 * turn. The offsets alternate round by round in one process, the same memory behind
 * each; the figures are medians after --warmup uncounted rounds.
 *
 *   npm run bench -- page-copy [--rounds 7] [--warmup 1] [--mib 256] [--block 1048576] [--qd 32]
 */
import { writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pageAlignedBuffer, WASM_PAGE_SIZE } from '../src/hypervisor/host-pages.js';
import { scratchDir } from '../test/helpers/scratch.js';
import { rawIo } from './lib/raw-io.js';
import { machine, median, table } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    warmup: { type: 'string', default: '1' },
    mib: { type: 'string', default: '256' },
    block: { type: 'string', default: String(1 << 20) },
    qd: { type: 'string', default: '32' },
  },
});
const MiB = 1 << 20;
const ROUNDS = Number(values.rounds);
const WARMUP = Number(values.warmup);
const BYTES = Number(values.mib) * MiB;
const BLOCK = Number(values.block);
const QD = Number(values.qd);
const OFFSETS = [0, 64, 32, 48, 16] as const;

/** One round: the file's first BYTES read into `bufs`, a call per block; MiB/s and CPU µs per MiB (every thread). */
async function round(fd: number, bufs: readonly Uint8Array[]): Promise<{ mibPerSec: number; cpuUsPerMiB: number }> {
  const cpu = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await rawIo(fd, 'read', bufs, BLOCK, BYTES / BLOCK);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const used = process.cpuUsage(cpu);
  return { mibPerSec: BYTES / MiB / s, cpuUsPerMiB: (used.user + used.system) / (BYTES / MiB) };
}

async function main(): Promise<void> {
  const file = join(scratchDir('xe-bench-page-copy-'), 'data');
  writeFileSync(file, Buffer.alloc(BYTES, 1));
  const fh = await open(file, 'r');
  // One page-aligned block of memory per request in flight, with a page to spare for the offsets.
  const stride = Math.ceil((BLOCK + 4096) / 4096) * 4096;
  const mem = pageAlignedBuffer(Math.ceil((QD * stride) / WASM_PAGE_SIZE) * WASM_PAGE_SIZE);
  const sets = OFFSETS.map((off) => Array.from({ length: QD }, (_, i) => new Uint8Array(mem, i * stride + off, BLOCK)));
  const runs = OFFSETS.map(() => [] as Array<{ mibPerSec: number; cpuUsPerMiB: number }>);
  try {
    for (let r = -WARMUP; r < ROUNDS; r++) {
      for (let i = 0; i < OFFSETS.length; i++) {
        const x = await round(fh.fd, sets[i]!);
        if (r >= 0) runs[i]!.push(x);
      }
    }
  } finally {
    await fh.close();
  }
  const aligned = median(runs[0]!.map((x) => x.mibPerSec));
  console.log(`page-copy: preadv from the page cache, ${BLOCK} bytes a call, ${QD} in flight, ${BYTES / MiB} MiB a round; ${ROUNDS} rounds alternating, median, after ${WARMUP} uncounted`);
  console.log(`machine: ${machine()}`);
  console.log(
    table(
      ['buffers start', 'MiB/s', 'of aligned', 'CPU µs/MiB'],
      OFFSETS.map((off, i) => {
        const speed = median(runs[i]!.map((x) => x.mibPerSec));
        return [off === 0 ? 'on a page' : `${off} bytes on`, speed.toFixed(0), `${((speed / aligned) * 100).toFixed(0)}%`, median(runs[i]!.map((x) => x.cpuUsPerMiB)).toFixed(0)];
      }),
    ),
  );
}

void main();
