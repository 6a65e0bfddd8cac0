/**
 * Block I/O through the whole path against raw file I/O on the same file, in the same
 * run, rounds alternating. The path: the guest's block layer (its buffers are guest
 * pages) → blkfront (persistent grants, a blkif request on the shared ring, an event)
 * → blkback in dom0 (the filter, the taskqueue, the persistent mappings, one
 * preadv/pwritev per run of contiguous requests taken in one pass, at most 1 MiB, made
 * in place when it is the disk's only call in flight, else on libuv's pool) →
 * the image file → a response per request. Raw: Node's preadv/pwritev on the same
 * file, same block size, same queue depth, through the callback fs.readv/fs.writev as
 * blkback's store calls them (FileHandle's promise readv/writev cost more per call: a
 * raw side using them would have been slower than raw needs to be).
 *
 * Both sides hit the page cache (no O_DIRECT, no flush), so the figures are the
 * emulated path's own cost over the host's file I/O.
 *
 * "CPU µs/MiB" is the process's CPU time (every thread: the main thread's path work and
 * libuv's copies) per MiB moved: on a machine shared with other work it moves much
 * less between runs than MiB/s does, and it is what a deep queue runs out of. "main"
 * is the main thread's alone (from /proc's schedstat): the part of it that runs in
 * series with itself, the rings, grants and both drivers; the copies run on other
 * threads (libuv's pool, for raw and for the path alike).
 *
 * Rows: sequential 1 MiB and random 4 KiB, read and write, queue depth 1 and 32; the
 * xenemu side on the negotiated ring (8 pages, 256 requests, 128 KiB requests with
 * indirect segments, feature-persistent) and on the original protocol (one page, 32
 * requests, 11 segments, a grant and a map per page per request).
 *
 *   npm run build && node --import tsx bench/blk.ts [--rounds 5] [--warmup 2] [--seq-mib 256] [--rand-mib 64] [--file-mib 512] [--only 'seq 1M read qd1'] [--path-only] [--pool-only] [--null-store] [--sources]
 *
 * Each case begins with --warmup rounds of every side, alternated as the counted ones
 * and not counted: the steady state is what a long-running daemon serves. The path's
 * first rounds of a case run while V8 still compiles its code and the heap settles, on
 * the same two CPUs (sequential 1 MiB reads at queue depth 32, after a 256 MiB warm-up
 * run: ~200 µs of wall time per MiB in the first round, ~115 from the fifth); raw's loop
 * is a few lines, steady from its first round. --warmup 0 measures from cold.
 *
 * --pool-only turns blkback's inline calls off (every read and write through libuv's
 * pool, as before they existed): to see what they buy, alternate runs with and without.
 * --path-only runs the negotiated ring alone (no raw, no original protocol): for a CPU
 * profile of the path (`node --cpu-prof --cpu-prof-interval 50 --import tsx bench/blk.ts
 * --path-only --only 'seq 1M read qd1'`), or A/B runs of the path's own cost.
 *
 * --null-store puts a third disk in place of the original protocol's: the negotiated
 * ring over a store that answers each call a turn later and moves no byte. Its CPU is
 * the protocol's own (block layer, both drivers, grants, ring, events, and the rest of
 * the store's loop), what the path pays on top of raw's copies. Both sides' copies run
 * on the same CPUs, so where raw keeps every CPU busy the path can reach at best raw
 * CPU / (raw CPU + protocol CPU) of raw's speed: the "ceiling" column (shown only for
 * rows where raw used at least 90% of every CPU). With --path-only it runs that disk alone:
 * for a CPU profile of the protocol without the copies.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pageAlignedBuffer, WASM_PAGE_SIZE } from '../src/hypervisor/host-pages.js';
import type { BackingStore } from '../src/kernel/blk/backing-store.js';
import type { BlockDevice } from '../src/kernel/blk/block-layer.js';
import type { Kernel } from '../src/kernel/kernel.js';
import { scratchDir } from '../test/helpers/scratch.js';
import { addVbd, runHotplug, type VbdSpec } from '../test/kernel/blk/helpers.js';
import { rawIo } from './lib/raw-io.js';
import { machine, median, table } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    'seq-mib': { type: 'string', default: '256' },
    'rand-mib': { type: 'string', default: '64' },
    'file-mib': { type: 'string', default: '512' },
    only: { type: 'string' },
    'path-only': { type: 'boolean', default: false },
    'pool-only': { type: 'boolean', default: false },
    'null-store': { type: 'boolean', default: false },
    sources: { type: 'boolean', default: false },
  },
});

// What ships: the daemon runs dist/, compiled by tsc. Under tsx every named function a
// request creates is also given its name at run time (esbuild's keepNames), which costs
// the path ~15-25% of its JavaScript here; --sources measures that instead.
const SOURCES = values.sources;
const from = SOURCES ? '../src/' : '../dist/src/';
if (!SOURCES && !existsSync(new URL(`${from}host/machine.js`, import.meta.url))) throw new Error('dist/ is missing: npm run build first (or --sources)');
async function load<T>(path: string): Promise<T> {
  return (await import(new URL(`${from}${path}`, import.meta.url).href)) as T;
}
const { RealClock } = await load<typeof import('../src/hypervisor/clock.js')>('hypervisor/clock.js');
const { Machine, memoryState } = await load<typeof import('../src/host/machine.js')>('host/machine.js');
const { runBlockIo, shuffled } = await load<typeof import('../src/kernel/blk/block-io.js')>('kernel/blk/block-io.js');
const { XsClient } = await load<typeof import('../src/protocol/xs-client.js')>('protocol/xs-client.js');
const { engineTransport } = await load<typeof import('../src/kernel/engine-transport.js')>('kernel/engine-transport.js');
const { parseDomainConfigText } = await load<typeof import('../src/toolstack/config/index.js')>('toolstack/config/index.js');
const ROUNDS = Number(values.rounds);
const WARMUP = Number(values.warmup);
const MiB = 1024 * 1024;
const FILE = Number(values['file-mib']) * MiB;

interface Case {
  name: string;
  op: 'read' | 'write';
  blockSize: number;
  qd: number;
  random: boolean;
  bytes: number;
}

const cases: Case[] = [];
for (const [kind, bs, random, mib] of [['seq 1M', MiB, false, Number(values['seq-mib'])], ['rand 4K', 4096, true, Number(values['rand-mib'])]] as const) {
  for (const op of ['read', 'write'] as const) for (const qd of [1, 32]) cases.push({ name: `${kind} ${op}`, op, blockSize: bs, qd, random, bytes: mib * MiB });
}

/** A run's speed, CPU time (all threads) per MiB and the main thread's CPU time per MiB. */
interface Run {
  mibPerSec: number;
  cpuUsPerMiB: number;
  mainUsPerMiB: number;
}

