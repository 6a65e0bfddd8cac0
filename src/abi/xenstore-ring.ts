/**
 * The xenstore ring page: struct xenstore_domain_interface (xen/io/xs_wire.h), as
 * described by misc/xenstore-ring.txt. Two 1024-byte byte streams (req: guest →
 * xenstored, rsp: xenstored → guest; framing is xsd_sockmsg, the same as on the unix
 * socket) and three signalling words. The stream rules and the memory order are in
 * byte-ring.ts.
 *
 * Who writes what: the guest writes req[], req_prod, rsp_cons and may set connection to
 * RECONNECT; the server writes rsp[], rsp_prod, req_cons, server_features (only ever
 * adding bits), error, and sets connection back to CONNECTED.
 */
import { ByteStreamReader, ByteStreamWriter, type ByteStreamGeometry } from './byte-ring.js';
import { XENSTORE_CONNECTION, XENSTORE_RING_SIZE } from './constants.js';
import { defineStruct, structWindow, type GuestBytes, type StructWindow } from './layout.js';

/** struct xenstore_domain_interface: 2076 bytes used of the 4096-byte page. */
export const XENSTORE_DOMAIN_INTERFACE = defineStruct({
  c: 'struct xenstore_domain_interface',
  header: 'xen/io/xs_wire.h',
  size: 2076,
  align: 4,
  fields: {
    /** Requests to the xenstore daemon. */
    req: { offset: 0, size: 1024, c: 'req', count: 1024 },
    /** Replies and asynchronous watch events. */
    rsp: { offset: 1024, size: 1024, c: 'rsp', count: 1024 },
    reqCons: { offset: 2048, size: 4, c: 'req_cons' },
    reqProd: { offset: 2052, size: 4, c: 'req_prod' },
    rspCons: { offset: 2056, size: 4, c: 'rsp_cons' },
    rspProd: { offset: 2060, size: 4, c: 'rsp_prod' },
    /** XENSTORE_SERVER_FEATURE_* bits. */
    serverFeatures: { offset: 2064, size: 4, c: 'server_features' },
    /** XENSTORE_CONNECTED / XENSTORE_RECONNECT. */
    connection: { offset: 2068, size: 4, c: 'connection' },
    /** XENSTORE_ERROR_*. */
    error: { offset: 2072, size: 4, c: 'error' },
  },
});

const X = XENSTORE_DOMAIN_INTERFACE.fields;

const REQ: ByteStreamGeometry = {
  name: 'xenstore req',
  dataOffset: X.req.offset,
  size: XENSTORE_RING_SIZE,
  consOffset: X.reqCons.offset,
  prodOffset: X.reqProd.offset,
};
const RSP: ByteStreamGeometry = {
  name: 'xenstore rsp',
  dataOffset: X.rsp.offset,
  size: XENSTORE_RING_SIZE,
  consOffset: X.rspCons.offset,
  prodOffset: X.rspProd.offset,
};

/** The page itself: indices and signalling words, with no stream end attached. */
class XenstoreRingPage {
  protected readonly win: StructWindow;
  private readonly words: Uint32Array;

  constructor(mem: GuestBytes, offset: number) {
    this.win = structWindow(mem, offset, XENSTORE_DOMAIN_INTERFACE.size, XENSTORE_DOMAIN_INTERFACE.align, 'xenstore_domain_interface');
    this.words = new Uint32Array(this.win.buffer, this.win.byteOffset, this.win.byteLength >>> 2);
  }

  protected load(off: number): number {
    return Atomics.load(this.words, off >>> 2);
  }
  protected store(off: number, v: number): void {
    Atomics.store(this.words, off >>> 2, v);
  }

  get reqCons(): number {
    return this.load(X.reqCons.offset);
  }
  get reqProd(): number {
    return this.load(X.reqProd.offset);
  }
  get rspCons(): number {
    return this.load(X.rspCons.offset);
  }
  get rspProd(): number {
    return this.load(X.rspProd.offset);
  }
  get serverFeatures(): number {
    return this.load(X.serverFeatures.offset);
  }
  get connection(): number {
    return this.load(X.connection.offset);
  }
  get error(): number {
    return this.load(X.error.offset);
  }
}

