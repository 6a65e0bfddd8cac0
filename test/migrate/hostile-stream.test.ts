/**
 * A save file or migration stream crafted to make the daemon allocate: pages of frames
 * past the domain's frame space, scattered pages (a 64 KiB chunk each), records that
 * claim more bytes than the stream has, state blobs that name their bytes many times.
 * Each is refused naming the record and offset, and the host memory the reader takes
 * stays within what the domain is declared to have.
 */
import test from 'ava';
import { PassThrough, Readable } from 'node:stream';
import { ByteSource } from '../../src/toolstack/migrate/byte-source.js';
import { streamChannel } from '../../src/toolstack/migrate/channel.js';
import { toolstackTarget } from '../../src/toolstack/migrate/ends.js';
import { SaveFileError } from '../../src/toolstack/migrate/errors.js';
import { migrateReceive } from '../../src/toolstack/migrate/receiver.js';
import { decodeStateBlob, encodeStateBlob } from '../../src/toolstack/migrate/state-blob.js';
import { LIBXC_REC } from '../../src/toolstack/migrate/stream-format.js';
import { readSaveStream, type ReadOptions } from '../../src/toolstack/migrate/stream-reader.js';
import { writeSaveStream } from '../../src/toolstack/migrate/stream-writer.js';
import { imageOf } from '../helpers/domain-image.js';
import { bootMachine, until, yamlConfig, type TestMachine } from '../helpers/machine.js';
import { inserted, pageData, recordOf, watchReadMemories, withConfigJson } from '../helpers/save-craft.js';

const MIB = 1 << 20;
/** The guest's memory and maxmem: 32 MiB, 8192 frames. */
const FRAMES = 8192;
const DECLARED = JSON.stringify({ c_info: { name: 'g' }, b_info: { max_memkb: FRAMES * 4, target_memkb: FRAMES * 4 } });

let tm: TestMachine;
let file: Buffer;

test.before(async () => {
  tm = await bootMachine();
  const r = await tm.m.toolstack.create(yamlConfig('name: g\ntype: pv\nmemory: 32\nvcpus: 1\n'));
  await until(() => tm.m.kernel(r.domid)?.state === 'running', 'the guest boots');
  const chunks: Uint8Array[] = [];
  await writeSaveStream((pieces) => void chunks.push(...pieces), await imageOf(tm, r.domid), DECLARED);
  file = Buffer.concat(chunks);
  await tm.m.toolstack.destroy(r.domid);
});

test.after.always(async () => {
  await tm?.dispose();
});

/** Every memory the reader reads pages into: the host memory a read took, whatever its outcome. */
const readInto = watchReadMemories();

/** The refusal of reading `bytes`, and the host memory the read's frames took. */
async function refused(src: ByteSource, options: ReadOptions): Promise<{ err: SaveFileError; hostBytes: number }> {
  readInto.length = 0;
  try {
    await readSaveStream(src, options);
  } catch (err) {
    if (!(err instanceof SaveFileError)) throw err;
    return { err, hostBytes: readInto[0]?.hostBytes ?? 0 };
  }
  throw new Error('the stream was read');
}

const firstPages = (b: Buffer) => recordOf(b, 'libxc', 1).offset;
const scattered = (count: number, stride: number, from = 0) => Array.from({ length: count }, (_, i) => from + i * stride);

test.serial('a pfn past the frame space the header declares is refused at its PAGE_DATA; the frames read stay within that space', async (t) => {
  // 4096 pages 16 frames apart: 16 MiB of data over 256 MiB of frames, in a 32 MiB domain.
  const at = firstPages(file);
  const crafted = inserted(file, at, pageData(scattered(4096, 16)));
  const { err, hostBytes } = await refused(ByteSource.of(crafted), { trailing: 'refuse', bound: { maxPages: FRAMES, hostBytes: 2 ** 40 } });
  t.is(err.message, `PAGE_DATA at offset ${at}: pfn 0x2000 (index 512) outside domain maximum (8192 frames)`);
  t.like(err, { record: 'PAGE_DATA', offset: at });
  t.log(`frames read took ${hostBytes / MIB} MiB of host memory for a ${(FRAMES * 4096) / MIB} MiB domain`);
  t.true(hostBytes <= FRAMES * 4096, `${hostBytes} bytes`);
});

test.serial('scattered pages take no more host memory than the host has free', async (t) => {
  const at = firstPages(file);
  const crafted = inserted(file, at, pageData(scattered(512, 16)));
  // Nothing declared: the frame space is any domain's, the host's free memory the limit.
  const { err, hostBytes } = await refused(ByteSource.of(crafted), { trailing: 'refuse', bound: { maxPages: 2 ** 31, hostBytes: 16 * MIB } });
  t.is(err.message, `PAGE_DATA at offset ${at}: pfn 0x1000 (index 256): the frames read take 17 MiB of host memory, more than the 16 MiB free`);
  t.true(hostBytes <= 16 * MIB + 64 * 1024, `${hostBytes} bytes`);
});