/**
 * The main thread's CPU time so far, in µs (the first field of its schedstat is ns on a
 * CPU). The kernel brings a running thread's figure up to date only at a tick or a
 * switch, so a thread reading its own would miss up to a tick (4 ms here: ±15 µs per
 * MiB on a 256 MiB round); getrusage (process.cpuUsage) brings the caller's up to date
 * first (thread_group_cputime), so it is called just before.
 */
function mainThreadCpuUs(): number {
  process.cpuUsage();
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'latin1').split(' ')[0]) / 1000;
}

/**
 * Run a side's loop, timed: its speed and the CPU it took (every thread, and the main
 * thread alone) over the same span, so that what a side sets up beforehand is in
 * neither. A loop that returns nothing is timed here; block-io times its own transfer
 * loop and `loop` returns that time: the buffers it allocates and, for a write, fills
 * with zeros before it (32 MiB a round) stay out of its speed, as raw's buffers do,
 * but are in the path's CPU columns.
 */
async function timed(c: Case, loop: () => Promise<number | void>): Promise<Run> {
  const cpu = process.cpuUsage();
  const main = mainThreadCpuUs();
  const t0 = process.hrtime.bigint();
  const own = await loop();
  const s = typeof own === 'number' ? own : Number(process.hrtime.bigint() - t0) / 1e9;
  const used = process.cpuUsage(cpu);
  const mib = c.bytes / MiB;
  return { mibPerSec: mib / s, cpuUsPerMiB: (used.user + used.system) / mib, mainUsPerMiB: (mainThreadCpuUs() - main) / mib };
}

/** Raw: preadv/pwritev on the file from Node, qd at a time. */
async function raw(path: string, c: Case, bufs: readonly Buffer[]): Promise<Run> {
  const fh = await open(path, 'r+');
  const blocks = c.bytes / c.blockSize;
  const order = c.random ? shuffled(FILE / c.blockSize, 7) : null;
  try {
    return await timed(c, () => rawIo(fh.fd, c.op, bufs, c.blockSize, blocks, order));
  } finally {
    await fh.close();
  }
}

/**
 * A store that answers every call on the event loop's next turn (a pool call's answer
 * also comes on a later turn) and moves no byte (see --null-store).
 */
function nullStore(path: string): BackingStore {
  const later = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  return { path, kind: 'file', sizeBytes: statSync(path).size, readOnly: false, readv: later, writev: later, flush: later, close: async () => {} };
}

