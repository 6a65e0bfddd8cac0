/**
 * Save and restore speed: `node --import tsx bench/saverestore.ts [rounds]`.
 *
 * An in-process machine (no daemon, no CLI: their cost is cli-latency.ts's) with a
 * 512 MiB PV guest, idle, then after `memwrite 256M` in it. Each round:
 *  - save: Toolstack.suspendDomain, the codec writing the xl save file (a writev per
 *    record, no fsync, as xl does not), destroySaved;
 *  - restore: the codec reading the file (a read(2) per record), then
 *    Toolstack.restoreDomain, until the guest's kernel runs again;
 *  - cp: `cp FILE COPY` of the same file in the same round, the reference.
 * The file is in the page cache for both restore and cp. Target: save and restore
 * within 2x of cp.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ByteSource } from '../src/toolstack/migrate/byte-source.js';
import { readSaveStream } from '../src/toolstack/migrate/stream-reader.js';
import { fileSink } from '../src/toolstack/migrate/sinks.js';
import { writeSaveStream } from '../src/toolstack/migrate/stream-writer.js';
import { bootMachine, until, yamlConfig, type TestMachine } from '../test/helpers/machine.js';
import { machine } from './lib/stats.js';

const ROUNDS = Number(process.argv[2] ?? 5);
const run = promisify(execFile);

const now = (): number => performance.now();
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The parts of a save: the guest's suspend (the XenStore handshake and quiesce), writing the file, destroying the domain. */
interface SaveParts {
  suspend: number;
  write: number;
  destroy: number;
}

async function saveTo(tm: TestMachine, domid: number, file: string): Promise<SaveParts> {
  let t = now();
  const image = await tm.m.toolstack.suspendDomain(domid, { pagesInPlace: true });
  const suspend = now() - t;
  t = now();
  const fh = await open(file, 'w');
  await writeSaveStream(fileSink(fh), image, '{}');
  await fh.close();
  const write = now() - t;
  t = now();
  await tm.m.toolstack.destroySaved(domid);
  return { suspend, write, destroy: now() - t };
}

/** The parts of a restore: reading and checking the file, building the domain, the guest's resume. */
interface RestoreParts {
  read: number;
  build: number;
  resume: number;
}

async function restoreFrom(tm: TestMachine, file: string): Promise<{ domid: number; parts: RestoreParts }> {
  let t = now();
  const fh = await open(file, 'r');
  const { image } = await readSaveStream(ByteSource.fromFile(fh)).finally(() => fh.close());
  const read = now() - t;
  t = now();
  const domid = await tm.m.toolstack.restoreDomain(image);
  const build = now() - t;
  t = now();
  const k = tm.m.toolstack.kernel(domid)!;
  await until(() => k.state === 'running', 'the restored guest runs', 1_000_000);
  return { domid, parts: { read, build, resume: now() - t } };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'xe-bench-sr-'));
  const tm = await bootMachine();
  try {
    let domid = (await tm.m.toolstack.create(yamlConfig('name: big\ntype: pv\nmemory: 512\nvcpus: 2\n'))).domid;
    await until(() => tm.m.kernel(domid)?.state === 'running', 'the guest boots', 1_000_000);
    console.log(`machine: ${machine()}`);
    console.log(`save/restore of a 512 MiB PV guest, ${ROUNDS} rounds, medians in ms`);
    console.log('guest            file KiB   save  restore      cp   save/cp  restore/cp   (save = suspend + write + destroy; restore = read + build + resume)');
    for (const [what, write] of [
      ['idle', null],
      ['wrote 256 MiB', '256M'],
    ] as const) {
      if (write !== null) {
        const k = tm.m.kernel(domid)!;
        k.shell.input(Buffer.from(`memwrite ${write}\r`));
        const free = k.pageAllocator.free;
        await until(() => k.shell.status === 0 && k.pageAllocator.free >= free, 'memwrite', 1_000_000);
      }
      const save: number[] = [];
      const parts: SaveParts[] = [];
      const rparts: RestoreParts[] = [];
      const restore: number[] = [];
      const cp: number[] = [];
      let size = 0;
      for (let r = 0; r < ROUNDS; r++) {
        const file = join(dir, 'big.save');
        let t = now();
        parts.push(await saveTo(tm, domid, file));
        save.push(now() - t);
        size = statSync(file).size;
        t = now();
        await run('cp', [file, join(dir, 'copy')]);
        cp.push(now() - t);
        t = now();
        const restored = await restoreFrom(tm, file);
        domid = restored.domid;
        rparts.push(restored.parts);
        restore.push(now() - t);
      }
      const [s, rs, c] = [median(save), median(restore), median(cp)];
      console.log(
        `${what.padEnd(15)} ${(size / 1024).toFixed(0).padStart(9)} ${s.toFixed(0).padStart(6)} ${rs.toFixed(0).padStart(8)} ${c.toFixed(0).padStart(7)} ${(s / c).toFixed(2).padStart(9)} ${(rs / c).toFixed(2).padStart(11)}   (${(['suspend', 'write', 'destroy'] as const).map((k) => median(parts.map((x) => x[k])).toFixed(0)).join(' + ')}; ${(['read', 'build', 'resume'] as const).map((k) => median(rparts.map((x) => x[k])).toFixed(0)).join(' + ')})`,
      );
    }
  } finally {
    await tm.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
