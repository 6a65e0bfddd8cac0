/**
 * A grant blkback has mapped: the handle to unmap it with, the page, and where the page
 * lies in its buffer, read once at map time. Every segment of every request turns its
 * page into a byte range of that buffer, and a typed array's `.buffer` is a call into
 * V8's runtime (~25 ns: 6 µs per MiB moved, the path's costliest line per segment).
 */
export interface MappedGrant {
  handle: number;
  page: Uint8Array;
  buffer: ArrayBufferLike;
  offset: number;
}

/** `page` mapped under `handle`, as a MappedGrant. */
export function mappedGrant(handle: number, page: Uint8Array): MappedGrant {
  return { handle, page, buffer: page.buffer, offset: page.byteOffset };
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
  private readonly byRef: Array<MappedGrant | undefined> = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(ref: number): MappedGrant | undefined {
    return this.byRef[ref];
  }

  has(ref: number): boolean {
    return this.byRef[ref] !== undefined;
  }

  set(ref: number, map: MappedGrant): void {
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