/** The guest's end: writes requests into req[], reads replies and events from rsp[]. */
export class XenstoreRingGuest extends XenstoreRingPage {
  private readonly req: ByteStreamWriter;
  private readonly rsp: ByteStreamReader;

  constructor(mem: GuestBytes, offset = 0) {
    super(mem, offset);
    this.req = new ByteStreamWriter(this.win, REQ);
    this.rsp = new ByteStreamReader(this.win, RSP);
  }

  /** Queue request bytes; returns how many fit. Notify the store event channel after. */
  write(bytes: Uint8Array): number {
    return this.req.write(bytes);
  }
  /** Free bytes in req[]. */
  requestSpace(): number {
    return this.req.space();
  }
  /** Take up to `max` reply bytes. Notify after, so a server blocked on a full rsp[] resumes. */
  read(max?: number): Uint8Array {
    return this.rsp.read(max);
  }
  readInto(dst: Uint8Array): number {
    return this.rsp.readInto(dst);
  }
  /** Reply bytes ready in rsp[]. */
  responseAvailable(): number {
    return this.rsp.available();
  }
  /**
   * Ask for a reconnection (only if the server advertised RECONNECTION): set connection
   * to RECONNECT and notify; then ignore everything but `connection` until it is
   * CONNECTED again.
   */
  requestReconnect(): void {
    this.store(X.connection.offset, XENSTORE_CONNECTION.RECONNECT);
  }
}

/** xenstored's end: reads requests from req[], writes replies and events into rsp[]. */
export class XenstoreRingServer extends XenstoreRingPage {
  private readonly req: ByteStreamReader;
  private readonly rsp: ByteStreamWriter;

  constructor(mem: GuestBytes, offset = 0) {
    super(mem, offset);
    this.req = new ByteStreamReader(this.win, REQ);
    this.rsp = new ByteStreamWriter(this.win, RSP);
  }

  /** Take up to `max` request bytes. Notify after, so a guest blocked on a full req[] resumes. */
  read(max?: number): Uint8Array {
    return this.req.read(max);
  }
  readInto(dst: Uint8Array): number {
    return this.req.readInto(dst);
  }
  /** Request bytes ready in req[]. */
  requestAvailable(): number {
    return this.req.available();
  }
  /** Queue reply bytes; returns how many fit. Notify the guest after. */
  write(bytes: Uint8Array): number {
    return this.rsp.write(bytes);
  }
  /** Free bytes in rsp[]. */
  responseSpace(): number {
    return this.rsp.space();
  }

  /** Advertise features (XENSTORE_SERVER_FEATURE_*). Bits are only ever added, never cleared. */
  advertiseFeatures(bits: number): void {
    this.store(X.serverFeatures.offset, (this.serverFeatures | bits) >>> 0);
  }
  /** Set the error indicator (XENSTORE_ERROR_*) before stopping to serve the ring. */
  setError(code: number): void {
    this.store(X.error.offset, code);
  }

  /**
   * Finish a guest-requested reconnection: empty both queues (the indices go to 0, as
   * xenstored's domain_conn_reset does), and only then set connection back to
   * CONNECTED, so the guest never sees CONNECTED with stale indices. The caller has
   * already dropped partial packets, in-flight requests, watches and transactions, and
   * notifies the guest afterwards. The error word is left alone: a server that resumes
   * service after an error clears it itself with setError(XENSTORE_ERROR.NONE).
   */
  completeReconnect(): void {
    this.store(X.reqCons.offset, 0);
    this.store(X.reqProd.offset, 0);
    this.store(X.rspCons.offset, 0);
    this.store(X.rspProd.offset, 0);
    this.store(X.connection.offset, XENSTORE_CONNECTION.CONNECTED);
  }
}
