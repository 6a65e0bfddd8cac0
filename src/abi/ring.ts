/**
 * The generic shared ring of xen/io/ring.h (DEFINE_RING_TYPES and the RING_* macros):
 * the one layout under blkif, netif tx/rx/ctrl and most other PV protocols.
 *
 * Shape: a 64-byte header {req_prod, req_event, rsp_prod, rsp_event, pvt, __pad[44]}
 * then an array of slots. A slot is `union { req; rsp; }`, so its size is the larger of
 * the two. The slot count is __RING_SIZE: the largest power of two ≤ (bytes − 64) / slot,
 * so `idx & (size − 1)` finds a slot. Indices are free-running RING_IDX (u32); all
 * arithmetic here is modulo 2^32 (`>>> 0`). A ring of several pages is one contiguous
 * range (ring-ref0..N mapped in order) with one header, at the start of page 0.
 *
 * Private state lives outside the page, as in the C front/back ring structs: the
 * frontend's req_prod_pvt (requests built, not yet pushed) and rsp_cons; the backend's
 * rsp_prod_pvt and req_cons. Slots are handed out as (DataView, byte offset) so that
 * protocol views (blkif, netif) read and write guest memory in place.
 *
 * Memory order: the macros' xen_wmb()/xen_mb()/xen_rmb() become Atomics.store/
 * Atomics.load on the header words, which are sequentially consistent. Slot contents
 * are plain DataView accesses ordered by those index operations (see byte-ring.ts).
 */
import { AbiError, RingProtocolError } from './errors.js';
import { contiguousMemory, defineStruct, memoryWindow, requireLittleEndianHost, XEN_PAGE_SIZE, type GuestBytes } from './layout.js';

/**
 * The header of every `struct <tag>_sring`. One table stands for all of them, so it is
 * not in ABI_STRUCTS: test/abi/offsets.test.ts checks it against each SRING_PROTOCOLS
 * tag (blkif_sring, netif_tx_sring, ...).
 */
export const SRING_HEADER = defineStruct(
  {
    c: 'struct <tag>_sring',
    header: 'xen/io/ring.h',
    size: 64,
    align: 4,
    fields: {
      /** Written by the frontend. */
      reqProd: { offset: 0, size: 4, c: 'req_prod' },
      /** Written by the backend: "notify me when req_prod passes this". */
      reqEvent: { offset: 4, size: 4, c: 'req_event' },
      /** Written by the backend. */
      rspProd: { offset: 8, size: 4, c: 'rsp_prod' },
      /** Written by the frontend. */
      rspEvent: { offset: 12, size: 4, c: 'rsp_event' },
      /** union { netif.smartpoll_active; tapif_user.msg; pvt_pad[4] }. */
      pvt: { offset: 16, size: 4, c: 'pvt.pvt_pad' },
      pad: { offset: 20, size: 44, c: '__pad' },
    },
  },
  false,
);

/** offsetof(struct <tag>_sring, ring): where slot 0 starts. */
export const SRING_ENTRIES_OFFSET = 64;

/**
 * Slot sizes (sizeof(union <tag>_sring_entry), x86_64) of the rings xenemu speaks,
 * keyed by DEFINE_RING_TYPES tag. The protocol views themselves are later work.
 */
export const SRING_PROTOCOLS = {
  /** io/blkif.h: blkif_request 112 bytes, blkif_response 16. */
  blkif: { header: 'xen/io/blkif.h', slotBytes: 112 },
  /** io/netif.h: netif_tx_request 12, netif_tx_response 4. */
  netif_tx: { header: 'xen/io/netif.h', slotBytes: 12 },
  /** io/netif.h: netif_rx_request 8, netif_rx_response 8. */
  netif_rx: { header: 'xen/io/netif.h', slotBytes: 8 },
  /** io/netif.h: xen_netif_ctrl_request 16, xen_netif_ctrl_response 12. */
  xen_netif_ctrl: { header: 'xen/io/netif.h', slotBytes: 16 },
} as const;

