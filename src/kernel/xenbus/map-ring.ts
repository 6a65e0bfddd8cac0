/**
 * The backend's half of a shared ring's memory, for every split device: Linux's
 * xenbus_map_ring_valloc / xenbus_unmap_ring_vfree, FreeBSD's xenbus_map_ring.
 *
 * The frontend's references are mapped in ring-ref0..N order with one
 * GNTTABOP_map_grant_ref batch. Xen would place the frames at consecutive virtual
 * addresses; here each mapping is the granter's page itself, so when the frontend
 * granted one aligned block (grant-ring.ts) the pages are adjacent views of one buffer
 * and a SharedRing over them is zero-copy, and when it granted unrelated frames the
 * SharedRing lays its slots across them (see SharedRing in src/abi/ring.ts). Either
 * way the caller gets the pages in order and hands them to `new SharedRing`.
 */
import { GNTMAP, GNTST } from '../../abi/index.js';
import { XenemuError } from '../../common/errors.js';
import { gntstName, type GnttabMapGrantRef, type GnttabMapResult } from '../../hypervisor/gnttab.js';

/** The two grant operations mapping a ring takes (a domain's Hypercalls has them). */
export interface RingMapOps {
  gnttabMapGrantRef(ops: readonly GnttabMapGrantRef[]): GnttabMapResult[];
  gnttabUnmapGrantRef(handles: readonly number[]): number[];
}

/**
 * A reference of the ring that could not be mapped. `code` is the GNTST name
 * (GNTST_bad_gntref, GNTST_general_error, ...), `ref` and `index` say which one; the
 * message is the one Linux's xenbus_map_ring_valloc passes to xenbus_dev_fatal.
 */
export class RingMapError extends XenemuError {
  constructor(
    readonly status: number,
    readonly ref: number,
    /** Its place in the ring: ring-ref<index>. */
    readonly index: number,
    readonly otherendId: number,
  ) {
    super(gntstName(status), `mapping in shared page ${ref} (ring-ref${index}) from domain ${otherendId}: ${gntstName(status)}`);
  }
}

/** A ring's pages as the backend mapped them. */
export interface MappedRing {
  readonly otherendId: number;
  readonly refs: readonly number[];
  /** The mapped pages, ring-ref0 first: new SharedRing(pages, slotBytes). */
  readonly pages: readonly Uint8Array[];
  /** Whether the pages are adjacent in one buffer (the ring is read in place). */
  readonly adjacent: boolean;
  /** xenbus_unmap_ring_vfree: every page's mapping goes. Once only. */
  unmap(): void;
}

/**
 * xenbus_map_ring_valloc: map `refs` of domain `otherendId` read-write, in order. All
 * or nothing: when one fails, those mapped are unmapped and a RingMapError names the
 * first that failed.
 */
export function mapRing(hc: RingMapOps, otherendId: number, refs: readonly number[]): MappedRing {
  if (refs.length === 0) throw new RangeError('a ring has at least one page');
  const results = hc.gnttabMapGrantRef(refs.map((ref) => ({ dom: otherendId, ref, flags: GNTMAP.host_map })));
  const bad = results.findIndex((r) => r.status !== GNTST.okay);
  if (bad >= 0) {
    const mapped = results.filter((r) => r.status === GNTST.okay).map((r) => r.handle);
    if (mapped.length > 0) hc.gnttabUnmapGrantRef(mapped);
    throw new RingMapError(results[bad]!.status, refs[bad]!, bad, otherendId);
  }
  const pages = results.map((r) => r.page!);
  const handles = results.map((r) => r.handle);
  let unmapped = false;
  return {
    otherendId,
    refs: [...refs],
    pages,
    adjacent: pages.every((p, i) => i === 0 || (p.buffer === pages[0]!.buffer && p.byteOffset === pages[i - 1]!.byteOffset + p.byteLength)),
    unmap(): void {
      if (unmapped) throw new Error(`ring pages ${refs.join(',')} of domain ${otherendId} unmapped twice`);
      unmapped = true;
      const statuses = hc.gnttabUnmapGrantRef(handles);
      const failed = statuses.findIndex((s) => s !== GNTST.okay);
      if (failed >= 0) throw new Error(`unmapping ring-ref${failed} (${refs[failed]}) of domain ${otherendId}: ${gntstName(statuses[failed]!)}`);
    },
  };
}
