/**
 * The two things every view in src/abi shares: the field tables (one per C struct,
 * checked against the real headers by test/abi/offsets.test.ts) and the mapping from
 * "some guest memory" to the exact bytes a struct occupies.
 *
 * Guest memory is little-endian x86_64. Scalar fields go through a DataView with
 * `littleEndian = true`, which is correct on any host. Bitmaps and ring indices go
 * through Uint32Array (fast bit operations, and `Atomics` needs an integer typed
 * array), whose byte order is the host's: the views refuse to run on a big-endian host
 * rather than silently flip bits (see requireLittleEndianHost).
 */
import { AbiError } from './errors.js';

/** XEN_PAGE_SIZE: rings, grant frames and hypercall pages are 4 KiB on every arch. */
export const XEN_PAGE_SIZE = 4096;
export const XEN_PAGE_SHIFT = 12;

/** One field of a C struct. */
export interface FieldDef {
  /** Byte offset from the start of the struct (`offsetof`). */
  readonly offset: number;
  /** Size in bytes (`sizeof` the member; for an array, the whole array). */
  readonly size: number;
  /** The member designator `offsetof(struct …, <c>)` takes, e.g. `arch.max_pfn`. */
  readonly c: string;
  /** For arrays: the element count, checked as `sizeof(m) / sizeof(m[0])`. */
  readonly count?: number;
}

/** A C struct: its name, the header that defines it, its size and its fields. */
export interface StructDef<K extends string = string> {
  /** The C type as `sizeof` takes it, e.g. `struct vcpu_info`. */
  readonly c: string;
  /** Header under /usr/include that defines it, e.g. `xen/xen.h`. */
  readonly header: string;
  readonly size: number;
  readonly align: number;
  readonly fields: { readonly [P in K]: FieldDef };
}

/** Every struct table, in definition order; the offsets test walks this list. */
export const ABI_STRUCTS: StructDef[] = [];

/**
 * Declare a struct table. Checks what can be checked without a compiler (every field
 * inside the struct), freezes it and, unless `register` is false (a table that stands
 * for several C types and that its own test section checks), registers it for the C
 * comparison.
 */
export function defineStruct<K extends string>(def: StructDef<K>, register = true): StructDef<K> {
  for (const [name, f] of Object.entries<FieldDef>(def.fields)) {
    if (f.offset < 0 || f.offset + f.size > def.size) {
      throw new AbiError('LAYOUT', `${def.c}.${name}: field ${f.offset}+${f.size} lies outside the ${def.size}-byte struct`);
    }
  }
  for (const f of Object.values<FieldDef>(def.fields)) Object.freeze(f);
  Object.freeze(def.fields);
  if (register) ABI_STRUCTS.push(def);
  return Object.freeze(def);
}

/** Anything that can back a guest page: the ArrayBuffer itself, or a view into one. */
export type GuestBytes = ArrayBufferLike | ArrayBufferView;

/** The exact bytes of one struct instance inside guest memory. */
export interface StructWindow {
  readonly buffer: ArrayBufferLike;
  /** Absolute byte offset of the struct inside `buffer`. */
  readonly byteOffset: number;
  readonly byteLength: number;
}

function isView(mem: GuestBytes): mem is ArrayBufferView {
  return ArrayBuffer.isView(mem);
}

/** Normalise memory to (buffer, absolute offset, length) without copying. */
export function memoryWindow(mem: GuestBytes): StructWindow {
  if (isView(mem)) return { buffer: mem.buffer, byteOffset: mem.byteOffset, byteLength: mem.byteLength };
  return { buffer: mem, byteOffset: 0, byteLength: mem.byteLength };
}

/**
 * The window for a struct of `size` bytes at `offset` inside `mem`, checking that it
 * fits and that its absolute address is `align`-aligned (typed arrays over it need
 * that, and so does the C ABI).
 */
export function structWindow(mem: GuestBytes, offset: number, size: number, align: number, what: string): StructWindow {
  const w = memoryWindow(mem);
  if (!Number.isInteger(offset) || offset < 0 || offset + size > w.byteLength) {
    throw new AbiError('LAYOUT', `${what}: ${size} bytes at offset ${offset} do not fit in ${w.byteLength} bytes of memory`);
  }
  const abs = w.byteOffset + offset;
  if (abs % align !== 0) {
    throw new AbiError('LAYOUT', `${what}: must be ${align}-byte aligned, but sits at byte ${abs} of its buffer`);
  }
  return { buffer: w.buffer, byteOffset: abs, byteLength: size };
}

