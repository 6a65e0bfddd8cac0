import { createHash } from 'node:crypto';
import test from 'ava';
import { ByteSource } from '../../src/toolstack/migrate/byte-source.js';
import { SaveFileError } from '../../src/toolstack/migrate/errors.js';
import type { DomainImage } from '../../src/toolstack/migrate/image.js';
import { readSaveStream } from '../../src/toolstack/migrate/stream-reader.js';
import { SaveStreamWriter, writeSaveStream } from '../../src/toolstack/migrate/stream-writer.js';
import { imageOf } from '../helpers/domain-image.js';
import { bootMachine, until, yamlConfig, type TestMachine } from '../helpers/machine.js';

async function encode(image: DomainImage, config: string | null = '{"c_info":{}}'): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  await writeSaveStream((pieces) => void chunks.push(...pieces), image, config);
  return Buffer.concat(chunks);
}

const json = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

function memoryHash(image: DomainImage): string {
  const h = createHash('sha256');
  image.hypervisor.memory.pfns.forEach((pfn, i) => h.update(`${pfn}:`).update(image.hypervisor.memory.pages[i]!));
  return h.digest('hex');
}

async function booted(t: { teardown(fn: () => Promise<void>): void }, cfg: string): Promise<{ tm: TestMachine; domid: number }> {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const r = await tm.m.toolstack.create(yamlConfig(cfg));
  await until(() => tm.m.kernel(r.domid)?.state === 'running', 'the guest boots');
  return { tm, domid: r.domid };
}

for (const type of ['pv', 'pvh', 'hvm'] as const) {
  test(`${type}: a booted domain's image comes back from its save stream as it was`, async (t) => {
    const { tm, domid } = await booted(t, `name: g\ntype: ${type}\nmemory: 64\nvcpus: 2\n`);
    tm.m.kernel(domid)!.shell.input(Buffer.from('memwrite 1M\r'));
    const image = await imageOf(tm, domid);
    const bytes = await encode(image);
    const back = await readSaveStream(ByteSource.of(bytes));
    t.is(back.configJson, '{"c_info":{}}');
    t.is(memoryHash(back.image), memoryHash(image), 'the same memory');
    // The read pages wait in frames of their own for the domain that takes them (ReadFrames).
    const { frames, ...memory } = back.image.hypervisor.memory;
    t.truthy(frames);
    t.deepEqual({ ...back.image.hypervisor, memory }, image.hypervisor);
    t.deepEqual(back.image.xenstore, image.xenstore, 'the same XenStore home, values and permissions');
    t.deepEqual(back.image.kernel, json(image.kernel));
    t.deepEqual(back.image.record, json(image.record));
    t.deepEqual(await encode(back.image), bytes, 'and it writes the same bytes again');
  });
}

test('a 512 MiB guest that touched a few MiB makes a small file: only the pages that exist go', async (t) => {
  const { tm, domid } = await booted(t, 'name: big\ntype: pv\nmemory: 512\nvcpus: 1\n');
  tm.m.kernel(domid)!.shell.input(Buffer.from('memwrite 2M\r'));
  const image = await imageOf(tm, domid);
  const bytes = await encode(image);
  const pages = image.hypervisor.memory.pfns.length;
  t.true(pages < 4096, `${pages} pages exist`);
  t.true(bytes.length < pages * 4096 + 512 * 1024, `${bytes.length} bytes for ${pages} pages`);
});

test('pre-copy rounds: a later round replaces a page, an XTAB drops one, and the final records need no pages', async (t) => {
  const { tm, domid } = await booted(t, 'name: g\ntype: pv\nmemory: 64\nvcpus: 1\n');
  const image = await imageOf(tm, domid);
  const m = image.hypervisor.memory;
  const chunks: Uint8Array[] = [];
  const w = new SaveStreamWriter((pieces) => void chunks.push(...pieces));
  await w.xlHeader(null);
  await w.begin('pv', m.maxPages);
  const stale = new Uint8Array(4096).fill(0xee);
  await w.pages(m.pfns, () => stale);
  await w.pages([...m.pfns, 99_999 % m.maxPages], (pfn) => (pfn === 99_999 % m.maxPages ? null : m.pages[m.pfns.indexOf(pfn)]!));
  await w.finish(image, { pages: 'sent' });
  t.is(w.pagesSent, 2 * m.pfns.length);
  const back = await readSaveStream(ByteSource.of(Buffer.concat(chunks)));
  t.is(back.configJson, null);
  t.is(memoryHash(back.image), memoryHash(image));
  await t.throwsAsync(() => w.pages([1], () => stale), { message: /cannot come/ });
});

test('the stream reader leaves what follows END on a pipe for the caller', async (t) => {
  const { tm, domid } = await booted(t, 'name: g\ntype: pv\nmemory: 64\nvcpus: 1\n');
  const bytes = await encode(await imageOf(tm, domid));
  const src = ByteSource.of(Buffer.concat([bytes, Buffer.from('domain received, ready to unpause')]));
  await readSaveStream(src, { trailing: 'keep' });
  t.is(src.rest().toString(), 'domain received, ready to unpause');
  await t.throwsAsync(() => readSaveStream(ByteSource.of(Buffer.concat([bytes, Buffer.from('x')]))), { instanceOf: SaveFileError, message: /bytes follow the stream's END/ });
});