const H = SRING_HEADER.fields;

/** __RING_SIZE / __CONST_RING_SIZE: the largest power of two ≤ (bytes − 64) / slot (__RD32). */
export function ringSize(slotBytes: number, totalBytes: number): number {
  const q = Math.floor((totalBytes - SRING_ENTRIES_OFFSET) / slotBytes);
  return q < 1 ? 0 : 2 ** (31 - Math.clz32(q));
}

/**
 * The notification hold-off test of RING_PUSH_{REQUESTS,RESPONSES}_AND_CHECK_NOTIFY:
 * notify iff the peer's event index lies in (old, new], i.e.
 * `(RING_IDX)(new − event) < (RING_IDX)(new − old)`. The peer set `event` to the index
 * it wants to be woken at (cons + 1 in the final check), so a push that moves prod past
 * it, and only such a push, must notify.
 */
export function ringNotifyNeeded(oldProd: number, newProd: number, event: number): boolean {
  return (newProd - event) >>> 0 < (newProd - oldProd) >>> 0;
}

/** A slot: the DataView over the ring's memory and the slot's byte offset in it. */
export interface RingSlot {
  readonly view: DataView;
  readonly offset: number;
}

/**
 * __RING_HEADER_SIZE(s): the bytes before the first slot. The name is FreeBSD's (its
 * copy of io/ring.h, which blkfront sizes multi-page rings with); Xen 4.17's ring.h
 * spells it `offsetof(struct <tag>_sring, ring)` inside __CONST_RING_SIZE.
 */
export const RING_HEADER_SIZE = SRING_ENTRIES_OFFSET;

/**
 * __RING_PAGES(s, entries): the 4 KiB pages a ring of `entries` slots needs, header
 * included, rounded up (FreeBSD's ring.h; blkfront asks for
 * __RING_PAGES(sring, max_requests) pages and the ring then holds __RING_SIZE of them,
 * which is at least `entries` rounded down to a power of two).
 */
export function ringPages(slotBytes: number, entries: number): number {
  return Math.ceil((RING_HEADER_SIZE + entries * slotBytes) / XEN_PAGE_SIZE);
}

/**
 * The shared part of a ring (`struct <tag>_sring`): header, geometry and slots.
 *
 * Xen maps the granted pages of a multi-page ring at consecutive virtual addresses, so
 * in C a slot that straddles a page boundary (blkif slot 72 of a 4-page ring covers
 * bytes 8128..8239) is one struct. Here pages are views of ArrayBuffers, and two
 * buffers cannot be aliased into one range. So there are two ways to lay the ring out:
 *
 * - **Adjacent** pages (consecutive views of one ArrayBuffer, as a frontend's aligned
 *   allocation and the backend's mapping of it are): one DataView over all of them,
 *   every slot read and written in place. This is the fast, zero-copy case.
 * - **Scattered** pages (a frontend that granted unrelated frames): a slot inside one
 *   page is still read and written in place, through that page's DataView. A slot that
 *   straddles a boundary goes through a bounce buffer of its own (one per boundary, so
 *   at most pages − 1 of them, made up front): it is gathered from the two pages when
 *   this side gets it, and a slot this side writes (a request on the front, a response
 *   on the back) is scattered back by the push, before the producer index is published,
 *   which keeps the protocol's write ordering.
 *
 * Either way every RingSlot is made once, in the constructor: getting a slot on the
 * hot path allocates nothing.
 */
