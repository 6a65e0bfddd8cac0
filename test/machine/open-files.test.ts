import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBackingStore } from '../../src/kernel/blk/backing-store.js';
import { bootMachine, until, yamlConfig, type TestMachine } from '../helpers/machine.js';
import { needing } from '../helpers/needing.js';
import { openFilesUnder, procFdMissing } from '../helpers/open-files.js';

const withProcFd = needing(procFdMissing);

/**
 * A machine that closes leaves no file open: a disk image a backend still held was
 * left to the GC, which closes a FileHandle with Node's DEP0137 warning ("Closing file
 * descriptor N on garbage collection"), or never, if nothing collects it.
 */
withProcFd('closing the machine closes what its domains held open: the disk images of dom0\'s backends, for running guests too', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xe-fd-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const images = ['a.img', 'b.img'].map((name) => {
    const p = join(dir, name);
    writeFileSync(p, Buffer.alloc(1 << 20));
    return p;
  });
  const tm = await bootMachine();
  let disposed = false;
  t.teardown(() => (disposed ? undefined : tm.dispose()));
  const r = await tm.m.toolstack.create(yamlConfig(`name: held\nmemory: 64\ndisk:\n  - "vdev=xvda, access=rw, target=${images[0]}"\n  - "vdev=xvdb, access=ro, target=${images[1]}"\n`));
  const k = tm.m.toolstack.kernel(r.domid)!;
  await until(() => k.blocks?.find('xvda') !== undefined && k.blocks.find('xvdb') !== undefined, 'both disks in the guest');
  t.deepEqual(openFilesUnder(dir).sort(), images, 'the backends hold the images while the guest runs');
  await tm.dispose();
  disposed = true;
  // A FileHandle's close(2) runs on libuv's pool: it is under way once close() returned.
  await until(() => openFilesUnder(dir).length === 0, 'the images closed once the machine closed');
  t.deepEqual(openFilesUnder(dir), []);
});

/**
 * An image whose open is still in flight when its backend stops: the open finishes
 * after nothing is left to close it (the kernel's stop runs outside the device's
 * order), so blkback must close it itself when it arrives.
 */
for (const [when, stop] of [
  ['its guest is destroyed', (tm: TestMachine, domid: number) => tm.m.toolstack.destroy(domid)],
  ['the machine closes', (tm: TestMachine) => tm.dispose()],
] as const) {
  withProcFd(`a disk image whose open is in flight when ${when} is closed once the open finishes`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'xe-fd-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const img = join(dir, 'slow.img');
    writeFileSync(img, Buffer.alloc(1 << 20));
    const tm = await bootMachine();
    let disposed = false;
    t.teardown(() => (disposed ? undefined : tm.dispose()));
    // dom0's blkback opens its stores through this: each open waits for the test to let it go.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let opening = 0;
    let opened = false;
    tm.m.dom0.blkback.openStore = async (path, readOnly) => {
      opening++;
      await gate;
      const store = await openBackingStore(path, readOnly);
      opened = true;
      return store;
    };
    const r = await tm.m.toolstack.create(yamlConfig(`name: slow\nmemory: 64\ndisk:\n  - "vdev=xvda, access=rw, target=${img}"\n`));
    await until(() => opening === 1, 'the backend opening the image');
    await stop(tm, r.domid);
    disposed = when === 'the machine closes';
    release();
    // Only once the open came back does "nothing open" mean that it was closed.
    await until(() => opened && openFilesUnder(dir).length === 0, 'the image opened, then closed');
    t.deepEqual(openFilesUnder(dir), []);
  });
}
