import { PerDeviceDriver, type HeldResources } from '../xenbus/per-device-driver.js';
import {
  BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST,
  BLKIF_MAX_SEGMENTS_PER_REQUEST,
  BLKIF_OP,
  BLKIF_RSP,
  BLKIF_SECTOR_SIZE,
  BLKIF_SECTORS_PER_PAGE,
  BLKIF_SEGS_PER_INDIRECT_FRAME,
  BlkifRequestView,
  BlkifResponseView,
  FrontRing,
  indirectPages,
  ringPages,
  ringSize,
  SharedRing,
  SRING_PROTOCOLS,
  VDISK,
  writeIndirectSegment,
  XEN_IO_PROTO_ABI_X86_64,
  XEN_PAGE_SIZE,
  XenbusState,
  type BlkifSegment,
} from '../../abi/index.js';
import { withTimeout } from '../../hypervisor/clock.js';
import type { XenIntrSource } from '../intr/xen-intr.js';
import type { XenbusDevice } from '../xenbus/device.js';
import type { Freeze } from '../xenbus/driver.js';
import { grantRing, XENBUS_MAX_RING_GRANTS, type GrantedRing } from '../xenbus/grant-ring.js';
import { BlockIoError, type BlockDriverDisk, type BlockLayer, type BlockRequest } from './block-layer.js';
import type { BlkKernel } from './context.js';
import { vbdName } from './vbd-name.js';
import { ERRNO, parseUnsigned, readOptional, readOtherendOptional } from './xenbus-util.js';

const SLOT = SRING_PROTOCOLS.blkif.slotBytes;

/** blkfront's own limits (the issue's): 128 KiB requests, (128 KiB / page) + 1 segments, 256 requests. */
export const BLKFRONT_MAX_REQUEST_SIZE = 128 * 1024;
export const BLKFRONT_MAX_SEGMENTS = BLKFRONT_MAX_REQUEST_SIZE / XEN_PAGE_SIZE + 1;
export const BLKFRONT_MAX_REQUESTS = 256;
/** How long a suspend waits for the requests in flight (less than the toolstack's 60 s wait for the suspend). */
export const BLKFRONT_DRAIN_TIMEOUT_NS = 30e9;

/** What a backend that says nothing offers: the original protocol's one page, 32 requests, 11 segments. */
const ORIGINAL = {
  ringPages: 1,
  requests: ringSize(SLOT, XEN_PAGE_SIZE),
  segments: BLKIF_MAX_SEGMENTS_PER_REQUEST,
  requestSize: BLKIF_MAX_SEGMENTS_PER_REQUEST * XEN_PAGE_SIZE,
};

/** Tunables: `skipInitWait` makes the frontend publish its ring at once, without waiting for the backend's InitWait. */
export interface BlkfrontTunables {
  skipInitWait: boolean;
  /** Offer feature-persistent (Linux blkfront's feature_persistent parameter). */
  persistent: boolean;
}

/** The limits both ends agreed on. */
export interface BlkfrontLimits {
  ringPages: number;
  requests: number;
  segments: number;
  requestSize: number;
  indirect: boolean;
  /** feature-persistent: both ends offered it (known once Connected). */
  persistent: boolean;
}

/** A request on the ring (Linux's blk_shadow): how to finish it. */
interface Shadow {
  req: BlockRequest;
  refs: number[];
}

/**
 * One disk of the guest (FreeBSD's struct xbd_softc): the negotiated ring, the event
 * channel, the shadow table of requests in flight by id, and the disk it gives the
 * block layer once the backend is Connected.
 */
