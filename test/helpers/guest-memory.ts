import { CHUNK_PAGES, type GuestMemory, HEAP_CHUNKS } from '../../src/hypervisor/memory.js';

/** Back one frame in each of a memory's first HEAP_CHUNKS chunks (the ones from the heap): the chunks it makes next come from slabs. */
export function backHeapChunks(mem: GuestMemory): GuestMemory {
  for (let gfn = 0; gfn < HEAP_CHUNKS * CHUNK_PAGES; gfn += CHUNK_PAGES) mem.page(gfn);
  return mem;
}
