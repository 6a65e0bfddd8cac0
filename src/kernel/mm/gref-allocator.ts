import type { GrefAllocatorState } from './saved.js';

/**
 * The end of a free list of grant references (FreeBSD's and Linux's GNTTAB_LIST_END,
 * which newer Xen headers call GRANT_REF_INVALID): no grant_ref_t is ever this value.
 */
export const GRANT_REF_INVALID = 0xffffffff;

/**
 * A lock as the grant code takes it, counting acquisitions. The kernel runs on one
 * event loop, so nothing contends for it; it is here so the batch paths can be seen
 * (and tested) to take it once per batch rather than once per reference, which is what
 * matters when the kernel runs on several threads, and so a re-entry is caught.
 */
export class CountingLock {
  acquisitions = 0;
  private held = false;

  with<T>(body: () => T): T {
    if (this.held) throw new Error('grant list lock taken twice');
    this.held = true;
    this.acquisitions++;
    try {
      return body();
    } finally {
      this.held = false;
    }
  }
}

/**
 * The grant-reference allocator of FreeBSD's and Linux's gnttab: the free references
 * form a singly linked list threaded through an array indexed by reference (each free
 * reference holds the next one), ending in GRANT_REF_INVALID, with its head and count
 * under one lock. A claim takes from the head; a release pushes on it; a chain of
 * references (a list of the same shape the caller built) is put back whole, with its
 * tail found before taking the lock, so the lock covers two stores.
 *
 * References below `firstRef` are never handed out: GNTTAB_NR_RESERVED_ENTRIES, which
 * the toolstack fills for the console and xenstore pages.
 */
export class GrefAllocator {
  /** next[ref]: the free reference after `ref`, or GRANT_REF_INVALID. Grows with the table. */
  private next: Uint32Array;
  private head = GRANT_REF_INVALID;
  private count = 0;
  readonly lock = new CountingLock();

  constructor(
    nrEntries: number,
    private readonly firstRef: number,
  ) {
    this.next = new Uint32Array(0);
    this.grow(nrEntries);
  }

  /** References free now. */
  get free(): number {
    return this.count;
  }

  /** How many references the table has. */
  get nrEntries(): number {
    return this.next.length;
  }

  /**
   * The table grew to `nrEntries` (gnttab_expand): the new references go on the free
   * list, lowest first so claims stay in ascending order.
   */
  grow(nrEntries: number): void {
    const old = this.next.length;
    if (nrEntries <= old) return;
    const next = new Uint32Array(nrEntries);
    next.set(this.next);
    this.next = next;
    const from = Math.max(old, this.firstRef);
    if (from >= nrEntries) return;
    for (let ref = from; ref < nrEntries - 1; ref++) next[ref] = ref + 1;
    this.lock.with(() => {
      next[nrEntries - 1] = this.head;
      this.head = from;
      this.count += nrEntries - from;
    });
  }

  /** gnttab_claim_grant_reference: one free reference, or null when none is left. */
  claim(): number | null {
    return this.lock.with(() => {
      const ref = this.head;
      if (ref === GRANT_REF_INVALID) return null;
      this.head = this.next[ref]!;
      this.count--;
      return ref;
    });
  }

  /**
   * gnttab_alloc_grant_references: `count` references as a chain (first reference;
   * follow with nextInChain, ends in GRANT_REF_INVALID), or null if fewer are free.
   * One lock acquisition; the walk to the chain's end is the only loop under it.
   */
  claimChain(count: number): number | null {
    if (count <= 0) return GRANT_REF_INVALID;
    return this.lock.with(() => {
      if (this.count < count) return null;
      const first = this.head;
      let last = first;
      for (let i = 1; i < count; i++) last = this.next[last]!;
      this.head = this.next[last]!;
      this.next[last] = GRANT_REF_INVALID;
      this.count -= count;
      return first;
    });
  }

  /** The reference after `ref` in a chain claimed with claimChain. */
  nextInChain(ref: number): number {
    return this.next[ref]!;
  }

  /** gnttab_release_grant_reference: put one reference back. */
  release(ref: number): void {
    this.check(ref);
    this.lock.with(() => {
      this.next[ref] = this.head;
      this.head = ref;
      this.count++;
    });
  }

  /**
   * Put back a chain of references linked through this allocator's array
   * (gnttab_free_grant_references). Its tail and length are found first, outside the
   * lock: the chain is the caller's, so nothing else touches it meanwhile.
   */
  releaseChain(head: number): void {
    if (head === GRANT_REF_INVALID) return;
    let tail = head;
    let n = 1;
    for (let ref = this.next[head]!; ref !== GRANT_REF_INVALID; ref = this.next[ref]!) {
      tail = ref;
      n++;
    }
    this.spliceChain(head, tail, n);
  }

  /**
   * Release many references in one lock acquisition (the release half of
   * gnttab_end_foreign_access_references): they are linked into a chain outside the
   * lock, then the chain goes on the free list whole.
   */
  releaseMany(refs: readonly number[]): void {
    if (refs.length === 0) return;
    for (const ref of refs) this.check(ref);
    // Built by prepending, so the first reference ends the chain: it is the tail.
    let head = GRANT_REF_INVALID;
    for (const ref of refs) {
      this.next[ref] = head;
      head = ref;
    }
    this.spliceChain(head, refs[0]!, refs.length);
  }

  save(): GrefAllocatorState {
    return { firstRef: this.firstRef, next: Array.from(this.next), head: this.head, free: this.count };
  }

  /**
   * Take a save in place of this allocator's state. The free list must be what the
   * save says it is: `free` references from `head`, each handed out by this table,
   * none twice (a loop or a reserved entry on the list would hand a reference to two
   * users).
   */
  load(s: GrefAllocatorState): void {
    if (s.firstRef !== this.firstRef) throw new RangeError(`saved grant references start at ${s.firstRef}, this table's at ${this.firstRef}`);
    const next = Uint32Array.from(s.next);
    const seen = new Set<number>();
    for (let ref = s.head; ref !== GRANT_REF_INVALID; ref = next[ref]!) {
      if (!(ref >= this.firstRef && ref < next.length) || seen.has(ref) || seen.size > s.free) {
        throw new RangeError(`saved grant references: the free list from ${s.head} reaches ${ref} after ${seen.size} references`);
      }
      seen.add(ref);
    }
    if (seen.size !== s.free) throw new RangeError(`saved grant references: the free list holds ${seen.size} references, the save says ${s.free}`);
    this.next = next;
    this.head = s.head;
    this.count = s.free;
  }

  private spliceChain(head: number, tail: number, n: number): void {
    this.lock.with(() => {
      this.next[tail] = this.head;
      this.head = head;
      this.count += n;
    });
  }

  private check(ref: number): void {
    if (!(Number.isInteger(ref) && ref >= this.firstRef && ref < this.next.length)) {
      throw new RangeError(`grant ref ${ref} was never handed out (references ${this.firstRef}..${this.next.length - 1})`);
    }
  }
}