class BlkfrontInstance implements BlockDriverDisk {
  private queue: Promise<void> = Promise.resolve();
  readonly name: string;
  readonly vdev: number;
  readonly unitName: string;
  sectorSize = BLKIF_SECTOR_SIZE;
  sectors = 0;
  readOnly = false;
  features = { flush: false, barrier: false, discard: false };
  maxRequestBytes = ORIGINAL.requestSize;
  maxInFlight = ORIGINAL.requests;
  limits: BlkfrontLimits | null = null;
  private granted: GrantedRing | null = null;
  private ring: FrontRing | null = null;
  private src: XenIntrSource | null = null;
  private shadows: Array<Shadow | null> = [];
  private freeIds: number[] = [];
  /** Per shadow id, the frames of its indirect pages (when indirect descriptors are used). */
  private indirect: number[][] = [];
  /** The same pages as DataViews, made once: a request writes its descriptors through them. */
  private indirectViews: DataView[][] = [];
  private readonly ringWaiters: Array<() => void> = [];
  private connected = false;
  /** Suspending: no new request goes on the ring until a thaw (or the resumed domain's new connection). */
  private frozen = false;
  private readonly drained: Array<() => void> = [];
  private inFlight = 0;
  /** feature-persistent is in use on this connection. */
  private persistent = false;
  private readonly reclaim = (gfn: number): void => this.reclaimFrame(gfn);
  /**
   * With feature-persistent, the grant of each frame this disk has used, by frame:
   * granted read-write once and kept while the frame is ours to use (Linux's
   * persistent grant list). The frames are the block layer's queue buffers and the
   * indirect pages, reused request after request, so the pool is bounded by them. A
   * frame's grant ends when the frame is given up (reclaimFrame), and the frame is
   * freed only once the grant really ended, so a page the backend may still write is
   * never handed to anyone else. An array by frame number, not a Map: it is looked up
   * for every page of every request (256 times a MiB), and a Map lookup was the
   * largest single cost of a submit.
   */
  private readonly frameGrants: Array<number | undefined> = [];

  constructor(
    readonly dev: XenbusDevice,
    private readonly k: BlkKernel,
    private readonly blocks: BlockLayer,
    unit: number,
    vdev: number,
    private readonly tunables: BlkfrontTunables,
  ) {
    this.vdev = vdev;
    this.unitName = `xbd${unit}`;
    this.name = vbdName(vdev)?.name ?? `xbd${unit}`;
  }

  serial(work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(work).catch((err: Error) => this.k.log.print(`${this.unitName}: ${this.dev.node}: ${err.message}`));
    this.queue = next;
    return next;
  }

  private print(line: string): void {
    this.k.log.print(`${this.unitName}: ${line}`);
  }

  async attach(): Promise<void> {
    this.print(`${this.name} (virtual-device ${this.vdev}) on ${this.dev.node}, backend domain ${this.dev.otherend!.domid}`);
    if (this.tunables.skipInitWait) await this.initialise();
  }

  /** blkfront_backend_changed (FreeBSD xbd_backend_changed). */
  async otherendChanged(state: XenbusState): Promise<void> {
    switch (state) {
      case XenbusState.InitWait:
      case XenbusState.Initialised:
        if (this.dev.state === XenbusState.Initialising) await this.initialise();
        return;
      case XenbusState.Connected:
        // A backend may skip states: a frontend that has not published its ring does it now.
        if (this.dev.state === XenbusState.Initialising) await this.initialise();
        await this.connect();
        return;
      case XenbusState.Closing:
      case XenbusState.Closed:
        if (this.dev.state !== XenbusState.Closed) await this.close(state === XenbusState.Closing);
        // The backend let go of the ring: its grants end now.
        else if (state === XenbusState.Closed) this.releaseRing();
        return;
      default:
        return;
    }
  }

