import test from 'ava';
import { Shell } from '../../src/kernel/console/shell.js';
import { memwritePattern, parseMemSize, registerMemwrite } from '../../src/kernel/mm/memwrite.js';
import { PageAllocator } from '../../src/kernel/mm/page-allocator.js';
import { bootMachine, until, yamlConfig } from '../helpers/machine.js';

function guest(frames: number, scheduled: () => Promise<boolean> = () => Promise.resolve(true)): { sh: Shell; out: () => string; pages: Map<number, Uint8Array>; stored: Set<number>; alloc: PageAllocator } {
  let text = '';
  const sh = new Shell(
    (t) => (text += t),
    () => '# ',
  );
  const alloc = new PageAllocator(0, frames, []);
  const pages = new Map<number, Uint8Array>();
  const page = (gfn: number) => pages.get(gfn) ?? pages.set(gfn, new Uint8Array(4096)).get(gfn)!;
  const stored = new Set<number>();
  registerMemwrite(sh, { alloc: () => alloc.alloc(), free: (g) => alloc.freePage(g), freePages: () => alloc.free, page, stored: (g) => stored.add(g), scheduled });
  sh.start(false);
  return {
    sh,
    pages,
    stored,
    alloc,
    out: () => {
      const t = text;
      text = '';
      return t;
    },
  };
}

test('sizes are bytes or K, M, G (binary); anything else is refused', (t) => {
  t.is(parseMemSize('4096'), 4096);
  t.is(parseMemSize('2M'), 2 * 1024 * 1024);
  t.is(parseMemSize('256MiB'), 256 * 1024 * 1024);
  t.is(parseMemSize('1g'), 1024 ** 3);
  for (const bad of ['', '0', '-1', '2X', 'M', '1.5M']) t.is(parseMemSize(bad), null, bad);
});

test('memwrite SIZE writes the pattern into every byte of SIZE worth of frames, then frees them', async (t) => {
  const g = guest(64);
  g.sh.input(Buffer.from('memwrite 40K\r'));
  await until(() => g.out().includes('# '), 'the prompt');
  t.is(g.pages.size, 10);
  for (const [gfn, page] of g.pages) t.true(page.every((b) => b === memwritePattern(gfn, 0)), `gfn ${gfn}`);
  t.deepEqual([...g.stored].sort((a, b) => a - b), [...g.pages.keys()].sort((a, b) => a - b), 'every page written is reported (log-dirty)');
  t.is(g.alloc.free, 64, 'the frames are back in the allocator');
  t.is(g.sh.status, 0);
});

test('memwrite refuses a size larger than the free memory, taking nothing', async (t) => {
  const g = guest(8);
  g.sh.input(Buffer.from('memwrite 1M\r'));
  await until(() => g.sh.status !== 0, 'the failure');
  t.true(g.out().includes('memwrite: cannot allocate 256 pages: 8 free'));
  t.is(g.pages.size, 0);
  g.sh.input(Buffer.from('memwrite 12Q\r'));
  await until(() => g.sh.status === 2, 'usage');
  t.true(g.out().includes("memwrite: invalid size '12Q'"));
});

test('memwrite --loop rewrites the pages pass after pass, with a new byte each pass, until Ctrl-C', async (t) => {
  const g = guest(4096);
  g.sh.input(Buffer.from('memwrite --loop 8M\r'));
  // Pass 3 has begun once the first page holds its byte.
  await until(() => g.pages.get(0)?.[0] === memwritePattern(0, 3), 'the fourth pass');
  g.sh.input(Uint8Array.of(3));
  await until(() => g.sh.status === 130, 'the interrupt');
  await until(() => g.alloc.free === 4096, 'the frames given back');
  t.true(g.out().includes('^C'));
});

test('memwrite --loop writes nothing while the guest is suspended, and ends when its kernel stops', async (t) => {
  let gate: ((run: boolean) => void) | null = null;
  let state: 'running' | 'suspended' | 'halted' = 'running';
  const g = guest(4096, () => (state === 'suspended' ? new Promise<boolean>((resolve) => (gate = resolve)) : Promise.resolve(state === 'running')));
  g.sh.input(Buffer.from('memwrite --loop 8M\r'));
  await until(() => g.pages.get(0)?.[0] === memwritePattern(0, 1), 'the second pass');
  state = 'suspended';
  await until(() => gate !== null, 'the program waits for its vCPU');
  const frozen = new Map([...g.pages].map(([gfn, p]) => [gfn, p[0]]));
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.deepEqual(new Map([...g.pages].map(([gfn, p]) => [gfn, p[0]])), frozen, 'no page changed while suspended');
  state = 'halted';
  gate!(false);
  await until(() => g.alloc.free === 4096, `the program ended, its frames given back (status ${g.sh.status}, free ${g.alloc.free})`);
  t.is(g.sh.status, 0);
});

test('memwrite in a booted guest writes its domain\'s memory', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const r = await tm.m.toolstack.create(yamlConfig('name: g\ntype: pv\nmemory: 64\nvcpus: 1\n'));
  await until(() => tm.m.kernel(r.domid)?.state === 'running', 'the guest boots');
  const k = tm.m.kernel(r.domid)!;
  const mem = tm.m.hv.domains.get(r.domid)!.memory;
  const before = mem.save().pfns.length;
  const free = k.pageAllocator.free;
  k.shell.input(Buffer.from('memwrite 2M\r'));
  await until(() => k.pageAllocator.free === free && mem.save().pfns.length >= before + 512, 'the write');
  t.true(mem.save().pfns.length >= before + 512, 'at least 512 more frames are populated');
});
