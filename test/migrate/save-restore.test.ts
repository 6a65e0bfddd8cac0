import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import type { SavedMemory } from '../../src/hypervisor/memory.js';
import { ByteSource } from '../../src/toolstack/migrate/byte-source.js';
import { readSaveStream } from '../../src/toolstack/migrate/stream-reader.js';
import { writableSink } from '../../src/toolstack/migrate/sinks.js';
import { writeSaveStream } from '../../src/toolstack/migrate/stream-writer.js';
import { pattern } from '../kernel/blk/helpers.js';
import { bootMachine, until, yamlConfig, type TestMachine } from '../helpers/machine.js';
import type { Toolstack } from '../../src/toolstack/toolstack.js';

// The whole path of xl save and xl restore in-process: the toolstack suspends the guest,
// the codec writes its image to a file and reads it back, the toolstack restores it in
// a new domain; the guest's memory, XenStore home and disk are as they were.

const dir = mkdtempSync(join(tmpdir(), 'xe-sr-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

function hashes(m: SavedMemory, skip: ReadonlySet<number>): string {
  const h = createHash('sha256');
  m.pfns.forEach((pfn, i) => {
    if (!skip.has(pfn)) h.update(`${pfn}:`).update(m.pages[i]!);
  });
  return h.digest('hex');
}

test('save to a file then restore: same memory (hash), same XenStore home, the disk back and usable', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const img = join(dir, 'disk.img');
  writeFileSync(img, Buffer.alloc(4 << 20));
  const ts = tm.m.toolstack;
  const r = await ts.create(yamlConfig(`name: sr\nmemory: 64\nvcpus: 2\ndisk:\n  - "vdev=xvda, access=rw, target=${img}"\n`));
  const kernel = tm.m.kernel(r.domid)!;
  await until(() => kernel.blocks?.find('xvda') !== undefined, 'xvda in the guest');
  kernel.shell.input(Buffer.from('memwrite 8M\r'));
  await kernel.blocks.find('xvda')!.write(0, pattern(8192, 3));
  await tm.xs.write(`/local/domain/${r.domid}/data/note`, 'kept');

  const image = await ts.suspendDomain(r.domid);
  const file = join(dir, 'sr.save');
  const out = createWriteStream(file);
  await writeSaveStream(writableSink(out), image, '{}');
  out.end();
  await finished(out);
  await ts.destroySaved(r.domid);

  const back = await readSaveStream(new ByteSource(createReadStream(file, { highWaterMark: 1 << 20 })));
  const newid = await ts.restoreDomain(back.image, { paused: true });
  // start_info (the top frame but two) is the one page the toolstack rewrites: new ports.
  const skip = new Set([64 * 256 - 3]);
  t.is(hashes(tm.m.hv.saveDomain(newid).memory, skip), hashes(image.hypervisor.memory, skip), 'the same memory');
  await ts.unpause(newid);
  const k2 = ts.kernel(newid)!;
  await until(() => k2.state === 'running' && k2.blocks?.find('xvda') !== undefined, 'the restored guest runs with xvda');
  t.deepEqual(new Uint8Array(await k2.blocks.find('xvda')!.read(0, 8192)), pattern(8192, 3), 'the disk is back');
  t.is((await tm.xs.read(`/local/domain/${newid}/data/note`)).toString(), 'kept');
});

test('a guest ballooned down by 1 GiB saves and restores (the balloon\'s quarter million frames come back)', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const ts = tm.m.toolstack;
  const r = await ts.create(yamlConfig('name: small\nmemory: 2048\nvcpus: 1\n'));
  await until(() => tm.m.kernel(r.domid)?.state === 'running', 'the guest boots');
  await ts.memSet(r.domid, 1024 * 1024);
  await until(() => tm.m.kernel(r.domid)!.hc.currentPages() <= 262144 + 16, 'the balloon inflates', 100_000);
  const image = await ts.suspendDomain(r.domid);
  const chunks: Uint8Array[] = [];
  await writeSaveStream((pieces) => void chunks.push(...pieces), image, null);
  await ts.destroySaved(r.domid);
  const back = await readSaveStream(ByteSource.of(Buffer.concat(chunks)));
  const newid = await ts.restoreDomain(back.image);
  const k = ts.kernel(newid)!;
  await until(() => k.state === 'running', 'the restored guest runs');
  t.true(k.hc.currentPages() <= 262144 + 16, 'still ballooned down');
});