  /**
   * xbd_initialize / talk_to_blkback: negotiate, grant the ring, bind the event channel,
   * publish, go Initialised. Every limit is the lesser of ours and the backend's; a key
   * the backend did not publish means the original protocol's value.
   */
  private async initialise(): Promise<void> {
    const limits = await this.negotiate();
    const beDomid = this.dev.otherend!.domid;
    try {
      this.granted = grantRing(this.k, beDomid, limits.ringPages);
      this.ring = FrontRing.init(new SharedRing(this.granted.pages, SLOT));
      this.src = this.k.intr.allocAndBindLocalPort(this.unitName, beDomid, { ithread: () => this.interrupt() });
      this.shadows = new Array<Shadow | null>(limits.requests).fill(null);
      this.freeIds = Array.from({ length: limits.requests }, (_, i) => limits.requests - 1 - i);
      this.indirect = limits.indirect ? Array.from({ length: limits.requests }, () => Array.from({ length: indirectPages(limits.segments) }, () => this.k.pageAllocator.alloc())) : [];
      this.indirectViews = this.indirect.map((frames) => frames.map((gfn) => {
        const page = this.k.page(gfn);
        return new DataView(page.buffer, page.byteOffset, page.byteLength);
      }));
    } catch (err) {
      this.releaseRing();
      await this.dev.fatal('ENOMEM', `setting up the ring: ${(err as Error).message}`);
      return;
    }
    this.limits = limits;
    this.maxRequestBytes = limits.requestSize;
    this.maxInFlight = limits.requests;
    await this.publish(limits);
    await this.dev.setState(XenbusState.Initialised);
  }

  private async negotiate(): Promise<BlkfrontLimits> {
    const read = async (key: string) => parseUnsigned(await readOtherendOptional(this.dev, key));
    const order = await read('max-ring-page-order');
    const maxRingPages = await read('max-ring-pages');
    const maxRequests = await read('max-requests');
    const maxSegments = await read('max-request-segments');
    const maxSize = await read('max-request-size');
    const indirectSegs = await read('feature-max-indirect-segments');
    const shown = (v: number | undefined, dflt: number) => (v === undefined ? `${dflt} (not published: the original protocol's)` : String(v));
    const backendPages = order !== undefined ? 2 ** Math.min(order, 16) : (maxRingPages ?? ORIGINAL.ringPages);
    const backendRequests = maxRequests ?? ringSize(SLOT, backendPages * XEN_PAGE_SIZE);
    // Beyond 11 segments a request needs indirect descriptors, which only feature-max-indirect-segments offers.
    const backendSegments = indirectSegs !== undefined ? Math.max(indirectSegs, BLKIF_MAX_SEGMENTS_PER_REQUEST) : Math.min(maxSegments ?? ORIGINAL.segments, BLKIF_MAX_SEGMENTS_PER_REQUEST);
    const backendSize = maxSize ?? backendSegments * XEN_PAGE_SIZE;
    this.print(
      `backend offers: ring pages ${order !== undefined ? `${backendPages} (max-ring-page-order ${order})` : shown(maxRingPages, ORIGINAL.ringPages)}, ` +
        `requests ${shown(maxRequests, backendRequests)}, segments ${indirectSegs !== undefined ? `${indirectSegs} (indirect)` : shown(maxSegments, ORIGINAL.segments)}, ` +
        `request size ${shown(maxSize, backendSize)}`,
    );
    this.print(`frontend wants: requests ${BLKFRONT_MAX_REQUESTS}, segments ${BLKFRONT_MAX_SEGMENTS}, request size ${BLKFRONT_MAX_REQUEST_SIZE}`);
    const segments = Math.min(BLKFRONT_MAX_SEGMENTS, backendSegments, BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * BLKIF_SEGS_PER_INDIRECT_FRAME);
    // Buffers are page-aligned, so a request moves whole pages: at most `segments` of them.
    const requestSize = Math.floor(Math.min(BLKFRONT_MAX_REQUEST_SIZE, backendSize, segments * XEN_PAGE_SIZE) / XEN_PAGE_SIZE) * XEN_PAGE_SIZE;
    let requests = Math.min(BLKFRONT_MAX_REQUESTS, backendRequests);
    // Ring pages enough for the request count (__RING_PAGES, a power of two), within the backend's maximum.
    let pages = 1;
    while (pages < ringPages(SLOT, requests) && pages * 2 <= Math.min(backendPages, XENBUS_MAX_RING_GRANTS)) pages *= 2;
    requests = Math.min(requests, ringSize(SLOT, pages * XEN_PAGE_SIZE));
    const limits: BlkfrontLimits = { ringPages: pages, requests, segments, requestSize, indirect: segments > BLKIF_MAX_SEGMENTS_PER_REQUEST, persistent: false };
    const reduced: string[] = [];
    if (requests < BLKFRONT_MAX_REQUESTS) reduced.push(`requests ${BLKFRONT_MAX_REQUESTS} -> ${requests}`);
    if (segments < BLKFRONT_MAX_SEGMENTS) reduced.push(`segments ${BLKFRONT_MAX_SEGMENTS} -> ${segments}`);
    if (requestSize < BLKFRONT_MAX_REQUEST_SIZE) reduced.push(`request size ${BLKFRONT_MAX_REQUEST_SIZE} -> ${requestSize}`);
    if (reduced.length > 0) this.print(`reducing to the backend's limits: ${reduced.join(', ')}`);
    this.print(`using ${pages} ring page${pages === 1 ? '' : 's'}, ${requests} requests, ${segments} segments${limits.indirect ? ' (indirect)' : ''}, ${requestSize}-byte requests`);
    return limits;
  }

