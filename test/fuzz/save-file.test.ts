/**
 * The save-file reader under arbitrary input: whatever is done to a valid file (bytes
 * overwritten, cut, inserted, removed) and however its bytes arrive in chunks, reading
 * it either succeeds or fails with a SaveFileError (never another exception), and it
 * always finishes, and the frames it reads pages into never take more host memory than
 * the domain's frame space; a valid file reads the same whatever its chunking, or the
 * sizes a file source's reads return.
 */
import test from 'ava';
import fc from 'fast-check';
import { watchReadMemories } from '../helpers/save-craft.js';
import { ByteSource } from '../../src/toolstack/migrate/byte-source.js';
import { SaveFileError } from '../../src/toolstack/migrate/errors.js';
import { readSaveStream, type ReadSaveStream } from '../../src/toolstack/migrate/stream-reader.js';
import { writeSaveStream } from '../../src/toolstack/migrate/stream-writer.js';
import { imageOf } from '../helpers/domain-image.js';
import { bootMachine, until, yamlConfig } from '../helpers/machine.js';

const SEED = 0x5a7e;
/** A read of a ~50 KiB stream takes milliseconds; one that takes this long has hung. */
const HANG_MS = 10_000;

const files: Buffer[] = [];
/** The guests' frame space (32 MiB): what a read is bounded by, as a restore of them would be. */
const BOUND = { maxPages: 8192, hostBytes: 32 << 20 };

/** The memories the reader reads pages into, for what they take. */
const readInto = watchReadMemories();

test.before(async () => {
  const tm = await bootMachine();
  for (const type of ['pv', 'hvm']) {
    const r = await tm.m.toolstack.create(yamlConfig(`name: g${type}\ntype: ${type}\nmemory: 32\nvcpus: 2\n`));
    await until(() => tm.m.kernel(r.domid)?.state === 'running', 'the guest boots');
    const chunks: Uint8Array[] = [];
    await writeSaveStream((pieces) => void chunks.push(...pieces), await imageOf(tm, r.domid), '{"c_info":{}}');
    files.push(Buffer.concat(chunks));
  }
  await tm.dispose();
});

/** The bytes in chunks cut at `cuts`, each a fresh copy. */
async function* chunked(bytes: Buffer, cuts: number[]): AsyncGenerator<Uint8Array> {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    yield Buffer.from(bytes.subarray(prev, p));
    prev = p;
  }
}

/**
 * The bytes as a file read at will: each read gives at most the next cut's worth (at
 * least 1 byte); `vector`, with a readv too, which fills its buffers in order as far
 * as the cut allows.
 */
function pulled(bytes: Buffer, cuts: number[], vector: boolean): ByteSource {
  let at = 0;
  let i = 0;
  const most = (want: number): number => Math.min(want, cuts.length === 0 ? want : 1 + (cuts[i++ % cuts.length]! % 70_000), bytes.length - at);
  const read = async (into: Uint8Array, offset: number, want: number): Promise<number> => {
    const n = most(want);
    bytes.copy(into, offset, at, at + n);
    at += n;
    return n;
  };
  const readv = async (into: readonly Uint8Array[]): Promise<number> => {
    let n = most(into.reduce((sum, v) => sum + v.length, 0));
    let done = 0;
    for (const v of into) {
      const count = Math.min(n, v.length);
      bytes.copy(v, 0, at, at + count);
      at += count;
      done += count;
      n -= count;
    }
    return done;
  };
  return new ByteSource(read, vector ? readv : null);
}

type Way = 'chunks' | 'read' | 'readv';
const source = (bytes: Buffer, cuts: number[], way: Way): ByteSource => (way === 'chunks' ? new ByteSource(chunked(bytes, cuts)) : pulled(bytes, cuts, way === 'readv'));
const wayArb = fc.constantFrom<Way>('chunks', 'read', 'readv');

/** What a read gave, without the frames the pages wait in (their unwritten bytes are anything). */
function readBack({ image, ...rest }: ReadSaveStream): unknown {
  const { frames: _frames, ...memory } = image.hypervisor.memory;
  return { ...rest, image: { ...image, hypervisor: { ...image.hypervisor, memory } } };
}

async function outcome(bytes: Buffer, cuts: number[], way: Way = 'chunks'): Promise<'read' | 'refused'> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the reader hung on ${bytes.length} bytes`)), HANG_MS);
  });
  readInto.length = 0;
  let result: 'read' | 'refused';
  try {
    await Promise.race([readSaveStream(source(bytes, cuts, way), { trailing: 'refuse', bound: BOUND }), hang]);
    result = 'read';
  } catch (err) {
    if (!(err instanceof SaveFileError)) throw err;
    result = 'refused';
  } finally {
    clearTimeout(timer);
  }
  const taken = readInto.reduce((sum, m) => sum + m.hostBytes, 0);
  if (taken > BOUND.hostBytes) throw new Error(`the read took ${taken} bytes of host memory`);
  return result;
}

type Edit = { kind: 'set'; at: number; bytes: Uint8Array } | { kind: 'cut'; at: number } | { kind: 'insert'; at: number; bytes: Uint8Array } | { kind: 'remove'; at: number; count: number } | { kind: 'u32'; at: number; value: number };

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('remove' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 64 }) }),
  // A field-sized write on a 4-byte boundary: where record types, lengths and counts live.
  fc.record({ kind: fc.constant('u32' as const), at: fc.nat(), value: fc.oneof(fc.integer({ min: 0, max: 0x20 }), fc.constantFrom(0x7fffffff, 0x80000000, 0xffffffff), fc.nat()) }),
);

function apply(file: Buffer, edits: Edit[]): Buffer {
  let b = Buffer.from(file);
  for (const e of edits) {
    const at = e.at % (b.length + 1);
    if (e.kind === 'set') b.set(e.bytes.subarray(0, b.length - at), at);
    else if (e.kind === 'cut') b = b.subarray(0, at);
    else if (e.kind === 'insert') b = Buffer.concat([b.subarray(0, at), e.bytes, b.subarray(at)]);
    else if (e.kind === 'remove') b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.count)]);
    else if (b.length >= 4) b.writeUInt32LE(e.value >>> 0, Math.min(at - (at % 4), b.length - 4));
  }
  return b;
}

test('an edited save file is read or refused with a SaveFileError, never anything else, and never hangs', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: 1 }), fc.array(editArb, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 8 }), wayArb, async (which, edits, cuts, way) => {
      await outcome(apply(files[which]!, edits), cuts, way);
    }),
    { seed: SEED, numRuns: 400 },
  );
  t.pass();
});

test('arbitrary bytes, with or without a valid start, are refused with a SaveFileError', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: 1 }), fc.nat(), fc.uint8Array({ maxLength: 4096 }), async (which, keep, tail) => {
      const file = files[which]!;
      const head = file.subarray(0, keep % (file.length + 1));
      const outcomeIs = await outcome(Buffer.concat([head, tail]), []);
      if (head.length < file.length) t.is(outcomeIs, 'refused');
    }),
    { seed: SEED, numRuns: 300 },
  );
});

test('a valid file reads the same however it is chunked or read', async (t) => {
  const whole = (await Promise.all(files.map((f) => readSaveStream(ByteSource.of(f))))).map(readBack);
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: 1 }), fc.array(fc.nat(), { maxLength: 64 }), wayArb, async (which, cuts, way) => {
      const got = readBack(await readSaveStream(source(files[which]!, cuts, way)));
      t.deepEqual(got, whole[which]);
    }),
    { seed: SEED, numRuns: 50 },
  );
});