export class SharedRing {
  static readonly layout = SRING_HEADER;
  /** The ring's memory as one range when its pages are adjacent (zero copy), else null. */
  readonly bytes: Uint8Array | null;
  /** The ring's pages, ring-ref0 first (one entry for a ring given as one range). */
  readonly pages: readonly Uint8Array[];
  /** Total bytes, all pages. */
  readonly byteLength: number;
  readonly slotBytes: number;
  /** Number of slots (nr_ents): a power of two. */
  readonly size: number;
  private readonly header: Uint32Array;
  /** slots[i & (size − 1)]: where slot i is read and written (bounce-backed when it straddles). */
  private readonly slots: RingSlot[];
  /** The same slots as byte ranges, made on the first copySlot (RING_COPY_*). */
  private slotRanges: Uint8Array[] | null = null;
  /** For straddling slots: the boundary index (page p / p + 1 is boundary p), else −1. */
  private readonly straddle: Int16Array;
  /** Per page boundary with a straddling slot: its bounce buffer and the page ranges it mirrors. */
  private readonly bounce: Array<Bounce | undefined> = [];
  /** Per boundary: whether its bounce buffer holds a write not yet scattered. */
  private readonly dirty: Uint8Array;
  private dirtyCount = 0;

  /**
   * @param memory the ring pages: one region, or an array of 4 KiB pages in ring-ref0..N
   *   order, adjacent in one ArrayBuffer (zero copy) or not (scattered, see above).
   * @param slotBytes sizeof(union <tag>_sring_entry), e.g. SRING_PROTOCOLS.blkif.slotBytes.
   */
  constructor(memory: GuestBytes | readonly GuestBytes[], slotBytes: number) {
    requireLittleEndianHost();
    if (!(Number.isInteger(slotBytes) && slotBytes > 0 && slotBytes <= XEN_PAGE_SIZE)) throw new RangeError(`shared ring: bad slot size ${slotBytes}`);
    this.slotBytes = slotBytes;
    this.bytes = adjacentMemory(memory);
    this.pages = this.bytes !== null && !Array.isArray(memory) ? [this.bytes] : (memory as readonly GuestBytes[]).map((p, i) => ringPage(p, i));
    const first = this.pages[0]!;
    if (first.byteOffset % 8 !== 0) {
      throw new AbiError('LAYOUT', `shared ring: must be 8-byte aligned, but sits at byte ${first.byteOffset} of its buffer`);
    }
    this.byteLength = this.bytes?.byteLength ?? this.pages.length * XEN_PAGE_SIZE;
    this.size = ringSize(slotBytes, this.byteLength);
    if (this.size === 0) {
      throw new AbiError('LAYOUT', `shared ring: ${this.byteLength} bytes hold no ${slotBytes}-byte slot after the 64-byte header`);
    }
    this.header = new Uint32Array(first.buffer, first.byteOffset, SRING_HEADER.size >>> 2);
    this.straddle = new Int16Array(this.size).fill(-1);
    this.dirty = new Uint8Array(Math.max(0, this.pages.length - 1));
    this.slots = this.bytes !== null ? this.adjacentSlots(this.bytes) : this.scatteredSlots();
  }

  private adjacentSlots(bytes: Uint8Array): RingSlot[] {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return Array.from({ length: this.size }, (_, i) => ({ view, offset: this.slotOffset(i) }));
  }

  private scatteredSlots(): RingSlot[] {
    const views = this.pages.map((p) => new DataView(p.buffer, p.byteOffset, p.byteLength));
    return Array.from({ length: this.size }, (_, i) => {
      const start = this.slotOffset(i);
      const page = Math.floor(start / XEN_PAGE_SIZE);
      const offset = start % XEN_PAGE_SIZE;
      if (offset + this.slotBytes <= XEN_PAGE_SIZE) return { view: views[page]!, offset };
      this.straddle[i] = page;
      // Every subarray the copies use is made here, so gather and flush allocate nothing.
      const bytes = new Uint8Array(this.slotBytes);
      const head = XEN_PAGE_SIZE - offset;
      this.bounce[page] = {
        view: new DataView(bytes.buffer),
        bytes,
        headInPage: this.pages[page]!.subarray(offset),
        tailInPage: this.pages[page + 1]!.subarray(0, this.slotBytes - head),
        head: bytes.subarray(0, head),
        tail: bytes.subarray(head),
        offset,
      };
      return { view: this.bounce[page].view, offset: 0 };
    });
  }