  /** The frontend's nodes, in one transaction (retried on EAGAIN). */
  private async publish(limits: BlkfrontLimits): Promise<void> {
    const dev = this.dev;
    const refs = this.granted!.refs;
    await dev.xs.transaction(async (tx) => {
      const w = (k: string, v: number | string) => dev.xs.write(`${dev.node}/${k}`, String(v), tx);
      // One page: plain ring-ref (what a backend without multi-page rings reads). More: ring-ref0..N-1 and no ring-ref.
      if (refs.length === 1) await w('ring-ref', refs[0]!);
      else {
        await dev.xs.rm(`${dev.node}/ring-ref`, tx).catch(() => {});
        for (const [i, ref] of refs.entries()) await w(`ring-ref${i}`, ref);
      }
      await w('num-ring-pages', refs.length);
      await w('ring-page-order', Math.log2(refs.length));
      await w('event-channel', this.src!.port);
      await w('protocol', XEN_IO_PROTO_ABI_X86_64);
      await w('max-requests', limits.requests);
      await w('max-request-segments', limits.segments);
      await w('max-request-size', limits.requestSize);
      if (this.tunables.persistent) await w('feature-persistent', 1);
    });
  }

  /** xbd_connect: read the disk's properties, give the disk to the block layer, go Connected. */
  private async connect(): Promise<void> {
    if (this.connected || this.ring === null) return;
    const read = async (key: string) => parseUnsigned(await readOtherendOptional(this.dev, key));
    const sectors = await read('sectors');
    if (sectors === undefined) {
      await this.dev.fatal('EINVAL', 'backend published no sectors');
      return;
    }
    const sectorSize = (await read('sector-size')) ?? BLKIF_SECTOR_SIZE;
    if (sectorSize < BLKIF_SECTOR_SIZE || (sectorSize & (sectorSize - 1)) !== 0 || sectorSize > XEN_PAGE_SIZE) {
      await this.dev.fatal('EINVAL', `backend's sector-size ${sectorSize} is not a power of two from 512 to 4096`);
      return;
    }
    const info = (await read('info')) ?? 0;
    this.sectors = sectors;
    this.sectorSize = sectorSize;
    this.readOnly = (info & VDISK.READONLY) !== 0;
    this.features = {
      flush: (await read('feature-flush-cache')) === 1,
      barrier: (await read('feature-barrier')) === 1,
      discard: (await read('feature-discard')) === 1,
    };
    // blkfront_gather_backend_features: persistent grants only if both ends offered them.
    const persistent = this.tunables.persistent && (await read('feature-persistent')) === 1;
    this.limits!.persistent = persistent;
    this.persistent = persistent;
    this.connected = true;
    const f = Object.entries(this.features).filter(([, on]) => on).map(([n]) => n);
    this.print(`${this.name}: ${sectors * sectorSize} bytes (${sectors} ${sectorSize}-byte sectors)${this.readOnly ? ', read-only' : ''}${info & VDISK.CDROM ? ', cdrom' : ''}, features: ${f.join(' ') || 'none'}`);
    this.blocks.add(this);
    await this.dev.setState(XenbusState.Connected);
  }