test.serial('a valid file reads within its bound and its frames take what the domain had', async (t) => {
  readInto.length = 0;
  const { image } = await readSaveStream(ByteSource.of(file), { trailing: 'refuse', bound: { maxPages: FRAMES, hostBytes: 32 * MIB } });
  t.is(image.hypervisor.memory.maxPages, FRAMES);
  t.log(`${image.hypervisor.memory.pfns.length} pages read, ${readInto[0]!.hostBytes / 1024} KiB of host memory`);
  t.true(readInto[0]!.hostBytes <= 16 * image.hypervisor.memory.pfns.length * 4096);
});

test.serial('a PAGE_DATA record cut short has backed at most a batch of its frames ahead of their bytes', async (t) => {
  // 4096 pages claimed, the file ending after their pfns: 16 MiB of chunks before, 1024 pages' now.
  const at = firstPages(file);
  const record = pageData(scattered(4096, 1));
  const crafted = Buffer.concat([file.subarray(0, at), record.subarray(0, 16 + 8 * 4096 + 100)]);
  const { err, hostBytes } = await refused(ByteSource.of(crafted), { trailing: 'refuse', bound: { maxPages: FRAMES, hostBytes: 2 ** 40 } });
  t.regex(err.message, /^truncated: the PAGE_DATA record at offset \d+ needs \d+ bytes/);
  t.true(hostBytes <= 1024 * 4096, `${hostBytes} bytes`);
});

test('a record longer than libxc\'s REC_LENGTH_MAX is refused before its body, libxl\'s and libxc\'s', async (t) => {
  for (const [layer, type, name] of [
    ['libxl', 3, 'EMULATOR_CONTEXT'],
    ['libxc', 8, 'X86_TSC_INFO'],
  ] as const) {
    const r = recordOf(file, layer, type);
    const crafted = Buffer.from(file);
    crafted.writeUInt32LE(0x10000000, r.offset + 4);
    const { err } = await refused(ByteSource.of(crafted), { trailing: 'refuse' });
    t.is(err.message, `${name} at offset ${r.offset}: length 0x10000000 exceeds max (0x8000000)`);
  }
});

test('a record claiming 127 MiB in a short file is read in pieces: the source is never asked to fill more than 8 MiB', async (t) => {
  const r = recordOf(file, 'libxl', 3);
  const crafted = Buffer.from(file.subarray(0, r.offset + 4096));
  crafted.writeUInt32LE(127 * MIB, r.offset + 4);
  let at = 0;
  let largest = 0;
  const pull = async (into: Buffer, offset: number, want: number): Promise<number> => {
    largest = Math.max(largest, into.length);
    const n = Math.min(want, crafted.length - at);
    crafted.copy(into, offset, at, at + n);
    at += n;
    return n;
  };
  const { err } = await refused(new ByteSource(pull), { trailing: 'refuse' });
  t.regex(err.message, /^truncated: the EMULATOR_CONTEXT record at offset \d+ needs 133169152 bytes/);
  t.true(largest <= 8 * MIB, `a ${largest}-byte buffer`);
});

test('a state blob naming its binary bytes more than once is refused, not decoded into copies', (t) => {
  const binary = Buffer.alloc(MIB);
  const json = Buffer.from(JSON.stringify(Array.from({ length: 64 }, () => ({ $u8: [0, MIB] }))));
  const head = Buffer.alloc(8);
  head.writeUInt32LE(json.length, 0);
  head.writeUInt32LE(1, 4);
  const blob = Buffer.concat([head, json, Buffer.alloc(((json.length + 7) & ~7) - json.length), binary]);
  const err = t.throws(() => decodeStateBlob(blob, { record: 'EMULATOR_CONTEXT', offset: 99 }), { instanceOf: SaveFileError });
  t.is(err.message, 'EMULATOR_CONTEXT record at offset 99: the binary references name 2097152 bytes, more than the 1048576-byte binary part holds: they overlap');
});

/** A migration stream from a hostile sender, into this host's receiver. */
async function receive(bytes: Buffer): Promise<{ result: PromiseSettledResult<unknown>; lines: string[] }> {
  const lines: string[] = [];
  const ch = streamChannel(Readable.from([bytes]), new PassThrough());
  const [result] = await Promise.allSettled([migrateReceive(toolstackTarget(tm.m.toolstack), ch, { paused: false }, (l) => lines.push(l))]);
  return { result, lines };
}