  get reqProd(): number {
    return Atomics.load(this.header, H.reqProd.offset >>> 2);
  }
  set reqProd(v: number) {
    Atomics.store(this.header, H.reqProd.offset >>> 2, v);
  }
  get reqEvent(): number {
    return Atomics.load(this.header, H.reqEvent.offset >>> 2);
  }
  set reqEvent(v: number) {
    Atomics.store(this.header, H.reqEvent.offset >>> 2, v);
  }
  get rspProd(): number {
    return Atomics.load(this.header, H.rspProd.offset >>> 2);
  }
  set rspProd(v: number) {
    Atomics.store(this.header, H.rspProd.offset >>> 2, v);
  }
  get rspEvent(): number {
    return Atomics.load(this.header, H.rspEvent.offset >>> 2);
  }
  set rspEvent(v: number) {
    Atomics.store(this.header, H.rspEvent.offset >>> 2, v);
  }
  /** The 4 pvt bytes (netif: pvt[0] is smartpoll_active). */
  get pvt(): Uint8Array {
    return this.pages[0]!.subarray(H.pvt.offset, H.pvt.offset + H.pvt.size);
  }

  /** Whether the pages are adjacent in one buffer, so every slot is read and written in place. */
  get zeroCopy(): boolean {
    return this.bytes !== null;
  }

  /**
   * SHARED_RING_INIT (done by the frontend): producers 0, **events 1** (so the first
   * push of either side notifies), pvt and __pad zeroed.
   */
  init(): void {
    this.pages[0]!.fill(0, H.pvt.offset, SRING_ENTRIES_OFFSET);
    this.reqProd = 0;
    this.rspProd = 0;
    this.reqEvent = 1;
    this.rspEvent = 1;
  }

  /** Byte offset of the slot for ring index `idx` from the start of the ring (page 0, byte 0). */
  slotOffset(idx: number): number {
    return SRING_ENTRIES_OFFSET + (idx & (this.size - 1)) * this.slotBytes;
  }

  /**
   * The slot for ring index `idx`, to read what the peer wrote (RING_GET_REQUEST on the
   * back, RING_GET_RESPONSE on the front). A straddling slot of a scattered ring is
   * gathered into its bounce buffer now: a snapshot, which also gives the backend the
   * private copy RING_COPY_REQUEST asks for.
   */
  slot(idx: number): RingSlot {
    const i = idx & (this.size - 1);
    const b = this.straddle[i]!;
    if (b >= 0) this.gather(b);
    return this.slots[i]!;
  }

  /**
   * The slot for ring index `idx`, to fill (a request on the front, a response on the
   * back). A straddling slot of a scattered ring is gathered first (so the bytes the
   * writer leaves alone stay what they were) and scattered back by flush().
   */
  slotForWrite(idx: number): RingSlot {
    const i = idx & (this.size - 1);
    const b = this.straddle[i]!;
    if (b >= 0) {
      this.gather(b);
      if (this.dirty[b] === 0) {
        this.dirty[b] = 1;
        this.dirtyCount++;
      }
    }
    return this.slots[i]!;
  }

  /**
   * RING_COPY_REQUEST / RING_COPY_RESPONSE: copy the slot for `idx` into `dest` (at
   * least slotBytes long), so the peer can no longer change what is then validated and
   * used: every field is read once, from a copy the peer does not share.
   */
  copySlot(idx: number, dest: Uint8Array): void {
    if (dest.length < this.slotBytes) throw new RangeError(`copying a ${this.slotBytes}-byte slot into ${dest.length} bytes`);
    // A straddling slot of a scattered ring is gathered into its bounce buffer first.
    this.slot(idx);
    this.slotRanges ??= this.slots.map((r) => new Uint8Array(r.view.buffer, r.view.byteOffset + r.offset, this.slotBytes));
    dest.set(this.slotRanges[idx & (this.size - 1)]!);
  }

