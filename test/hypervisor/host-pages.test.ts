import test from 'ava';
import { spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { XEN_PAGE_SIZE } from '../../src/abi/layout.js';
import { pageAlignedBuffer, WASM_PAGE_SIZE } from '../../src/hypervisor/host-pages.js';
import { CHUNK_PAGES, GuestMemory } from '../../src/hypervisor/memory.js';
import { backHeapChunks } from '../helpers/guest-memory.js';
import { needing } from '../helpers/needing.js';
import { scratchDir } from '../helpers/scratch.js';

// The kernel tells aligned memory from unaligned for us: an O_DIRECT read takes a
// buffer aligned to the device's logical block (512 bytes or more) and refuses others
// with EINVAL. JavaScript never sees an address, so this is the one way to check.
const file = join(scratchDir('xe-host-pages-'), 'probe');
writeFileSync(file, Buffer.alloc(2 * XEN_PAGE_SIZE, 0x5a));
let fd = -1;
let missing: string | null = null;
try {
  fd = openSync(file, constants.O_RDONLY | constants.O_DIRECT);
} catch (err) {
  missing = `the temporary directory's file system has no O_DIRECT (${(err as NodeJS.ErrnoException).code}) to check alignment with`;
}
test.after.always(() => {
  if (fd >= 0) closeSync(fd);
});

/** Whether the kernel takes `view` as an O_DIRECT read's buffer. */
function directReadable(view: Uint8Array): boolean {
  try {
    return readSync(fd, view, 0, view.length, 0) === view.length;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EINVAL') return false;
    throw err;
  }
}

needing(missing)('guest frames past a domain\'s first 4 MiB are aligned host memory: the kernel takes them as O_DIRECT buffers, and refuses the same memory 16 bytes on', (t) => {
  const mem = backHeapChunks(new GuestMemory(1 << 16, 1 << 16));
  for (const gfn of [1024, 1025, 1041, 2047, 40_000]) t.true(directReadable(mem.page(gfn)), `frame ${gfn}`);
  const two = mem.pages(1040, 2);
  t.true(directReadable(two), 'two frames as one buffer');
  t.true(two.every((x) => x === 0x5a), 'and the bytes arrived');
  t.false(directReadable(new Uint8Array(two.buffer, two.byteOffset + 16, XEN_PAGE_SIZE)), 'the probe can fail');
});

test('page-aligned buffers are zeroed whole WebAssembly pages, and bad sizes are refused', (t) => {
  const b = new Uint8Array(pageAlignedBuffer(2 * WASM_PAGE_SIZE));
  t.is(b.length, 2 * WASM_PAGE_SIZE);
  t.true(b.every((x) => x === 0));
  t.throws(() => pageAlignedBuffer(XEN_PAGE_SIZE), { instanceOf: RangeError, message: /multiple of 65536 bytes, not 4096/ });
  t.throws(() => pageAlignedBuffer(0), { instanceOf: RangeError });
});

test('under an address-space limit too small for V8\'s guard regions, frames come from the heap, and hold what is written', (t) => {
  // The compiled module, as the daemon runs it: tsx itself needs WebAssembly memory, which the limit refuses.
  const built = new URL('../../dist/src/hypervisor/memory.js', import.meta.url).pathname;
  if (!existsSync(built)) return t.fail(`${built} is missing: run \`npx tsc -p tsconfig.build.json\` first`);
  const script = `
    import { GuestMemory } from ${JSON.stringify(built)};
    const mem = new GuestMemory(1 << 16, 1 << 16);
    for (let gfn = 0; gfn < 4096; gfn++) mem.page(gfn).fill(gfn & 0xff);
    let ok = true;
    for (let gfn = 0; gfn < 4096; gfn++) ok &&= mem.page(gfn).every((x) => x === (gfn & 0xff));
    console.log(JSON.stringify({ ok, chunkBytes: mem.page(4000).buffer.byteLength }));`;
  const r = spawnSync('bash', ['-c', 'ulimit -v 4000000 && exec "$0" --input-type=module -e "$1"', process.execPath, script], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), { ok: true, chunkBytes: CHUNK_PAGES * XEN_PAGE_SIZE });
});