test.serial('the migration receiver refuses a domain larger than the host has free before any page, and pages past its frame space', async (t) => {
  const before = [...tm.m.hv.domains.keys()];
  const free = tm.m.hv.freeKiB;
  const huge = withConfigJson(file, JSON.stringify({ c_info: { name: 'g' }, b_info: { max_memkb: free * 2, target_memkb: free * 2 } }));
  // Cut after the libxl header: a refusal for the memory, not the cut, came before any page.
  const big = await receive(huge.subarray(0, 48 + huge.readUInt32LE(44) + 16));
  t.is(big.result.status, 'rejected');
  t.true(big.lines.includes(`migration target: failed to free memory for the domain: ${Math.ceil((free * 2) / 1024)} MiB asked, ${Math.floor(free / 1024)} MiB free`), big.lines.join('\n'));

  const at = firstPages(file);
  const past = await receive(inserted(file, at, pageData([FRAMES + 5])));
  t.is(past.result.status, 'rejected');
  t.true(past.lines.includes(`migration target: PAGE_DATA at offset ${at}: pfn 0x2005 (index 0) outside domain maximum (8192 frames)`), past.lines.join('\n'));
  t.deepEqual([...tm.m.hv.domains.keys()], before, 'no domain was created');
});

test('vCPUs past the most a domain may have are refused at their record', async (t) => {
  // The guest's vCPU 0 record, as vCPUs 0..128.
  const r = recordOf(file, 'libxc', LIBXC_REC.X86_PV_VCPU_BASIC);
  const saved = decodeStateBlob(file.subarray(r.offset + 16, r.offset + 8 + r.length), { record: 'X86_PV_VCPU_BASIC', offset: r.offset }) as { id: number };
  const vcpu = (id: number): Buffer => {
    const blob = encodeStateBlob({ ...saved, id });
    const rec = Buffer.alloc(16 + ((blob.length + 7) & ~7));
    rec.writeUInt32LE(LIBXC_REC.X86_PV_VCPU_BASIC, 0);
    rec.writeUInt32LE(8 + blob.length, 4);
    rec.writeUInt32LE(id, 8);
    blob.copy(rec, 16);
    return rec;
  };
  const many = Array.from({ length: 129 }, (_, id) => vcpu(id));
  const crafted = Buffer.concat([file.subarray(0, r.offset), ...many, file.subarray(r.offset + 8 + ((r.length + 7) & ~7))]);
  const at = r.offset + many.slice(0, 128).reduce((sum, b) => sum + b.length, 0);
  const { err } = await refused(ByteSource.of(crafted), { trailing: 'refuse' });
  t.is(err.message, `X86_PV_VCPU_BASIC at offset ${at}: record vcpu_id (128) exceeds domain max (127)`);
});

test.serial('an image whose XenStore home holds more nodes than a domain may own is refused, and nothing is left', async (t) => {
  const before = [...tm.m.hv.domains.keys()];
  const { image } = await readSaveStream(ByteSource.of(file));
  const many = Array.from({ length: 1001 }, (_, i) => ({ path: `data/n${i}`, value: new Uint8Array(8), perms: [`n${image.record.domid}`] }));
  await t.throwsAsync(tm.m.toolstack.restoreDomain({ ...image, xenstore: [...image.xenstore, ...many] }), {
    message: /the image's XenStore home has \d+ nodes, more than the 1000 a domain may own \(xenstored's nodes quota\)/,
  });
  t.deepEqual([...tm.m.hv.domains.keys()], before);
  // Within the quota it is restored.
  const { image: fits } = await readSaveStream(ByteSource.of(file));
  const domid = await tm.m.toolstack.restoreDomain({ ...fits, xenstore: [...fits.xenstore, ...many.slice(0, 100)] }, { paused: true });
  t.is((await tm.xs.read(`/local/domain/${domid}/data/n99`)).length, 8);
  await tm.m.toolstack.destroy(domid);
});

test('a state blob of more JSON than any state holds is refused before it is parsed', (t) => {
  const json = Buffer.from(`${' '.repeat(9 * MIB - 1)}0`);
  const head = Buffer.alloc(8);
  head.writeUInt32LE(json.length, 0);
  head.writeUInt32LE(1, 4);
  const err = t.throws(() => decodeStateBlob(Buffer.concat([head, json]), { record: 'HVM_CONTEXT', offset: 7 }), { instanceOf: SaveFileError });
  t.is(err.message, `HVM_CONTEXT record at offset 7: the state's JSON is ${9 * MIB} bytes, more than the ${8 * MIB} any state of xenemu's holds`);
});
