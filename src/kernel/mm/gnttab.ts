import { GNTST, GNTTAB, GRANT_ENTRIES_PER_FRAME_V1, GrantTableV1, GTF } from '../../abi/index.js';
import type { Clock, Timer } from '../../hypervisor/clock.js';
import type { Hypercalls } from '../../hypervisor/hypercalls.js';
import { GrefAllocator } from './gref-allocator.js';
import type { GuestGrantTableState } from './saved.js';

/** How often deferred grants are retried: Linux's deferred_timer fires after HZ jiffies. */
const DEFERRED_RETRY_NS = 1e9;

/**
 * What the guest needs of Xen's grant table: its frames, as pages the guest writes its
 * entries into. This is GNTTABOP_query_size and GNTTABOP_setup_table (a PV guest gets
 * the frames' MFNs; an HVM guest maps them with XENMAPSPACE_grant_table); the
 * hypervisor's grant table satisfies it, and tests give plain pages.
 */
export interface GrantTableFrames {
  /** max_nr_frames: how far the table may grow. */
  maxFrames(): number;
  /** Make the table `count` frames long (it only grows) and return its frames, first to last. */
  setupTable(count: number): readonly Uint8Array[];
}

/**
 * The table's frames as a guest reaches them: GNTTABOP_query_size for the maximum,
 * GNTTABOP_setup_table for the frame numbers, each frame then mapped by number (a PV
 * guest maps the MFNs setup_table lists; an HVM guest would use XENMAPSPACE_grant_table).
 */
export function hypercallGrantFrames(hc: Hypercalls): GrantTableFrames {
  return {
    maxFrames: () => hc.gnttabQuerySize().maxNrFrames,
    setupTable: (count) => {
      const r = hc.gnttabSetupTable(count);
      if (r.status !== GNTST.okay) throw new Error(`GNTTABOP_setup_table of ${count} frames failed: status ${r.status}`);
      return r.frameList.map((mfn) => hc.grantTableFrame(mfn));
    },
  };
}

/**
 * The guest side of grant table v1 (FreeBSD's and Linux's gnttab.c): grant a frame to
 * another domain by writing an entry through the ABI view, take the grant back when the
 * other domain no longer maps it, and manage the references with GrefAllocator,
 * growing the table a frame at a time when they run out.
 *
 * A grant that cannot be ended because the other domain still has the frame mapped
 * (GTF_reading/GTF_writing) keeps its reference out of the free list, on a deferred
 * list that later releases retry, as Linux's gnttab_add_deferred does; handing it out
 * again would let a new grant's frame be read through the old mapping.
 */
export class GuestGrantTable {
  private view: GrantTableV1;
  readonly refs: GrefAllocator;
  private readonly deferred: number[] = [];
  /**
   * What to do once a deferred grant ends (free its page), as Linux's
   * gnttab_end_foreign_access(ref, page) frees the page with the deferred entry. Code,
   * not state: a save keeps the deferred references, not these.
   */
  private readonly whenEnded = new Map<number, (ref: number) => void>();

  /** The pending retry of the deferred grants, if one is scheduled. */
  private retryTimer: Timer | null = null;

  /**
   * @param clock when given, deferred grants are retried every second until they end,
   *   as Linux's deferred_timer does (HZ); without one, only retryDeferred() retries.
   */
  constructor(
    private readonly frames: GrantTableFrames,
    initialFrames = 1,
    private readonly clock: Pick<Clock, 'after'> | null = null,
  ) {
    this.view = new GrantTableV1(frames.setupTable(initialFrames));
    this.refs = new GrefAllocator(this.view.nrEntries, GNTTAB.NR_RESERVED_ENTRIES);
  }

  /** References waiting for the other domain to unmap them. */
  get deferredCount(): number {
    return this.deferred.length;
  }

  /**
   * gnttab_grant_foreign_access: claim a reference and fill its entry. Throws when the
   * table is at its maximum size and every reference is in use.
   */
  grantForeignAccess(domid: number, gfn: number, readonly: boolean): number {
    const ref = this.refs.claim() ?? (this.expand() ? this.refs.claim() : null);
    if (ref === null) throw new Error(`no free grant reference: all ${this.refs.nrEntries} in use and the table is at its ${this.frames.maxFrames()}-frame maximum`);
    this.view.grantForeignAccess(ref, domid, gfn, readonly);
    return ref;
  }

