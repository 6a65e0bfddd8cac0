/**
 * The frontend's half of a shared ring's memory, for every split device (blkfront,
 * netfront, ...): Linux's xenbus_setup_ring / xenbus_teardown_ring, FreeBSD's
 * xenbus_grant_ring called once per page.
 *
 * The pages are one aligned block of the guest's frames (alloc_pages(order)), zeroed,
 * each granted read-write to the other end; the references go in the device's
 * `ring-ref` or `ring-ref0..N-1` nodes in this order, and the backend maps them in the
 * same order (map-ring.ts). Because the block is aligned it lies in one of guest
 * memory's 16-frame chunks, so `pages` are adjacent views of one buffer and a
 * SharedRing over them reads its slots in place.
 */
import type { GuestGrantTable } from '../mm/gnttab.js';
import type { PageAllocator } from '../mm/page-allocator.js';

/**
 * XENBUS_MAX_RING_GRANT_ORDER (Linux include/xen/xenbus.h): a ring is at most 2^4 = 16
 * pages, which is also the largest block one chunk of guest memory holds adjacent.
 */
export const XENBUS_MAX_RING_GRANT_ORDER = 4;
export const XENBUS_MAX_RING_GRANTS = 1 << XENBUS_MAX_RING_GRANT_ORDER;

/** What granting a ring takes from the kernel: its frames, its grant table, and its own view of a frame. */
export interface RingGrantKernel {
  readonly pageAllocator: PageAllocator;
  readonly gnttab: GuestGrantTable;
  /** The kernel's own mapping of its frame `gfn`. */
  page(gfn: number): Uint8Array;
  /** The kernel wrote its frame `gfn` (EmulatedPlatform.stored). */
  stored(gfn: number): void;
}

/** How a release went: grants still mapped by the other end keep their frames out of use. */
export interface RingRelease {
  /** Pages whose grant ended and whose frame went back to the allocator. */
  readonly released: number;
  /**
   * References the other end still maps (GTF_reading/GTF_writing set), in ring order.
   * Their grants are deferred and their frames stay allocated until a
   * GuestGrantTable.retryDeferred finds them unmapped, so a page the backend can still
   * write is never handed to anyone else, as Linux's gnttab_end_foreign_access keeps
   * such a page until the grant ends.
   */
  readonly stillMapped: readonly number[];
}

/** A ring's pages, granted to the other end. */
export interface GrantedRing {
  readonly otherendId: number;
  /** The frames, ring-ref0 first. */
  readonly gfns: readonly number[];
  /** The grant references, in ring order: what `ring-ref` / `ring-refN` publish. */
  readonly refs: readonly number[];
  /** The pages, in ring order: adjacent views of one buffer (new SharedRing(pages, slotBytes)). */
  readonly pages: readonly Uint8Array[];
  /** End the grants and free the frames (xenbus_teardown_ring). Once only. */
  release(): RingRelease;
}

/**
 * xenbus_setup_ring: `nrPages` (1..16) zeroed pages, physically contiguous, each
 * granted read-write to `otherendId`. All or nothing: if the grant table runs out
 * half-way, the grants made are ended and the frames freed before the error is thrown.
 */
export function grantRing(k: RingGrantKernel, otherendId: number, nrPages: number): GrantedRing {
  if (!(Number.isInteger(nrPages) && nrPages >= 1 && nrPages <= XENBUS_MAX_RING_GRANTS)) {
    throw new RangeError(`a ring has 1 to ${XENBUS_MAX_RING_GRANTS} pages (max-ring-page-order ${XENBUS_MAX_RING_GRANT_ORDER}), not ${nrPages}`);
  }
  const first = k.pageAllocator.allocAligned(nrPages);
  const gfns = Array.from({ length: nrPages }, (_, i) => first + i);
  const pages = gfns.map((gfn) => k.page(gfn).fill(0));
  for (const gfn of gfns) k.stored(gfn);
  const refs: number[] = [];
  try {
    for (const gfn of gfns) refs.push(k.gnttab.grantForeignAccess(otherendId, gfn, false));
  } catch (err) {
    // Nobody has seen these references yet, so every grant ends at once.
    k.gnttab.endForeignAccessReferences(refs);
    for (const gfn of gfns) k.pageAllocator.freePage(gfn);
    throw err;
  }
  let released = false;
  return {
    otherendId,
    gfns,
    refs,
    pages,
    release(): RingRelease {
      if (released) throw new Error(`ring pages ${refs.join(',')} released twice`);
      released = true;
      const gfnOf = new Map(refs.map((ref, i) => [ref, gfns[i]!]));
      const n = k.gnttab.endForeignAccessReferences(refs, (ref) => k.pageAllocator.freePage(gfnOf.get(ref)!));
      return { released: n, stillMapped: refs.filter((ref) => k.gnttab.inUse(ref)) };
    },
  };
}
