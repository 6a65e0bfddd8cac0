import type { GrantTableFrames } from '../../src/kernel/mm/gnttab.js';

/** A grant table of plain pages, as the hypervisor's would give them. */
export function frames(max: number): GrantTableFrames & { pages: Uint8Array[] } {
  const pages: Uint8Array[] = [];
  return {
    pages,
    maxFrames: () => max,
    setupTable(count) {
      while (pages.length < count) pages.push(new Uint8Array(4096));
      return pages;
    },
  };
}
