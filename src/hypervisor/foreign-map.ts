/**
 * Frames of another domain mapped by frame number rather than by grant: what privcmd's
 * IOCTL_PRIVCMD_MMAPBATCH_V2 does for xenconsoled, the domain builder and other dom0
 * tools (XENMEM_add_to_physmap_batch with XENMAPSPACE_gmfn_foreign, or a PV mmu_update
 * naming a foreign domain). Only a domain privileged over the target may do it (the
 * hypercall checks that); each mapped page holds a reference, so the target cannot free
 * it while it is mapped, and the mappings go when they are unmapped or their domain dies.
 */
export interface ForeignMapping {
  /** What the mapper presents to unmap them (the emulation's stand-in for the virtual address). */
  handle: number;
  /** The domain the frames belong to. */
  dom: number;
  /** The frames mapped, and their pages. */
  gfns: number[];
  pages: Uint8Array[];
}

/** One domain's foreign mappings. */
export class ForeignMaps {
  private next = 1;
  private readonly maps = new Map<number, ForeignMapping>();

  add(dom: number, gfns: number[], pages: Uint8Array[]): ForeignMapping {
    const m = { handle: this.next++, dom, gfns, pages };
    this.maps.set(m.handle, m);
    return m;
  }

  /** Take a mapping out (undefined if the handle maps nothing). */
  remove(handle: number): ForeignMapping | undefined {
    const m = this.maps.get(handle);
    this.maps.delete(handle);
    return m;
  }

  /** The frames of domain `dom` mapped here. */
  framesOf(dom: number): number[] {
    const gfns: number[] = [];
    for (const m of this.maps.values()) if (m.dom === dom) gfns.push(...m.gfns);
    return gfns;
  }

  /** Take every mapping out (the mapping domain is dying). */
  removeAll(): ForeignMapping[] {
    const all = [...this.maps.values()];
    this.maps.clear();
    return all;
  }
}
