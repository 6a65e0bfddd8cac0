/**
 * libxc's verify pass (`xl migrate --debug`): after a VERIFY record the receiver
 * compares each page with the one it already has instead of taking it, and reports
 * those that differ, which is how a write the dirty log missed shows.
 */
import test from 'ava';
import { ByteSource } from '../../src/toolstack/migrate/byte-source.js';
import { readSaveStream, type VerifyReport } from '../../src/toolstack/migrate/stream-reader.js';
import { SaveStreamWriter } from '../../src/toolstack/migrate/stream-writer.js';
import { imageOf } from '../helpers/domain-image.js';
import { bootMachine, until, yamlConfig } from '../helpers/machine.js';

test('after VERIFY, pages are compared, not taken: a changed page and a never-sent non-zero one differ; zeros match an unsent frame', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const { domid } = await tm.m.toolstack.create(yamlConfig('name: v\ntype: pv\nmemory: 64\nvcpus: 1\n'));
  await until(() => tm.m.kernel(domid)?.state === 'running', 'the guest runs');
  const image = await imageOf(tm, domid);
  const m = image.hypervisor.memory;
  const chunks: Uint8Array[] = [];
  const w = new SaveStreamWriter((pieces) => void chunks.push(...pieces.map((p) => p.slice())));
  await w.xlHeader(null);
  await w.begin('pv', m.maxPages);
  await w.pages(m.pfns, (pfn) => m.pages[m.pfns.indexOf(pfn)]!);
  const [first, second] = m.pfns;
  const changed = new Uint8Array(4096).fill(0x42);
  const unsent = m.maxPages - 10;
  await w.verify();
  await w.pages([first!, second!, unsent, unsent - 1], (pfn) => (pfn === second ? changed : pfn === unsent ? new Uint8Array(4096) : pfn === unsent - 1 ? changed : m.pages[0]!));
  await w.finish(image, { pages: 'sent' });
  let report: VerifyReport | null = null;
  const back = await readSaveStream(ByteSource.of(Buffer.concat(chunks)), { trailing: 'refuse', onVerify: (r) => (report = r) });
  t.deepEqual(report, { compared: 4, differ: [second!, unsent - 1] });
  t.deepEqual(back.image.hypervisor.memory.pages[1], m.pages[1], 'the verify pass wrote nothing');
  t.false(back.image.hypervisor.memory.pfns.includes(unsent - 1));
});
