import test from 'ava';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
  let writes = 0;
  const round = async (): Promise<void> => {
    writes += (await images.checkpointAll()).filter((d) => d === domid).length;
  };
  const written = (): number => writes;
  // A change reaches a paused guest in steps (a XenStore write's watch event lands in its
  // ring after the reply): rounds until one writes nothing, at most ten.
  const settle = async (): Promise<void> => {
    for (let i = 0, before = -1; i < 10 && before !== writes; i++) {
      before = writes;
      await round();
    }
  };
  const inode = (): number => statSync(file).ino;

  // Three rounds in a row write nothing, and the file is not even rewritten in place.
  const unchanged = async (what: string): Promise<void> => {
    const before = written();
    const first = inode();
    for (let i = 0; i < 3; i++) await round();
    t.is(written(), before, what);
    t.is(inode(), first, `${what}: not even rewritten in place`);
  };

  ts.pause(domid);
  // The first rounds may see its XenStore ring settle (replies to what it had asked).
  await settle();
  t.true(written() >= 1);
  await unchanged('a paused guest nobody touched: its file stays');

  let before = written();
  await tm.xs.write(`/local/domain/${domid}/data/note`, 'changed');
  await settle();
  t.true(written() > before, 'a XenStore write under its home: written again');
  await unchanged('and then not again');

  const platform = tm.m.kernel(domid)!.hc.platform;
  const gfn = 100;
  platform.page(gfn).fill(0x5a);
  platform.stored(gfn);
  before = written();
  await round();
  t.is(written(), before + 1, 'a write to its memory: written again');
  const fh = await open(file, 'r');
  const { image } = await readSaveStream(ByteSource.fromFile(fh)).finally(() => fh.close());
  const at = image.hypervisor.memory.pfns.indexOf(gfn);
  t.true(at >= 0 && image.hypervisor.memory.pages[at]!.every((b) => b === 0x5a), 'the file holds the write');
  t.is(Buffer.from(image.xenstore.find((n) => n.path === 'data/note')?.value ?? []).toString(), 'changed');

  await ts.unpause(domid);
  before = written();
  await round();
  t.is(written(), before + 1, 'unpaused: its state moved');
  t.deepEqual(
    lines.filter((l) => l.includes('checkpointed')).map((l) => l.replace(/\(.*\)/, '(...)')),
    [`domain ${domid} 'quiet' checkpointed (...); the next are logged only if one fails`],
    'daemon.log says the first checkpoint, not every one',
  );

  // A failing checkpoint is said once, and so is the first that works again.
  // (The images directory becomes a file.)
  rmSync(dir, { recursive: true, force: true });
  writeFileSync(dir, '');
  await tm.xs.write(`/local/domain/${domid}/data/note`, 'again');
  await round();
  await round();
  rmSync(dir);
  await round();
  await round();
  const said = lines.filter((l) => l.includes('checkpoint')).slice(1).map((l) => l.replace(/failed: .*$/, 'failed: ...').replace(/\(.*\)/, '(...)'));
  t.deepEqual(said, [`domain ${domid} 'quiet': checkpoint failed: ...`, `domain ${domid} 'quiet' checkpointed again (...); the next are logged only if one fails`]);
});