/**
 * How often a seqlock reader retries before giving up. A writer in another thread
 * finishes an update in nanoseconds; in one thread an odd version can only mean an
 * update that never finished, and spinning on it would hang the event loop.
 */
export const SEQLOCK_RETRIES = 10_000;

/** True when the memory is shared with other threads, so read-modify-writes must be atomic. */
export function isSharedBuffer(buffer: ArrayBufferLike): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer;
}

/** False only on a big-endian host (Node ships for one: s390x). */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Uint32Array lanes alias little-endian guest words only on a little-endian host. */
export function requireLittleEndianHost(): void {
  if (!HOST_LITTLE_ENDIAN) {
    throw new AbiError(
      'HOST_ENDIAN',
      'xenemu maps guest bitmaps and ring indices with Uint32Array, which is host-endian; ' +
        'this host is big-endian and would see Xen\'s little-endian words byte-swapped',
    );
  }
}

/** `count` page views (4 KiB each) over one fresh ArrayBuffer, as alloc_pages(order) gives. */
export function contiguousPages(count: number, shared = false): Uint8Array[] {
  const buffer = shared ? new SharedArrayBuffer(count * XEN_PAGE_SIZE) : new ArrayBuffer(count * XEN_PAGE_SIZE);
  return Array.from({ length: count }, (_, i) => new Uint8Array(buffer, i * XEN_PAGE_SIZE, XEN_PAGE_SIZE));
}

/**
 * Present pages as one contiguous byte range, without copying. Pages must be
 * consecutive views of one ArrayBuffer (as contiguousPages() makes them): JavaScript
 * cannot alias separate ArrayBuffers, and an io/ring.h slot may straddle a page
 * boundary (blkif slot 72 of a 4-page ring covers bytes 8128..8239), so a ring over
 * scattered pages could not hand out a DataView per slot.
 */
export function contiguousMemory(pages: GuestBytes | readonly GuestBytes[], what: string): Uint8Array {
  if (!Array.isArray(pages)) {
    const w = memoryWindow(pages as GuestBytes);
    return new Uint8Array(w.buffer, w.byteOffset, w.byteLength);
  }
  const list = pages as readonly GuestBytes[];
  if (list.length === 0) throw new AbiError('LAYOUT', `${what}: no pages`);
  const first = memoryWindow(list[0]!);
  let end = first.byteOffset;
  for (const [i, page] of list.entries()) {
    const w = memoryWindow(page);
    if (w.byteLength !== XEN_PAGE_SIZE) {
      throw new AbiError('LAYOUT', `${what}: page ${i} has ${w.byteLength} bytes, not ${XEN_PAGE_SIZE}`);
    }
    if (w.buffer !== first.buffer || w.byteOffset !== end) {
      throw new AbiError(
        'LAYOUT',
        `${what}: page ${i} is not the 4 KiB that follows page ${i - 1} in the same ArrayBuffer; ` +
          'multi-page rings need their pages contiguous in one buffer (see contiguousPages)',
      );
    }
    end += XEN_PAGE_SIZE;
  }
  return new Uint8Array(first.buffer, first.byteOffset, end - first.byteOffset);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

/** Read a NUL-terminated C string from a fixed-size char array (UTF-8; Xen's strings are ASCII). */
export function readCString(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return decoder.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}

/**
 * Write a C string into a fixed-size char array: the UTF-8 bytes, then NUL padding to
 * the end (so no stale tail survives). Refuses strings that leave no room for the NUL.
 */
export function writeCString(bytes: Uint8Array, value: string, what: string): void {
  const data = encoder.encode(value);
  if (data.length >= bytes.length) {
    throw new RangeError(`${what}: ${data.length} bytes plus the NUL do not fit in ${bytes.length}`);
  }
  if (data.includes(0)) throw new RangeError(`${what}: a C string cannot contain NUL`);
  bytes.set(data);
  bytes.fill(0, data.length);
}