  /** The entry of a reference, as the guest wrote it and Xen updated it. */
  entry(ref: number): ReturnType<GrantTableV1['entry']> {
    return this.view.entry(ref);
  }

  /**
   * Why the grant `ref` cannot be ended now, or null if it can: Xen sets GTF_reading
   * (and GTF_writing) in the entry while the grantee maps or copies the page.
   */
  inUseReason(ref: number): string | null {
    const { flags, domid } = this.view.entry(ref);
    const held = [flags & GTF.reading ? 'GTF_reading' : '', flags & GTF.writing ? 'GTF_writing' : ''].filter((f) => f !== '');
    if (held.length === 0) return null;
    return `grant ${ref} is still in use by domain ${domid} (${held.join('|')}): it must unmap it first`;
  }

  /** Whether the grantee still maps (or copies through) the grant `ref`. */
  inUse(ref: number): boolean {
    return this.inUseReason(ref) !== null;
  }

  /**
   * gnttab_end_foreign_access_ref + release: true when the grant ended and the
   * reference is free again; false when the other domain still uses the frame (the
   * reference is deferred, and inUseReason said why before the call).
   */
  endForeignAccess(ref: number): boolean {
    return this.endForeignAccessReferences([ref]) === 1;
  }

  /**
   * gnttab_end_foreign_access_references: end many grants and release their references
   * under one acquisition of the free list's lock. The entries are revoked first, with
   * no lock held (each is its own compare-and-swap); those still in use are deferred.
   * Unlike FreeBSD's version, which takes the first reference of the array as the chain's
   * tail even when that one could not be ended, the tail is the first reference that was.
   * Returns how many were released. `then(ref)` runs for each grant once it has ended:
   * now, or at the retry that ends a deferred one (a ring frees its page there).
   */
  endForeignAccessReferences(refs: readonly number[], then?: (ref: number) => void): number {
    const ended: number[] = [];
    for (const ref of refs) {
      if (this.view.endForeignAccess(ref)) ended.push(ref);
      else {
        this.deferred.push(ref);
        if (then !== undefined) this.whenEnded.set(ref, then);
      }
    }
    this.scheduleRetry();
    this.refs.releaseMany(ended);
    if (then !== undefined) for (const ref of ended) then(ref);
    return ended.length;
  }

  /** Retry the deferred references (the other domain may have unmapped); returns how many were released. */
  retryDeferred(): number {
    const waiting = this.deferred.splice(0);
    const ended = waiting.filter((ref) => this.view.endForeignAccess(ref));
    for (const ref of waiting) if (!ended.includes(ref)) this.deferred.push(ref);
    this.refs.releaseMany(ended);
    for (const ref of ended) {
      const then = this.whenEnded.get(ref);
      this.whenEnded.delete(ref);
      then?.(ref);
    }
    this.scheduleRetry();
    return ended.length;
  }

  /** A retry a second from now while grants wait, unless one is scheduled already. */
  private scheduleRetry(): void {
    if (this.clock === null || this.retryTimer !== null || this.deferred.length === 0) return;
    this.retryTimer = this.clock.after(DEFERRED_RETRY_NS, () => {
      this.retryTimer = null;
      this.retryDeferred();
    });
  }

  save(): GuestGrantTableState {
    return { nrFrames: this.view.nrEntries / GRANT_ENTRIES_PER_FRAME_V1, refs: this.refs.save(), deferred: [...this.deferred] };
  }

  /**
   * Take a save into this table: map the frames the saved table had (setup_table for
   * that many: the hypervisor's table already has them, with the entries the guest
   * wrote), then take the references and the deferred grants.
   */
  load(s: GuestGrantTableState): void {
    if (s.refs.next.length !== s.nrFrames * GRANT_ENTRIES_PER_FRAME_V1) throw new RangeError(`saved grant table: ${s.refs.next.length} references for ${s.nrFrames} frames`);
    const view = new GrantTableV1(this.frames.setupTable(s.nrFrames));
    this.refs.load(s.refs);
    this.view = view;
    this.deferred.splice(0, this.deferred.length, ...s.deferred);
    this.scheduleRetry();
  }

  /** gnttab_expand: one more frame, if the table may grow. */
  private expand(): boolean {
    const have = this.view.nrEntries / GRANT_ENTRIES_PER_FRAME_V1;
    if (have >= this.frames.maxFrames()) return false;
    this.view = new GrantTableV1(this.frames.setupTable(have + 1));
    this.refs.grow(this.view.nrEntries);
    return true;
  }
}
