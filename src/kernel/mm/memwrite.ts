/**
 * `memwrite`: a guest memory workload at the console, what the save/restore benchmark
 * and live migration's pre-copy need (a guest that has touched N MiB, and one that
 * keeps dirtying it). Like a user process faulting in an anonymous mapping and writing
 * it, it takes SIZE worth of frames from the kernel's page allocator, writes a pattern
 * into every byte, and gives them back when it is done: the frames stay populated and
 * written (Xen does not scrub a page the guest frees to its own allocator), so a save
 * carries them.
 *
 *     memwrite SIZE           write SIZE once ("256M", "2M", "4096K", "1G", bytes)
 *     memwrite --loop SIZE    rewrite it pass after pass until Ctrl-C
 *
 * Each pass writes a different byte per page ((gfn * 31 + pass) | 1, never zero), so a
 * page rewritten in pass n+1 differs from pass n and a dirty-page tracker sees it
 * change. A loop yields to the event loop every BATCH pages: the daemon (and the
 * migration sending rounds) keeps running while the guest dirties memory.
 */

import type { Shell, ShellIO } from '../console/shell.js';

/** What memwrite uses of the kernel: its page allocator and its mapping of a frame. */
export interface MemwriteHost {
  alloc(): number;
  free(gfn: number): void;
  /** Frames free now (checked first, so a SIZE too large fails before taking anything). */
  freePages(): number;
  page(gfn: number): Uint8Array;
  /** The frame was written (log-dirty: a migration sends it again). */
  stored(gfn: number): void;
  /**
   * Resolves when the guest's vCPUs run again (at once if they do): true, or false when
   * they never will (the kernel stopped). A suspended guest runs nothing, so a program
   * in it must not write its memory while a migration takes the last copy.
   */
  scheduled(): Promise<boolean>;
}

const PAGE = 4096;
/** Pages written between yields in --loop mode (4 MiB). */
const BATCH = 1024;

const UNITS: Readonly<Record<string, number>> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** SIZE as bytes: digits and an optional K, M or G (binary, as dd and head take them), iB/B allowed; null if not one. */
export function parseMemSize(text: string): number | null {
  const m = /^(\d+)([KMG]?)(i?B)?$/i.exec(text);
  if (m === null) return null;
  const bytes = Number(m[1]) * UNITS[m[2]!.toUpperCase()]!;
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : null;
}

/** The byte every byte of frame `gfn` holds after pass `pass`. */
export function memwritePattern(gfn: number, pass: number): number {
  return ((gfn * 31 + pass) & 0xff) | 1;
}

function usage(io: ShellIO): number {
  io.println('usage: memwrite [--loop] SIZE   (SIZE: bytes, or with K, M or G)');
  return 2;
}

async function run(argv: readonly string[], host: MemwriteHost, io: ShellIO): Promise<number> {
  const args = argv.slice(1);
  const loop = args[0] === '--loop' || args[0] === '-l';
  if (loop) args.shift();
  if (args.length !== 1) return usage(io);
  const bytes = parseMemSize(args[0]!);
  if (bytes === null) {
    io.println(`memwrite: invalid size '${args[0]}'`);
    return usage(io);
  }
  const count = Math.ceil(bytes / PAGE);
  if (count > host.freePages()) {
    io.println(`memwrite: cannot allocate ${count} pages: ${host.freePages()} free`);
    return 1;
  }
  const gfns: number[] = [];
  try {
    for (let i = 0; i < count; i++) gfns.push(host.alloc());
    let pass = 0;
    const start = performance.now();
    do {
      for (let i = 0; i < gfns.length; i++) {
        const gfn = gfns[i]!;
        host.page(gfn).fill(memwritePattern(gfn, pass));
        host.stored(gfn);
        if (loop && (i + 1) % BATCH === 0) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (io.signal.aborted || !(await host.scheduled())) break;
        }
      }
      pass++;
      if (loop) await new Promise<void>((resolve) => setImmediate(resolve));
    } while (loop && !io.signal.aborted && (await host.scheduled()));
    const ms = performance.now() - start;
    io.println(`memwrite: ${pass} pass${pass === 1 ? '' : 'es'} over ${count} pages (${(count * PAGE) / 1024} KiB) in ${ms.toFixed(1)} ms`);
    return 0;
  } finally {
    for (const gfn of gfns) host.free(gfn);
  }
}

export function registerMemwrite(shell: Shell, host: MemwriteHost): void {
  shell.register({ name: 'memwrite', summary: 'write a pattern into SIZE of memory: memwrite [--loop] SIZE', run: (argv, io) => run(argv, host, io) });
}