  /** The disk's requests: see BlockDriverDisk.submit. On the ring now if a slot is free, else once one is. */
  submit(req: BlockRequest): void {
    if (this.slotFree()) return this.push(req);
    if (!this.connected) throw new BlockIoError('ENODEV', `${this.name}: the disk is not connected`, null);
    this.ringWaiters.push(() => {
      if (!this.connected) return req.done(new BlockIoError('ENODEV', `${this.name}: the disk went away`, null));
      try {
        this.push(req);
      } catch (err) {
        req.done(err as Error);
      }
    });
  }

  /** Put one request on the ring (a slot is free); the response ends it (see interrupt). */
  private push(request: BlockRequest): void {
    const { op, offset, length, buf, first } = request;
    const ring = this.ring!;
    const limits = this.limits!;
    const id = this.freeIds.pop()!;
    const beDomid = this.dev.otherend!.domid;
    const refs: number[] = [];
    const sector = BigInt(offset / BLKIF_SECTOR_SIZE);
    let took = false;
    try {
      const slot = ring.nextRequest();
      took = true;
      const req = new BlkifRequestView(slot.view, slot.offset);
      if (op === 'discard') {
        req.writeDiscard(this.vdev, BigInt(id), sector, BigInt(length / BLKIF_SECTOR_SIZE), false);
      } else {
        // Grants for the data pages: read-only when the backend only reads them.
        const n = Math.ceil(length / XEN_PAGE_SIZE);
        const lastSect = (length - (n - 1) * XEN_PAGE_SIZE) / BLKIF_SECTOR_SIZE - 1;
        const readonly = op !== 'read';
        const ringOp = op === 'read' ? BLKIF_OP.READ : op === 'write' ? BLKIF_OP.WRITE : op === 'barrier' ? BLKIF_OP.WRITE_BARRIER : BLKIF_OP.FLUSH_DISKCACHE;
        if (n <= BLKIF_MAX_SEGMENTS_PER_REQUEST) {
          const segments = new Array<BlkifSegment>(n);
          for (let p = 0; p < n; p++) segments[p] = { gref: this.grant(beDomid, buf.gfns[first + p]!, readonly, refs), firstSect: 0, lastSect: p === n - 1 ? lastSect : BLKIF_SECTORS_PER_PAGE - 1 };
          req.writeRequest(ringOp, this.vdev, BigInt(id), sector, segments);
        } else if (limits.indirect && (op === 'read' || op === 'write')) {
          // The descriptors go straight into the request's indirect pages: no object per segment.
          const views = this.indirectViews[id]!;
          for (let p = 0; p < n; p++) writeIndirectSegment(views, p, this.grant(beDomid, buf.gfns[first + p]!, readonly, refs), 0, p === n - 1 ? lastSect : BLKIF_SECTORS_PER_PAGE - 1);
          const frames = this.indirect[id]!;
          const igrefs: number[] = [];
          for (let i = 0; i < indirectPages(n); i++) {
            this.k.stored(frames[i]!);
            igrefs.push(this.grant(beDomid, frames[i]!, true, refs));
          }
          req.writeIndirect(ringOp, this.vdev, BigInt(id), sector, n, igrefs);
        } else {
          throw new BlockIoError('EINVAL', `${this.name}: a ${op} of ${n} pages does not fit one request`, null);
        }
      }
    } catch (err) {
      // Nothing was pushed: the id and the grants go back at once.
      if (took) ring.reqProdPvt = (ring.reqProdPvt - 1) >>> 0;
      this.k.gnttab.endForeignAccessReferences(refs);
      this.freeIds.push(id);
      this.wakeOne();
      throw err;
    }
    this.inFlight++;
    this.shadows[id] = { req: request, refs };
    if (ring.pushRequestsAndCheckNotify()) this.k.intr.signal(this.src!);
  }

