/**
 * What the kernel's memory bookkeeping keeps in kernel memory, as plain JSON-able data:
 * the shapes `save()` returns and `load()` takes in this folder. The grant entries
 * themselves are in the grant-table frames, which are the hypervisor's and come with
 * its save; only the guest's own accounting of them is here.
 */

/** The page allocator: which frames of the reservation are free, in the order they go out. */
export interface PageAllocatorState {
  /** Free runs [start, end), ascending. */
  runs: Array<[start: number, end: number]>;
  /** Frames given back, newest last (handed out first). */
  freed: number[];
}

/**
 * The grant-reference allocator: its array of links as it is, so both the free list
 * and the chains callers hold (claimChain) come back in their order.
 */
export interface GrefAllocatorState {
  firstRef: number;
  /** next[ref] for every reference of the table (GRANT_REF_INVALID ends a list). */
  next: number[];
  /** The free list's head, and how many references are on it. */
  head: number;
  free: number;
}

/** The guest's grant table: its size, its references, and the grants waiting to be ended. */
export interface GuestGrantTableState {
  /** Frames set up (GNTTABOP_setup_table); the table only grows. */
  nrFrames: number;
  refs: GrefAllocatorState;
  /** References whose grant the other domain still maps, in the order they are retried. */
  deferred: number[];
}
