import test from 'ava';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DomainImages } from '../../src/host/domain-images.js';
import { ByteSource } from '../../src/toolstack/migrate/byte-source.js';
import { readSaveStream } from '../../src/toolstack/migrate/stream-reader.js';
import { bootMachine, until, yamlConfig } from '../helpers/machine.js';

// The host's periodic checkpoints write a guest's file only when its image would differ
// from the one the file holds: a paused or idle guest costs a capture each round, not
// a file; anything done to it (a write to its memory, to its XenStore home, a pause)
// makes the next round write again, and what the file then holds is the change.

test('a checkpoint of a guest that did nothing since the last one is not written; one after a change is, with the change', async (t) => {
  const tm = await bootMachine();
  const dir = mkdtempSync(join(tmpdir(), 'xe-ck-'));
  t.teardown(async () => {
    await tm.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  const ts = tm.m.toolstack;
  const { domid } = await ts.create(yamlConfig('name: quiet\nmemory: 64\nvcpus: 1\n'));
  await until(() => tm.m.kernel(domid)?.state === 'running', 'the guest boots');
  const lines: string[] = [];
  const images = new DomainImages(dir, tm.m.hv, () => ts, tm.m.hv.clock, (l) => lines.push(l));
  const file = join(dir, `${domid}.xl`);
  const written = (): number => lines.filter((l) => l.startsWith(`domain ${domid} 'quiet' checkpointed`)).length;
  const inode = (): number => statSync(file).ino;

  ts.pause(domid);
  // The first rounds may see its XenStore ring settle (replies to what it had asked).
  await images.checkpointAll();
  await images.checkpointAll();
  const settled = written();
  t.true(settled >= 1);
  const first = inode();
  for (let i = 0; i < 3; i++) await images.checkpointAll();
  t.is(written(), settled, 'a paused guest nobody touched: its file stays');
  t.is(inode(), first, 'not even rewritten in place');

  await tm.xs.write(`/local/domain/${domid}/data/note`, 'changed');
  await images.checkpointAll();
  t.is(written(), settled + 1, 'a XenStore write under its home: written again');
  await images.checkpointAll();
  t.is(written(), settled + 1);

  const platform = tm.m.kernel(domid)!.hc.platform;
  const gfn = 100;
  platform.page(gfn).fill(0x5a);
  platform.stored(gfn);
  await images.checkpointAll();
  t.is(written(), settled + 2, 'a write to its memory: written again');
  const fh = await open(file, 'r');
  const { image } = await readSaveStream(ByteSource.fromFile(fh)).finally(() => fh.close());
  const at = image.hypervisor.memory.pfns.indexOf(gfn);
  t.true(at >= 0 && image.hypervisor.memory.pages[at]!.every((b) => b === 0x5a), 'the file holds the write');
  t.is(Buffer.from(image.xenstore.find((n) => n.path === 'data/note')?.value ?? []).toString(), 'changed');

  await ts.unpause(domid);
  await images.checkpointAll();
  t.is(written(), settled + 3, 'unpaused: its state moved');
});