  /**
   * A grant of `gfn` for one request: the frame's persistent grant (made read-write on
   * first use, kept), or without feature-persistent a new one (read-only when the
   * backend only reads the page), added to `refs` to end when the request completes.
   */
  private grant(beDomid: number, gfn: number, readonly: boolean, refs: number[]): number {
    if (!this.persistent) {
      const gref = this.k.gnttab.grantForeignAccess(beDomid, gfn, readonly);
      refs.push(gref);
      return gref;
    }
    let gref = this.frameGrants[gfn];
    if (gref === undefined) {
      gref = this.k.gnttab.grantForeignAccess(beDomid, gfn, false);
      this.frameGrants[gfn] = gref;
    }
    return gref;
  }

  /**
   * A frame goes back (a queue buffer the block layer lets go of, an indirect page):
   * its persistent grant ends and the frame is freed then, which for a grant the
   * backend still maps is when the deferred end succeeds (Linux's
   * gnttab_end_foreign_access with the page).
   */
  private reclaimFrame(gfn: number): void {
    const gref = this.frameGrants[gfn];
    if (gref === undefined) {
      this.k.pageAllocator.freePage(gfn);
      return;
    }
    this.frameGrants[gfn] = undefined;
    this.k.gnttab.endForeignAccessReferences([gref], () => this.k.pageAllocator.freePage(gfn));
  }

  /**
   * Quiesce for a suspend, as Linux's blkfront_freeze: requests not yet on the ring
   * wait, and those in flight are waited for (the backend still serves them), so the
   * domain is suspended with nothing outstanding: nothing to lose or to do twice
   * whichever domain it resumes in. A paused domain takes no interrupt to drain with:
   * with requests in flight it refuses at once.
   */
  async suspend(how: Freeze): Promise<void> {
    this.frozen = true;
    if (this.inFlight > 0 && how.paused) {
      this.thaw(how);
      throw new Error(`${this.name}: ${this.inFlight} requests in flight, and the domain is paused`);
    }
    if (this.inFlight > 0) {
      // A backend that stops answering must not hold the guest half-frozen: after
      // BLKFRONT_DRAIN_TIMEOUT_NS the suspend fails and the disk thaws (the toolstack
      // has given up by then: it waits 60 s).
      const drained = await withTimeout(new Promise<true>((resolve) => this.drained.push(() => resolve(true))), this.k.clock, BLKFRONT_DRAIN_TIMEOUT_NS);
      if (drained === null) {
        this.thaw(how);
        throw new Error(`${this.name}: ${this.inFlight} requests still in flight after ${BLKFRONT_DRAIN_TIMEOUT_NS / 1e9} s`);
      }
    }
    if (!how.quiet) this.print(`${this.name}: suspended with no request in flight`);
  }

  /** A cancelled suspend: the requests that waited go on the ring. */
  thaw(how: Freeze): void {
    this.frozen = false;
    if (!how.quiet) this.print(`${this.name}: resuming on the same ring`);
    this.wakeOne();
  }

  private slotFree(): boolean {
    return this.connected && !this.frozen && this.freeIds.length > 0 && !this.ring!.isFull();
  }

  private wakeOne(): void {
    while (!this.frozen && this.ringWaiters.length > 0 && this.freeIds.length > 0 && this.ring !== null && !this.ring.isFull()) this.ringWaiters.shift()!();
  }