/** Through the guest: block-io's loop on the guest's disk. */
async function guest(dev: BlockDevice, k: Kernel, c: Case): Promise<Run> {
  const blocks = c.bytes / c.blockSize;
  // Random: a random permutation of blocks over the whole disk, the first `blocks` of them.
  if (c.random) {
    const order = shuffled(FILE / c.blockSize, 7).subarray(0, blocks);
    const data = new Uint8Array(c.blockSize).fill(0x5a);
    let next = 0;
    return timed(c, async () => {
      await Promise.all(
        Array.from({ length: c.qd }, async () => {
          while (next < blocks) {
            const at = order[next++]! * c.blockSize;
            if (c.op === 'read') await dev.read(at, c.blockSize, null);
            else await dev.write(at, data);
          }
        }),
      );
    });
  }
  return timed(c, async () => (await runBlockIo(dev, { op: c.op, offset: 0, length: c.bytes, blockSize: c.blockSize, queueDepth: c.qd, pattern: 'zero', seed: 1, flush: false }, k.clock)).summary.seconds);
}

async function main(): Promise<void> {
  // Two 512 MiB images: gone however the run ends (an exception included), not left to fill the disk.
  const dir = scratchDir('xe-bench-blk-');
  const image = join(dir, 'disk.img');
  const image2 = join(dir, 'orig.img');
  writeFileSync(image, Buffer.alloc(FILE, 1));
  writeFileSync(image2, Buffer.alloc(FILE, 1));
  const m = await Machine.boot({
    clock: new RealClock(),
    host: { pcpus: 4, totalMemoryMiB: 16384, hostname: 'bench' },
    dom0MemoryMiB: 1024,
    state: memoryState(),
    consoleDir: join(dir, 'console'),
    daemonPath: 'xenemu',
    log: () => {},
  });
  const xs = new XsClient(engineTransport(m.xs));
  const { domid } = await m.toolstack.create(parseDomainConfigText('name: bench\nmemory: 512\n', 'yaml', 'bench.yaml').config);
  for (let i = 0; i < 100_000 && m.toolstack.kernel(domid)?.state !== 'running'; i++) await new Promise((r) => setImmediate(r));
  const k = m.toolstack.kernel(domid)!;
  const attach = async (spec: VbdSpec, name: string): Promise<BlockDevice> => {
    await addVbd(xs, spec);
    await runHotplug(xs, spec);
    for (let i = 0; i < 1_000_000 && k.blocks.find(name) === undefined; i++) await new Promise((r) => setImmediate(r));
    return k.blocks.find(name)!;
  };
  if (values['pool-only']) m.dom0.blkback.tunables = { ...m.dom0.blkback.tunables, inlineIo: false };
  const xvda = await attach({ frontDomid: domid, backDomid: 0, vdev: 51712, target: image }, 'xvda');
  const NULL = values['null-store'];
  // The third side: the original protocol on its own image, or (--null-store) the negotiated ring over a null store.
  if (NULL) m.dom0.blkback.openStore = async (path) => nullStore(path);
  else m.dom0.blkback.tunables = { ...m.dom0.blkback.tunables, maxRingPageOrder: 0, maxIndirectSegments: 0, publish: 'original', persistent: false };
  const xvdb = await attach({ frontDomid: domid, backDomid: 0, vdev: 51728, target: image2 }, 'xvdb');
  if (xvda === undefined || xvdb === undefined) throw new Error(`disks: ${k.log.lines.slice(-12).join('\n')}\n${m.dom0.log.lines.slice(-6).join('\n')}`);

  const rows: Array<Array<string | number>> = [];
  for (const c of cases.filter((x) => values.only === undefined || `${x.name} qd${x.qd}`.includes(values.only))) {
    const r: Run[] = [];
    const g: Run[] = [];
    const o: Run[] = [];
    // Raw's buffers, one per request in flight, made once per case: block-io keeps the
    // guest's from round to round (freed direct buffers are handed out again), and raw
    // should not be paying for allocations the path does not make. Page-aligned, as
    // the guest's frames are and as fio's are: the kernel's copies into malloc'd memory
    // (16-byte aligned) cost ~1.7 times as much (bench/page-copy.ts), which made raw's
    // speed a matter of where malloc put its buffers.
    const rawMem = values['path-only'] ? null : pageAlignedBuffer(Math.ceil((c.qd * c.blockSize) / WASM_PAGE_SIZE) * WASM_PAGE_SIZE);
    const rawBufs = rawMem === null ? [] : Array.from({ length: c.qd }, (_, i) => Buffer.from(rawMem, i * c.blockSize, c.blockSize).fill(0x5a));
    for (let round = -WARMUP; round < ROUNDS; round++) {
      // Warm-up rounds (round < 0) run the same alternation, and go uncounted.
      const counted = round >= 0;
      if (!values['path-only']) {
        const rawRun = await raw(image, c, rawBufs);
        if (counted) r.push(rawRun);
      }
      const pathRun = await guest(values['path-only'] && NULL ? xvdb : xvda, k, c);
      if (counted) g.push(pathRun);
      if (!values['path-only']) {
        const origRun = await guest(xvdb, k, c);
        if (counted) o.push(origRun);
      }
    }
    if (values['path-only']) {
      const at = (f: (x: Run) => number) => median(g.map(f)).toFixed(0);
      rows.push([c.name, c.qd, '-', at((x) => x.mibPerSec), '-', '-', '-', '-', `-/${at((x) => x.cpuUsPerMiB)}/-`, `-/${at((x) => x.mainUsPerMiB)}/-`]);
      continue;
    }
    const speed = (runs: Run[]) => median(runs.map((x) => x.mibPerSec));
    const cpuOf = (runs: Run[]) => median(runs.map((x) => x.cpuUsPerMiB));
    const cpu = (runs: Run[]) => cpuOf(runs).toFixed(0);
    const main = (runs: Run[]) => median(runs.map((x) => x.mainUsPerMiB)).toFixed(0);
    const mr = speed(r);
    const mg = speed(g);
    const mo = speed(o);
    const iops = (mib: number) => Math.round((mib * MiB) / c.blockSize);
    if (NULL) {
      const cr = cpuOf(r);
      const co = cpuOf(o);
      // A ceiling only where raw keeps (nearly) every CPU busy: elsewhere raw waits on something else (a chain of calls at queue depth 1, a write's inode lock).
      const busy = (cr * mr) / 1e6 / availableParallelism();
      rows.push([c.name, c.qd, mr.toFixed(0), mg.toFixed(0), `${((mg / mr) * 100).toFixed(0)}%`, mo.toFixed(0), busy >= 0.9 ? `${((cr / (cr + co)) * 100).toFixed(0)}%` : '-', `${cpu(r)}/${cpu(g)}/${cpu(o)}`, `${main(r)}/${main(g)}/${main(o)}`]);
      console.error(`${c.name} qd${c.qd}: raw ${mr.toFixed(0)} MiB/s, xenemu ${mg.toFixed(0)}, protocol alone ${mo.toFixed(0)}`);
      continue;
    }
    rows.push([c.name, c.qd, mr.toFixed(0), mg.toFixed(0), `${((mg / mr) * 100).toFixed(0)}%`, mo.toFixed(0), `${((mo / mr) * 100).toFixed(0)}%`, c.blockSize === 4096 ? `${iops(mr)}/${iops(mg)}/${iops(mo)}` : '-', `${cpu(r)}/${cpu(g)}/${cpu(o)}`, `${main(r)}/${main(g)}/${main(o)}`]);
    console.error(`${c.name} qd${c.qd}: raw ${mr.toFixed(0)} MiB/s, xenemu ${mg.toFixed(0)}, original ${mo.toFixed(0)}`);
  }
  const negotiated = k.blkfront.limits();
  const sides = values['path-only']
    ? `of ${NULL ? 'the protocol (negotiated ring, null store)' : 'xenemu (negotiated)'} alone`
    : `alternating raw / xenemu (negotiated) / ${NULL ? 'the protocol alone (negotiated ring, null store)' : 'xenemu (original protocol)'}`;
  console.log(`blk: ${ROUNDS} rounds ${sides}, median, after ${WARMUP} uncounted; file ${FILE / MiB} MiB in the page cache`);
  console.log(`machine: ${machine()}`);
  console.log(`xenemu: ${SOURCES ? 'the sources under tsx (--sources)' : 'compiled (dist/)'}`);
  console.log(`blkback: ${values['pool-only'] ? 'every call on libuv\'s pool (--pool-only)' : 'a disk\'s lone call inline, the rest on libuv\'s pool'}`);
  for (const n of negotiated) console.log(`${n.name}: ${n.limits!.ringPages} ring pages, ${n.limits!.requests} requests, ${n.limits!.segments} segments, ${n.limits!.requestSize / 1024} KiB requests`);
  if (NULL && !values['path-only']) console.log(table(['case', 'qd', 'raw MiB/s', 'xenemu MiB/s', 'of raw', 'protocol MiB/s', 'ceiling', 'CPU µs/MiB raw/xenemu/protocol', 'main µs/MiB raw/xenemu/protocol'], rows));
  else console.log(table(['case', 'qd', 'raw MiB/s', 'xenemu MiB/s', 'of raw', 'original MiB/s', 'of raw', 'IOPS raw/xenemu/orig', 'CPU µs/MiB raw/xenemu/orig', 'main µs/MiB raw/xenemu/orig'], rows));
  xs.close();
  await m.close();
  for (const d of [xvda, xvdb]) k.blocks.remove(d.name);
  process.exit(0);
}

void main();