test('a file whose device-model state is well formed but wrong inside is refused by the restore, leaving nothing', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const ts = tm.m.toolstack;
  const r = await ts.create(yamlConfig('name: odd\nmemory: 64\nvcpus: 1\n'));
  await until(() => tm.m.kernel(r.domid)?.state === 'running', 'the guest boots');
  const image = await ts.suspendDomain(r.domid);
  await ts.destroySaved(r.domid);
  const domains = [...tm.m.hv.domains.keys()];
  // The reader checks the stream and the state's outline; the kernel's objects are its loaders' to refuse.
  const broken = { ...image, kernel: { ...image.kernel, pages: { runs: [[5, 1]], freed: [] } } } as typeof image;
  const chunks: Uint8Array[] = [];
  await writeSaveStream((pieces) => void chunks.push(...pieces), broken, null);
  const back = await readSaveStream(ByteSource.of(Buffer.concat(chunks)));
  await t.throwsAsync(() => ts.restoreDomain(back.image), { message: /cannot restore domain 'odd'/ });
  t.deepEqual([...tm.m.hv.domains.keys()], domains, 'no domain left behind');
  t.is(ts.record(Math.max(...domains) + 1), undefined);
});

/** A machine with a 64 MiB guest that wrote 4 MiB of its memory (memwrite at its console). */
async function guestThatWrote(t: ExecutionContext): Promise<{ tm: TestMachine; ts: Toolstack; r: { domid: number } }> {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const ts = tm.m.toolstack;
  const r = await ts.create(yamlConfig('name: inplace\nmemory: 64\nvcpus: 1\n'));
  const kernel = tm.m.kernel(r.domid)!;
  await until(() => kernel.state === 'running', 'the guest boots');
  kernel.shell.input(Buffer.from('memwrite 4M\r'));
  await until(() => kernel.shell.status === 0, 'memwrite');
  return { tm, ts, r };
}

test('an image with the frames in place (what save and migrate write out before the domain goes) gives the same file as one with copies', async (t) => {
  const { tm, ts, r } = await guestThatWrote(t);
  const write = async (image: Parameters<typeof writeSaveStream>[1]): Promise<Buffer> => {
    const chunks: Uint8Array[] = [];
    await writeSaveStream((pieces) => void chunks.push(...pieces.map((p) => Uint8Array.from(p))), image, null);
    return Buffer.concat(chunks);
  };
  const inPlace = await ts.suspendDomain(r.domid, { pagesInPlace: true });
  // Nothing of the suspended domain runs: a copy taken now is the same snapshot.
  const copied = { ...inPlace, hypervisor: tm.m.hv.saveDomain(r.domid) };
  const frame = tm.m.hv.get(r.domid).memory.page(inPlace.hypervisor.memory.pfns[0]!);
  t.is(inPlace.hypervisor.memory.pages[0]!.buffer, frame.buffer, 'the frame itself, not a copy');
  t.not(copied.hypervisor.memory.pages[0]!.buffer, frame.buffer);
  t.true(inPlace.hypervisor.memory.pfns.length > 1024, 'memwrite 4M touched its pages');
  const none = new Set<number>();
  t.is(hashes(inPlace.hypervisor.memory, none), hashes(copied.hypervisor.memory, none), 'the same pages');
  // The files differ only in the domain's age (taken a moment apart), not in length.
  t.is((await write(inPlace)).length, (await write(copied)).length);
  await ts.resumeDomain(r.domid);
});

test('a restore reads each page once, straight into the new domain\'s frames, and an image goes to one domain only', async (t) => {
  const { tm, ts, r } = await guestThatWrote(t);
  const image = await ts.suspendDomain(r.domid);
  const file = join(dir, 'inplace.save');
  const out = createWriteStream(file);
  await writeSaveStream(writableSink(out), image, '{}');
  out.end();
  await finished(out);
  await ts.destroySaved(r.domid);

  const fh = await open(file, 'r');
  const back = await readSaveStream(ByteSource.fromFile(fh)).finally(() => fh.close());
  const saved = back.image.hypervisor.memory;
  t.true(saved.pfns.length > 1024, 'a few MiB of pages');
  const newid = await ts.restoreDomain(back.image, { paused: true });
  const memory = tm.m.hv.get(newid).memory;
  const notOwn = saved.pfns.filter((pfn, i) => memory.backedPage(pfn) !== saved.pages[i]);
  t.deepEqual(notOwn, [], 'every page the file held is a frame of the new domain, not a copy of one');
  const skip = new Set([64 * 256 - 3]);
  t.is(hashes(tm.m.hv.saveDomain(newid).memory, skip), hashes(image.hypervisor.memory, skip), 'the same memory');

  // Its frames are that domain's: after it is gone, the image cannot make another.
  await ts.destroy(newid);
  const domains = [...tm.m.hv.domains.keys()];
  await t.throwsAsync(() => ts.restoreDomain(back.image), { message: /cannot be loaded twice/ });
  t.deepEqual([...tm.m.hv.domains.keys()], domains, 'the second restore left nothing');
});