  /**
   * The interrupt thread (FreeBSD's xbd_int): take every response, release the
   * grants of all completed requests in one batch (one acquisition of the grant
   * list's lock), then finish the requests.
   */
  private interrupt(): void {
    const ring = this.ring;
    if (ring === null) return;
    // In two lists, not an object per response.
    const finished: Shadow[] = [];
    const statuses: number[] = [];
    const refs: number[] = [];
    try {
      do {
        for (let slot = ring.takeResponse(); slot !== undefined; slot = ring.takeResponse()) {
          const rsp = new BlkifResponseView(slot.view, slot.offset);
          const id = Number(rsp.id);
          const shadow = id < this.shadows.length ? this.shadows[id] : null;
          if (shadow === null || shadow === undefined) throw new Error(`response for id ${rsp.id}, which is not in flight`);
          this.shadows[id] = null;
          this.freeIds.push(id);
          if (shadow.refs.length > 0) refs.push(...shadow.refs);
          finished.push(shadow);
          statuses.push(rsp.status);
        }
      } while (ring.finalCheckForResponses());
    } catch (err) {
      void this.serial(() => this.fail(`backend broke the ring: ${(err as Error).message}`));
    }
    if (refs.length > 0) this.k.gnttab.endForeignAccessReferences(refs);
    for (let i = 0; i < finished.length; i++) {
      const shadow = finished[i]!;
      const status = statuses[i]!;
      this.inFlight--;
      if (status === BLKIF_RSP.OKAY) shadow.req.done(null);
      else shadow.req.done(new BlockIoError(status === BLKIF_RSP.EOPNOTSUPP ? 'EOPNOTSUPP' : 'EIO', `${this.name}: ${shadow.req.op} failed: backend answered ${status === BLKIF_RSP.EOPNOTSUPP ? 'BLKIF_RSP_EOPNOTSUPP' : `BLKIF_RSP_ERROR (${status})`}`, status));
    }
    if (this.inFlight === 0) for (const wake of this.drained.splice(0)) wake();
    this.wakeOne();
  }

  /** A protocol failure: fail what is in flight, close with an error node (the ring goes when the backend closed). */
  private async fail(why: string): Promise<void> {
    this.failInFlight(why);
    this.unbindChannel();
    await this.dev.fatal(ERRNO.EPROTO, why);
  }