  /**
   * Scatter the straddling slots written since the last flush back into their pages.
   * The push macros call it before publishing the producer index (their xen_wmb()).
   */
  flush(): void {
    if (this.dirtyCount === 0) return;
    for (let b = 0; b < this.dirty.length; b++) {
      if (this.dirty[b] === 0) continue;
      const x = this.bounce[b]!;
      this.pages[b]!.set(x.head, x.offset);
      this.pages[b + 1]!.set(x.tail, 0);
      this.dirty[b] = 0;
    }
    this.dirtyCount = 0;
  }

  private gather(b: number): void {
    const x = this.bounce[b]!;
    x.bytes.set(x.headInPage, 0);
    x.bytes.set(x.tailInPage, x.head.length);
  }
}

/** The bounce buffer of the slot straddling one page boundary of a scattered ring. */
interface Bounce {
  readonly view: DataView;
  readonly bytes: Uint8Array;
  /** The slot's bytes in the page before the boundary, and in the page after it. */
  readonly headInPage: Uint8Array;
  readonly tailInPage: Uint8Array;
  /** The same two parts in the bounce buffer. */
  readonly head: Uint8Array;
  readonly tail: Uint8Array;
  /** Where the slot starts in the page before the boundary. */
  readonly offset: number;
}

/** The ring's memory as one range if it is one (a region, or pages adjacent in one buffer), else null. */
function adjacentMemory(memory: GuestBytes | readonly GuestBytes[]): Uint8Array | null {
  if (!Array.isArray(memory)) return contiguousMemory(memory as GuestBytes, 'shared ring');
  const pages = memory as readonly GuestBytes[];
  if (pages.length === 0) throw new AbiError('LAYOUT', 'shared ring: no pages');
  try {
    return contiguousMemory(pages, 'shared ring');
  } catch {
    return null;
  }
}

/** Page `i` of a scattered ring, checked to be one whole 4 KiB page. */
function ringPage(page: GuestBytes, i: number): Uint8Array {
  const w = memoryWindow(page);
  if (w.byteLength !== XEN_PAGE_SIZE) throw new AbiError('LAYOUT', `shared ring: page ${i} has ${w.byteLength} bytes, not ${XEN_PAGE_SIZE}`);
  return new Uint8Array(w.buffer, w.byteOffset, w.byteLength);
}

/** The frontend's half: pushes requests, consumes responses. */
export class FrontRing {
  /** Requests built but not yet pushed end at this index. */
  reqProdPvt: number;
  /** Next response to consume. */
  rspCons: number;

  /** FRONT_RING_ATTACH(r, s, start): both private indices at `start` (0 = FRONT_RING_INIT). */
  constructor(
    readonly sring: SharedRing,
    start = 0,
  ) {
    this.reqProdPvt = start >>> 0;
    this.rspCons = start >>> 0;
  }

  /** XEN_FRONT_RING_INIT: SHARED_RING_INIT on the page, then FRONT_RING_INIT. */
  static init(sring: SharedRing): FrontRing {
    sring.init();
    return new FrontRing(sring);
  }

  get size(): number {
    return this.sring.size;
  }

  /** RING_FREE_REQUESTS: slots not holding an outstanding request. */
  freeRequests(): number {
    return (this.sring.size - ((this.reqProdPvt - this.rspCons) >>> 0)) >>> 0;
  }

  /** RING_FULL. */
  isFull(): boolean {
    return this.freeRequests() === 0;
  }

  /** RING_GET_REQUEST(r, idx): a request slot to fill. */
  request(idx: number): RingSlot {
    return this.sring.slotForWrite(idx);
  }

  /** `RING_GET_REQUEST(r, r->req_prod_pvt++)`: the next free request slot. Throws when full. */
  nextRequest(): RingSlot {
    if (this.isFull()) throw new RangeError(`front ring full: ${this.sring.size} requests outstanding`);
    const slot = this.sring.slotForWrite(this.reqProdPvt);
    this.reqProdPvt = (this.reqProdPvt + 1) >>> 0;
    return slot;
  }

