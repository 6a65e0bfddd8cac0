/**
 * Page-aligned host memory, for guest frames that bulk I/O lands in.
 *
 * An ArrayBuffer's bytes come from malloc, aligned to 16 bytes only: a guest page in
 * one starts inside a cache line and straddles two host pages. The kernel's copies into
 * such a page (a backend's preadv from the page cache into granted frames, a restore
 * reading a save) cost up to 1.7 times the CPU of copies into aligned memory (on the
 * AMD EPYC we measured on: bench/page-copy.ts, BENCHMARKS.md).
 *
 * A WebAssembly memory is the one page-aligned memory JavaScript has without a native
 * addon: V8 maps it on its own, in whole pages (it guards and protects them), and the
 * kernel backs each page at its first touch, zeroed. Its costs decide how it is used:
 * - V8 counts its whole size as memory the heap holds from the moment it is made, and
 *   collects garbage about every 64 MiB of such growth: a slab that is mostly never
 *   touched costs a collection all the same;
 * - V8 reserves a guard region of several GiB of address space around each;
 * - a shared one (SharedArrayBuffer) is not counted, but V8 fills and copies typed
 *   arrays over shared memory byte by byte: a fill of 256 MiB takes 7-14 times as long.
 */

/** The part of the WebAssembly API used here (the project's lib settings leave out the DOM's declarations of it). */
declare const WebAssembly: { Memory: new (descriptor: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer } };

/** A WebAssembly page: the unit a memory's size is given in. */
export const WASM_PAGE_SIZE = 65536;

/**
 * `bytes` (a multiple of 64 KiB) of zeroed, page-aligned memory. It is not resident
 * until touched, and goes back to the system whole when the buffer is collected.
 */
export function pageAlignedBuffer(bytes: number): ArrayBuffer {
  if (!Number.isInteger(bytes) || bytes <= 0 || bytes % WASM_PAGE_SIZE !== 0) throw new RangeError(`page-aligned buffers are a positive multiple of ${WASM_PAGE_SIZE} bytes, not ${bytes}`);
  const pages = bytes / WASM_PAGE_SIZE;
  return new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer;
}

/** Set at the first refusal: see alignedSlab. */
let refused = false;

/**
 * pageAlignedBuffer's memory, or null where the host will not give it. An address-space
 * limit (`ulimit -v`) smaller than V8's guard region refuses every one, and each
 * refusal costs V8 three full garbage collections and retries (~80 ms beside a small
 * heap): after the first, none is asked for again, and the caller uses memory from the
 * heap (only slower to copy into).
 */
export function alignedSlab(bytes: number): ArrayBuffer | null {
  if (refused) return null;
  try {
    return pageAlignedBuffer(bytes);
  } catch (err) {
    if (!(err instanceof RangeError) || !/could not allocate/.test(err.message)) throw err;
    refused = true;
    return null;
  }
}