  /**
   * The backend is closing (an unplug) or closed: the disk leaves the block layer (new
   * I/O fails), requests in flight are waited for while the backend still serves
   * (Closing) and failed if it is gone (Closed), and we go Closed (Linux's
   * xenbus_frontend_closed). The ring's pages stay granted until the backend says it
   * is Closed, which it does once it unmapped them: ended then, every grant ends at once
   * and every frame goes back.
   */
  private async close(backendStillServes: boolean): Promise<void> {
    this.blocks.remove(this.name, this.reclaim);
    this.connected = false;
    for (const w of this.ringWaiters.splice(0)) w();
    if (backendStillServes && this.inFlight > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
    this.failInFlight('the backend closed');
    // Closed first, then the port, as Linux's blkfront frees its channel only at remove:
    // until our state says Closed, a backend still acting on the Initialised we wrote
    // binds the event-channel we published, and must find it ours (not EINVAL and a
    // fatal error on a device that is only going away).
    await this.dev.setState(XenbusState.Closed).catch(() => {});
    this.unbindChannel();
    if (!backendStillServes) this.releaseRing();
    this.print(`${this.name}: closed`);
  }

  /** Fail every request in flight and end its grants (one batch). */
  private failInFlight(why: string): void {
    this.connected = false;
    this.blocks.remove(this.name, this.reclaim);
    const refs: number[] = [];
    for (const [id, shadow] of this.shadows.entries()) {
      if (shadow === null) continue;
      this.shadows[id] = null;
      refs.push(...shadow.refs);
      shadow.req.done(new BlockIoError('ENODEV', `${this.name}: ${why}`, null));
    }
    this.inFlight = 0;
    for (const wake of this.drained.splice(0)) wake();
    for (const w of this.ringWaiters.splice(0)) w();
    // A grant the backend still maps is deferred by the grant table, never reused under it.
    if (refs.length > 0) this.k.gnttab.endForeignAccessReferences(refs);
  }

  private unbindChannel(): void {
    if (this.src !== null) this.k.intr.unbindSource(this.src);
    this.src = null;
  }

  /** End the ring's grants and free its frames and the indirect pages. */
  private releaseRing(): void {
    this.unbindChannel();
    if (this.granted !== null) {
      const r = this.granted.release();
      if (r.stillMapped.length > 0) this.print(`ring grants ${r.stillMapped.join(', ')} still mapped by the backend: their pages stay out of use`);
    }
    this.granted = null;
    this.ring = null;
    // The persistent grants end with the ring (the backend unmapped them when it disconnected; one still mapped is deferred).
    // The queue buffers' grants end as the block layer gives their frames back (reclaimFrame).
    this.persistent = false;
    for (const gfns of this.indirect) for (const gfn of gfns) this.reclaimFrame(gfn);
    this.indirect = [];
    this.indirectViews = [];
    this.shadows = [];
    this.freeIds = [];
  }

  /** The ring, its indirect pages, the disk's buffers and their grants (see PerDeviceDriver.held). */
  held(): HeldResources {
    const frames = [...(this.granted?.gfns ?? []), ...this.indirect.flat(), ...(this.blocks.find(this.name)?.heldFrames() ?? [])];
    const grantRefs = [...(this.granted?.refs ?? []), ...this.frameGrants.filter((g) => g !== undefined)];
    return { frames, grantRefs };
  }

  /**
   * The kernel stops with its domain (destroyed, or saved and gone): what waits for
   * the ring or is in flight fails now rather than waiting for a domain that will not
   * run again. Nothing is written: the domain's store and rings are going with it.
   */
  stop(): void {
    this.failInFlight('the domain is going away');
  }

  /** The device node is gone (the toolstack removed it): everything goes, nothing is written. */
  detach(): void {
    this.failInFlight('the device was removed');
    this.releaseRing();
  }
}

/**
 * The block frontend driver (FreeBSD's xbd on xenbusb_front, Linux's xen-blkfront):
 * one per kernel, on its front bus, for every `vbd` device node of this domain.
 */
export class Blkfront extends PerDeviceDriver<BlkfrontInstance> {
  readonly name = 'xbd';
  private units = 0;
  tunables: BlkfrontTunables = { skipInitWait: false, persistent: true };

  constructor(
    private readonly k: BlkKernel,
    readonly blocks: BlockLayer,
  ) {
    super();
  }

  probe(dev: XenbusDevice): boolean {
    return dev.type === 'vbd';
  }

  async attach(dev: XenbusDevice): Promise<void> {
    const vdev = parseUnsigned(await readOptional(dev, 'virtual-device'));
    if (vdev === undefined) throw new Error('no virtual-device number');
    await this.attachInOrder(dev, new BlkfrontInstance(dev, this.k, this.blocks, this.units++, vdev, { ...this.tunables }));
  }

  /** The kernel stops: every disk's waiting and in-flight I/O fails (see BlkfrontInstance.stop). */
  stopAll(): void {
    for (const inst of this.instances.values()) inst.stop();
    this.instances.clear();
  }

  /** The negotiated limits of each device, by name (what `block-list -l` shows of the ring). */
  limits(): Array<{ name: string; node: string; state: XenbusState; limits: BlkfrontLimits | null }> {
    return [...this.instances.values()].map((i) => ({ name: i.name, node: i.dev.node, state: i.dev.state, limits: i.limits }));
  }
}