  /** RING_PUSH_REQUESTS: publish the requests built so far, without the notify test. */
  pushRequests(): void {
    // wmb: the backend sees the requests before the updated producer index.
    this.sring.flush();
    this.sring.reqProd = this.reqProdPvt;
  }

  /**
   * RING_PUSH_REQUESTS_AND_CHECK_NOTIFY: publish req_prod, then (full barrier) read
   * req_event; true when the backend asked to be notified within the pushed range.
   */
  pushRequestsAndCheckNotify(): boolean {
    const oldProd = this.sring.reqProd;
    const newProd = this.reqProdPvt;
    this.sring.flush();
    this.sring.reqProd = newProd;
    return ringNotifyNeeded(oldProd, newProd, this.sring.reqEvent);
  }

  /** RING_RESPONSE_PROD_OVERFLOW: could there be this many responses? */
  responseProdOverflow(prod: number): boolean {
    return (prod - this.rspCons) >>> 0 > this.sring.size;
  }

  /**
   * rsp_prod read from the page (the rmb of the consume loop follows it), checked with
   * RING_RESPONSE_PROD_OVERFLOW: an ill-behaved backend throws RingProtocolError.
   */
  responseProd(): number {
    const prod = this.sring.rspProd;
    if (this.responseProdOverflow(prod)) {
      throw new RingProtocolError('RING_RESPONSE_PROD_OVERFLOW', 'front ring', prod, this.rspCons, this.sring.size);
    }
    return prod;
  }

  /** XEN_RING_NR_UNCONSUMED_RESPONSES (checked, see responseProd). */
  unconsumedResponses(): number {
    return (this.responseProd() - this.rspCons) >>> 0;
  }

  /** RING_HAS_UNCONSUMED_RESPONSES. */
  hasUnconsumedResponses(): boolean {
    return this.unconsumedResponses() > 0;
  }

  /** RING_GET_RESPONSE(r, idx). */
  response(idx: number): RingSlot {
    return this.sring.slot(idx);
  }

  /** RING_COPY_RESPONSE(r, idx, dest). */
  copyResponse(idx: number, dest: Uint8Array): void {
    this.sring.copySlot(idx, dest);
  }

  /** The response at rsp_cons, consuming it; undefined when none is unconsumed. */
  takeResponse(): RingSlot | undefined {
    if (this.unconsumedResponses() === 0) return undefined;
    const slot = this.sring.slot(this.rspCons);
    this.rspCons = (this.rspCons + 1) >>> 0;
    return slot;
  }

  /**
   * RING_FINAL_CHECK_FOR_RESPONSES, before going idle: if nothing is unconsumed, set
   * rsp_event = rsp_cons + 1 (wake me at the next response), full barrier, and look
   * again; a response pushed in between would otherwise be lost. True = more work.
   */
  finalCheckForResponses(): boolean {
    if (this.hasUnconsumedResponses()) return true;
    this.sring.rspEvent = (this.rspCons + 1) >>> 0;
    return this.hasUnconsumedResponses();
  }
}

/** The backend's half: consumes requests, pushes responses. */
export class BackRing {
  /** Responses built but not yet pushed end at this index. */
  rspProdPvt: number;
  /** Next request to consume. */
  reqCons: number;

  /** BACK_RING_ATTACH(r, s, start) (0 = BACK_RING_INIT). The backend never initialises the page. */
  constructor(
    readonly sring: SharedRing,
    start = 0,
  ) {
    this.rspProdPvt = start >>> 0;
    this.reqCons = start >>> 0;
  }

  get size(): number {
    return this.sring.size;
  }

  /** RING_REQUEST_PROD_OVERFLOW: "Ill-behaved frontend determination: Can there be this many requests?" */
  requestProdOverflow(prod: number): boolean {
    return (prod - this.rspProdPvt) >>> 0 > this.sring.size;
  }

  /** RING_REQUEST_CONS_OVERFLOW: loop guard, "would the specified index overflow the ring?" */
  requestConsOverflow(cons: number): boolean {
    return (cons - this.rspProdPvt) >>> 0 >= this.sring.size;
  }

  /**
   * req_prod read from the page, checked with RING_REQUEST_PROD_OVERFLOW: a frontend
   * claiming more requests than the ring holds throws RingProtocolError (blkback logs
   * "Frontend provided bogus ring requests" and halts the ring).
   */
  requestProd(): number {
    const prod = this.sring.reqProd;
    if (this.requestProdOverflow(prod)) {
      throw new RingProtocolError('RING_REQUEST_PROD_OVERFLOW', 'back ring', prod, this.rspProdPvt, this.sring.size);
    }
    return prod;
  }

  /**
   * XEN_RING_NR_UNCONSUMED_REQUESTS: min(req_prod − req_cons, size − (req_cons −
   * rsp_prod_pvt)); the second term caps it at the slots whose responses are not yet
   * produced, so a request slot is never read while its response may overwrite it.
   * Checked first with RING_REQUEST_PROD_OVERFLOW (see requestProd).
   */
  unconsumedRequests(): number {
    const req = (this.requestProd() - this.reqCons) >>> 0;
    const rsp = (this.sring.size - ((this.reqCons - this.rspProdPvt) >>> 0)) >>> 0;
    return req < rsp ? req : rsp;
  }

  /** RING_HAS_UNCONSUMED_REQUESTS. */
  hasUnconsumedRequests(): boolean {
    return this.unconsumedRequests() > 0;
  }

  /** RING_GET_REQUEST(r, idx). Copy what you validate: the frontend can still change it. */
  request(idx: number): RingSlot {
    return this.sring.slot(idx);
  }

  /** RING_COPY_REQUEST(r, idx, dest): what a backend validates and uses, out of the frontend's reach. */
  copyRequest(idx: number, dest: Uint8Array): void {
    this.sring.copySlot(idx, dest);
  }

  /** The request at req_cons, consuming it; undefined when none is unconsumed. */
  takeRequest(): RingSlot | undefined {
    if (this.unconsumedRequests() === 0) return undefined;
    const slot = this.sring.slot(this.reqCons);
    this.reqCons = (this.reqCons + 1) >>> 0;
    return slot;
  }

  /** RING_GET_RESPONSE(r, idx): a response slot to fill. */
  response(idx: number): RingSlot {
    return this.sring.slotForWrite(idx);
  }

  /**
   * `RING_GET_RESPONSE(r, r->rsp_prod_pvt++)`: the next response slot. A response takes
   * the slot of a request already consumed; with none left to answer this throws
   * instead of overwriting a request the backend has not read.
   */
  nextResponse(): RingSlot {
    if (this.rspProdPvt === this.reqCons) throw new RangeError('back ring: every consumed request already has its response');
    const slot = this.sring.slotForWrite(this.rspProdPvt);
    this.rspProdPvt = (this.rspProdPvt + 1) >>> 0;
    return slot;
  }

  /** RING_PUSH_RESPONSES. */
  pushResponses(): void {
    // wmb: the frontend sees the responses before the updated producer index.
    this.sring.flush();
    this.sring.rspProd = this.rspProdPvt;
  }

  /** RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: publish rsp_prod, full barrier, test rsp_event. */
  pushResponsesAndCheckNotify(): boolean {
    const oldProd = this.sring.rspProd;
    const newProd = this.rspProdPvt;
    this.sring.flush();
    this.sring.rspProd = newProd;
    return ringNotifyNeeded(oldProd, newProd, this.sring.rspEvent);
  }

  /**
   * RING_FINAL_CHECK_FOR_REQUESTS: if nothing is unconsumed, set req_event =
   * req_cons + 1, full barrier, look again. True = more work, do not sleep.
   */
  finalCheckForRequests(): boolean {
    if (this.hasUnconsumedRequests()) return true;
    this.sring.reqEvent = (this.reqCons + 1) >>> 0;
    return this.hasUnconsumedRequests();
  }
}
