import { PerDeviceDriver } from '../xenbus/per-device-driver.js';
import {
  BackRing,
  BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST,
  BLKIF_MAX_SEGMENTS_PER_REQUEST,
  BLKIF_OP,
  BLKIF_RSP,
  BLKIF_SECTOR_SIZE,
  BLKIF_SECTORS_PER_PAGE,
  BlkifRequestView,
  BlkifResponseView,
  GNTMAP,
  GNTST,
  indirectPages,
  readIndirectSegments,
  ringSize,
  SharedRing,
  SRING_PROTOCOLS,
  VDISK,
  XEN_IO_PROTO_ABI_X86_64,
  XEN_PAGE_SIZE,
  XenbusState,
  type BlkifRequestCopy,
  type BlkifSegment,
  type PackedSegments,
} from '../../abi/index.js';
import type { XenIntrSource } from '../intr/xen-intr.js';
import type { XenbusDevice } from '../xenbus/device.js';
import { mapRing, type MappedRing } from '../xenbus/map-ring.js';
import { emptyDrive, openBackingStore, type BackingStore } from './backing-store.js';
import type { BlkKernel } from './context.js';
import { ERRNO, parseUnsigned, readOptional, readOtherendOptional } from './xenbus-util.js';
import { Task } from '../task.js';
import { mappedGrant, PersistentMaps, type MappedGrant } from './persistent-maps.js';
import { INLINE_SMALL_BYTES } from './inline-gate.js';

const SLOT = SRING_PROTOCOLS.blkif.slotBytes;

/**
 * What a blkback advertises, FreeBSD's hw.xbb.* loader tunables: the biggest ring and
 * request it serves. Defaults are Linux blkback's (ring order 4, 256 indirect
 * segments). `publish` chooses the keys: 'both' (FreeBSD's max-* and today's
 * max-ring-page-order / feature-max-indirect-segments), 'original' (only the keys
 * of FreeBSD's first multi-page negotiation), or 'none' (a backend of the original
 * one-page protocol, which publishes no maxima at all: one page, 11 segments).
 */
export interface BlkbackTunables {
  maxRingPageOrder: number;
  maxIndirectSegments: number;
  publish: 'both' | 'original' | 'none';
  /**
   * Offer feature-persistent (Linux's feature_persistent parameter): with a frontend
   * that offers it too, the pages it grants stay mapped here across requests (as many
   * as MAX_PGRANTS says).
   */
  persistent: boolean;
  /**
   * Make a read or write that is the disk's only one in flight, or a small one
   * (INLINE_SMALL_BYTES), on this thread instead of libuv's pool, while its store
   * answers as fast as the page cache (see inline-gate.ts): two thread handoffs fewer
   * for each request of a program that waits for each before the next, and for small
   * requests at any depth. Larger calls of a deeper queue go to the pool, whose
   * threads copy in parallel.
   */
  inlineIo: boolean;
}

export const DEFAULT_BLKBACK_TUNABLES: BlkbackTunables = { maxRingPageOrder: 4, maxIndirectSegments: 256, publish: 'both', persistent: true, inlineIo: true };

/**
 * Linux blkback's max_persistent_grants default, the most grants one ring keeps
 * mapped: 1056 = 32 requests × 33 segments, the original one-page ring full of
 * requests of blkfront's default size. A ring negotiated larger keeps that intent:
 * its requests × (the frontend's max-request-segments + its indirect pages), never
 * fewer than 1056 (see connectRing). Past the bound, a request's other pages are
 * mapped and unmapped around it as without the feature.
 */
export const MAX_PGRANTS = 1056;

/** Sectors of 512 bytes below 2^53 bytes: no disk reaches this far. */
const MAX_SECTOR = BigInt(Number.MAX_SAFE_INTEGER) / BigInt(BLKIF_SECTOR_SIZE);

/** Opens the store a backend node's `params` names. */
export type StoreOpener = (path: string, readOnly: boolean) => Promise<BackingStore>;

/** Per-device counters, as Linux blkback's statistics/ in sysfs (what xentop's VBD columns read). */
export interface BlkbackStats {
  /** oo_req: times the ring was found with requests while the backend had no room (always 0 here: no request pool). */
  ooReq: number;
  rdReq: number;
  wrReq: number;
  fReq: number;
  dsReq: number;
  rdSect: number;
  wrSect: number;
  /** Requests answered BLKIF_RSP_ERROR or EOPNOTSUPP. */
  errors: number;
}

/** One blkback device as `block-list -l` and `top` show it from the backend's side. */
export interface BlkbackInfo {
  node: string;
  frontendDomid: number;
  state: XenbusState;
  path: string | null;
  sectors: number;
  sectorSize: number;
  ringPages: number;
  inFlight: number;
  /** feature-persistent is in use on this connection (both ends offered it). */
  persistent: boolean;
  /** Grants mapped persistently now (Linux's persistent_gnt_c). */
  persistentGrants: number;
  stats: BlkbackStats;
}

/** A request checked and ready to run. */
interface Job {
  id: bigint;
  /** The ring's operation, echoed in the response (INDIRECT stays INDIRECT). */
  ringOp: number;
  /** What to do: READ, WRITE, WRITE_BARRIER, FLUSH_DISKCACHE. */
  op: number;
  /** Byte offset in the store. */
  position: number;
  /** Its segments, packed (see PackedSegments). */
  segments: PackedSegments;
  bytes: number;
}

/**
 * Requests that go to the store as one call (a plug's merged run): all reads or all
 * writes, each starting where the one before ended, or one flush or barrier alone.
 */
interface Batch {
  op: number;
  /** Byte offset of the first request. */
  position: number;
  /** Byte offset just past the last request. */
  end: number;
  /** In ring order: the answers go out in this order, each with its own id. */
  jobs: Job[];
  /** The vectors of the call (IOV_MAX at most), as byte ranges until the call is made. */
  vectors: Vector[];
  /** The grant mappings to drop once the call ended. */
  handles: number[];
  /** How a call made in place ended (see inPlace). */
  status?: number;
}

/** A byte range of one buffer: a vector of a call. */
interface Vector {
  buffer: ArrayBufferLike;
  offset: number;
  length: number;
}

/** A placeholder in a page list until the mapping is known. */
const UNMAPPED = mappedGrant(-1, new Uint8Array(0));

/** IOV_MAX (Linux UIO_MAXIOV): the most vectors one preadv/pwritev takes. */
const IOV_MAX = 1024;

/**
 * The most bytes one merged call moves (a queue's max_sectors_kb; Linux caps its
 * default at 1280 KiB). Without a cap, a deep queue of sequential requests would be
 * one call of tens of MiB on one of libuv's threads, done in series instead of in
 * parallel, and every request in it would wait for the last byte.
 */
const MAX_MERGE_BYTES = 1024 * 1024;

/** Why a request is refused: its status and the log line. */
class Refusal {
  constructor(
    readonly status: number,
    readonly why: string,
  ) {}
}

/**
 * One served disk (FreeBSD's struct xbb_softc): the backing store, the frontend's ring
 * mapped through its grants, the interdomain event channel, and the requests in
 * flight.
 */
class BlkbackInstance {
  /** Serialises the XenBus work of this device (watch events, state changes). */
  private queue: Promise<void> = Promise.resolve();
  private store: BackingStore | null = null;
  private hotplugReady = false;
  private hotplugFailed = false;
  private readOnly = false;
  private cdrom = false;
  private sectorSize: number = BLKIF_SECTOR_SIZE;
  private ring: BackRing | null = null;
  private mapped: MappedRing | null = null;
  private ringPages = 0;
  private src: XenIntrSource | null = null;
  private maxSegments: number = BLKIF_MAX_SEGMENTS_PER_REQUEST;
  /** The frontend's pages mapped across requests, by grant reference (feature-persistent); null without the feature. */
  private persistentMaps: PersistentMaps | null = null;
  /** How many grants persistentMaps may hold (see MAX_PGRANTS). */
  private maxPersistent = MAX_PGRANTS;
  /** The ring work, on the fast taskqueue (the event's filter only enqueues it). */
  private readonly task: Task;
  /** Jobs started and not finished. */
  private inFlight = 0;
  /** The page list mapSegments fills for one request (reused). */
  private readonly pageScratch: MappedGrant[] = [];
  /** Jobs started in this pass of the ring and not yet sent to the store (the plug). */
  private plugged: Job[] = [];
  /** Batches made in place in this pass of the ring, to answer when it ends. */
  private doneInPlace: Batch[] = [];
  /** Jobs waiting behind a fence (a flush or barrier, which waits for the requests before it). */
  private readonly waiting: Job[] = [];
  /** A flush or barrier is running. */
  private fenceRunning = false;
  private drained: Array<() => void> = [];
  /** Bumped at each disconnect: completions of an older connection do not touch the new ring. */
  private generation = 0;
  private closed = false;
  readonly stats: BlkbackStats = { ooReq: 0, rdReq: 0, wrReq: 0, fReq: 0, dsReq: 0, rdSect: 0, wrSect: 0, errors: 0 };
  readonly name: string;

  constructor(
    readonly dev: XenbusDevice,
    private readonly k: BlkKernel,
    unit: number,
    private readonly tunables: BlkbackTunables,
    private readonly openStore: StoreOpener,
  ) {
    this.name = `xbbd${unit}`;
    this.task = new Task(k.clock, () => this.work());
  }

  /** The device number: the last part of backend/vbd/<domid>/<devid>. */
  get devid(): number {
    return Number(this.dev.node.slice(this.dev.node.lastIndexOf('/') + 1));
  }

  /** Fail as a backend whose disk went away does (fault backend-die): disconnect, error node, Closing. */
  die(why: string): void {
    void this.serial(async () => {
      await this.disconnect();
      await this.dev.fatal(ERRNO.EIO, why);
    });
  }

  private get watchToken(): string {
    return `${this.name}:hotplug`;
  }

  /** Run XenBus work for this device in order; a failure is logged, never thrown at the bus. */
  serial(work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(work).catch((err: Error) => this.k.log.print(`${this.name}: ${this.dev.node}: ${err.message}`));
    this.queue = next;
    return next;
  }

  /**
   * xbb_attach: read the toolstack's nodes, publish the maxima, go InitWait, then wait
   * for the hotplug script (physical-device, or hotplug-status) before opening the
   * store and connecting.
   */
  async attach(): Promise<void> {
    const dev = this.dev;
    const mode = (await readOptional(dev, 'mode')) ?? 'w';
    this.cdrom = (await readOptional(dev, 'device-type')) === 'cdrom';
    this.readOnly = !mode.startsWith('w') || this.cdrom;
    const asked = parseUnsigned(await readOptional(dev, 'sector-size'));
    if (asked !== undefined) {
      if (asked < BLKIF_SECTOR_SIZE || (asked & (asked - 1)) !== 0 || asked > XEN_PAGE_SIZE) {
        throw new Error(`sector-size ${asked} is not a power of two from 512 to 4096`);
      }
      this.sectorSize = asked;
    }
    await this.publishMaxima();
    await dev.setState(XenbusState.InitWait);
    const onChange = (): void => void this.serial(() => this.checkHotplug());
    await dev.xs.watch(`${dev.node}/physical-device`, this.watchToken, onChange);
    await dev.xs.watch(`${dev.node}/hotplug-status`, this.watchToken, onChange);
  }

  /**
   * The maxima, before InitWait so the frontend reads them when it sees InitWait:
   * FreeBSD's keys (max-ring-pages, max-requests, max-request-segments,
   * max-request-size) and today's (max-ring-page-order, feature-max-indirect-segments).
   */
  private async publishMaxima(): Promise<void> {
    const t = this.tunables;
    if (t.publish === 'none') return;
    const pages = 1 << t.maxRingPageOrder;
    const requests = ringSize(SLOT, pages * XEN_PAGE_SIZE);
    const segments = t.publish === 'both' ? Math.max(t.maxIndirectSegments, BLKIF_MAX_SEGMENTS_PER_REQUEST) : BLKIF_MAX_SEGMENTS_PER_REQUEST;
    const dev = this.dev;
    await dev.xs.transaction(async (tx) => {
      const w = (k: string, v: number) => dev.xs.write(`${dev.node}/${k}`, String(v), tx);
      await w('max-ring-pages', pages);
      await w('max-requests', requests);
      await w('max-request-segments', segments);
      await w('max-request-size', segments * XEN_PAGE_SIZE);
      if (t.publish === 'both') {
        await w('max-ring-page-order', t.maxRingPageOrder);
        await w('feature-max-indirect-segments', t.maxIndirectSegments);
      }
    });
  }

  /**
   * The hotplug script finished: Linux blkback waits for `physical-device`; libxl's
   * scripts then write `hotplug-status` (`connected`, or `error` with `hotplug-error`).
   * A failed script fails the device, with the script's message.
   */
  private async checkHotplug(): Promise<void> {
    if (this.hotplugReady || this.hotplugFailed || this.closed) return;
    const status = await readOptional(this.dev, 'hotplug-status');
    if (status === 'error') {
      this.hotplugFailed = true;
      const why = (await readOptional(this.dev, 'hotplug-error')) ?? 'no hotplug-error given';
      await this.dev.fatal(ERRNO.ENODEV, `hotplug script failed: ${why}`);
      return;
    }
    const physical = await readOptional(this.dev, 'physical-device');
    if (physical === undefined && status !== 'connected') return;
    const params = (await readOptional(this.dev, 'params')) ?? '';
    if (params === '' && this.cdrom) {
      // An empty cdrom drive (format=empty): it connects with no medium, as qdisk serves one.
      this.store = emptyDrive();
    } else if (params === '') {
      this.hotplugFailed = true;
      await this.dev.fatal(ERRNO.ENODEV, 'no params: the backend has no disk to open');
      return;
    } else {
      let store: BackingStore;
      try {
        store = await this.openStore(params, this.readOnly);
      } catch (err) {
        this.hotplugFailed = true;
        await this.dev.fatal(ERRNO.ENODEV, `opening backend: ${(err as Error).message}`);
        return;
      }
      // Stopped while it opened (closeStore runs outside the device's order): nothing
      // else would close it, and a FileHandle left to the GC is Node's DEP0137.
      if (this.closed) {
        await store.close().catch(() => {});
        return;
      }
      this.store = store;
    }
    this.hotplugReady = true;
    this.k.log.print(`${this.name}: ${this.dev.node}: ${this.store.kind} ${params} (${this.store.sizeBytes} bytes, ${this.readOnly ? 'read-only' : 'read-write'})`);
    await this.maybeConnect();
  }

  /** Frontend state changes (xbb_frontend_changed). */
  async otherendChanged(state: XenbusState): Promise<void> {
    const dev = this.dev;
    switch (state) {
      case XenbusState.Initialising:
      case XenbusState.Unknown:
        // A frontend that closed and starts over: be ready for it again (Linux's "prepare for reconnect").
        if (dev.state === XenbusState.Closed && !this.closed && (await this.online())) await dev.setState(XenbusState.InitWait);
        return;
      case XenbusState.Initialised:
      case XenbusState.Connected:
        await this.maybeConnect();
        return;
      case XenbusState.Closing:
        await this.disconnect();
        await dev.setState(XenbusState.Closing);
        return;
      case XenbusState.Closed:
        await this.disconnect();
        // The state node may have been written by the toolstack (Closing, for an unplug): write ours whatever we last wrote.
        dev.state = XenbusState.Unknown;
        await dev.setState(XenbusState.Closed);
        return;
      default:
        return;
    }
  }

  private async online(): Promise<boolean> {
    return (await readOptional(this.dev, 'online')) !== '0';
  }

  /** Connect once the script ran and the frontend published its ring (Initialised, or Connected if it skipped a state). */
  private async maybeConnect(): Promise<void> {
    if (!this.hotplugReady || this.ring !== null || this.closed) return;
    const fstate = this.dev.otherendState;
    if (fstate !== XenbusState.Initialised && fstate !== XenbusState.Connected) return;
    try {
      await this.connectRing();
    } catch (err) {
      this.releaseRing();
      await this.dev.fatal('EINVAL', (err as Error).message);
      return;
    }
    await this.publishProperties();
    await this.dev.setState(XenbusState.Connected);
    this.k.log.print(`${this.name}: ${this.dev.node}: connected: ${this.ringPages}-page ring (${this.ring!.size} requests), event channel ${this.src!.port}, up to ${this.maxSegments} segments per request`);
    this.kick();
  }

  /** xbb_connect_ring: map the ring's grants in order, bind the event channel. */
  private async connectRing(): Promise<void> {
    const dev = this.dev;
    const frontDomid = dev.otherend!.domid;
    const protocol = (await readOtherendOptional(dev, 'protocol')) ?? XEN_IO_PROTO_ABI_X86_64;
    if (protocol !== XEN_IO_PROTO_ABI_X86_64) throw new Error(`unsupported protocol ${protocol} (this backend speaks ${XEN_IO_PROTO_ABI_X86_64} only)`);
    const order = parseUnsigned(await readOtherendOptional(dev, 'ring-page-order'));
    const numPages = parseUnsigned(await readOtherendOptional(dev, 'num-ring-pages'));
    const pages = order !== undefined ? 2 ** Math.min(order, 30) : (numPages ?? 1);
    const maxPages = this.tunables.publish === 'none' ? 1 : 1 << this.tunables.maxRingPageOrder;
    if (!(pages >= 1 && pages <= maxPages && (pages & (pages - 1)) === 0)) throw new Error(`frontend asks for ${pages} ring pages; this backend serves 1 to ${maxPages}, a power of two`);
    const refs: number[] = [];
    // One page: `ring-ref` (Linux's read_per_ring_refs), whatever ring-page-order says; ring-ref0 if that is all there is.
    if (pages === 1) {
      const one = (await readOtherendOptional(dev, 'ring-ref')) ?? (await readOtherendOptional(dev, 'ring-ref0'));
      refs.push(requireRef(one, 'ring-ref'));
    } else {
      for (let i = 0; i < pages; i++) refs.push(requireRef(await readOtherendOptional(dev, `ring-ref${i}`), `ring-ref${i}`));
    }
    const port = parseUnsigned(await readOtherendOptional(dev, 'event-channel'));
    if (port === undefined) throw new Error('frontend published no event-channel');
    // All or nothing: a RingMapError names the reference that failed, as Linux's xenbus_dev_fatal says it.
    this.mapped = mapRing(this.k.hc, frontDomid, refs);
    const sring = new SharedRing(this.mapped.pages, SLOT);
    this.ring = new BackRing(sring);
    this.ringPages = pages;
    const indirect = this.tunables.publish === 'both' ? this.tunables.maxIndirectSegments : 0;
    this.maxSegments = Math.max(BLKIF_MAX_SEGMENTS_PER_REQUEST, Math.min(indirect, BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * (XEN_PAGE_SIZE / 8)));
    const persistent = this.tunables.persistent && parseUnsigned(await readOtherendOptional(dev, 'feature-persistent')) === 1;
    this.persistentMaps = persistent ? new PersistentMaps() : null;
    const perRequest = Math.min(parseUnsigned(await readOtherendOptional(dev, 'max-request-segments')) ?? this.maxSegments, this.maxSegments);
    this.maxPersistent = Math.max(MAX_PGRANTS, this.ring.size * (perRequest + indirectPages(perRequest)));
    // The interrupt source is a filter that only schedules the work (FreeBSD's xbb_filter
    // and its fast taskqueue): no interrupt thread, nothing done in the upcall itself.
    this.src = this.k.intr.bindRemotePort(this.name, frontDomid, port, {
      filter: () => {
        this.kick();
        return 'handled';
      },
    });
  }

  /** What the frontend reads at Connected, written in one transaction (retried on EAGAIN). */
  private async publishProperties(): Promise<void> {
    const dev = this.dev;
    const store = this.store!;
    const info = (this.readOnly ? VDISK.READONLY : 0) | (this.cdrom ? VDISK.CDROM : 0) | (store.kind === 'empty' ? VDISK.REMOVABLE : 0);
    await dev.xs.transaction(async (tx) => {
      const w = (k: string, v: number | string) => dev.xs.write(`${dev.node}/${k}`, String(v), tx);
      // sectors counts sector-size units (blkif.h); a partial last sector is not served.
      await w('sectors', Math.floor(store.sizeBytes / this.sectorSize));
      await w('sector-size', this.sectorSize);
      await w('physical-sector-size', Math.max(this.sectorSize, XEN_PAGE_SIZE));
      await w('info', info);
      await w('feature-flush-cache', 1);
      await w('feature-barrier', 1);
      if (this.tunables.persistent) await w('feature-persistent', 1);
      // No feature-discard: no store can punch holes (see backing-store.ts).
    });
  }

  /** Schedule the ring work on the taskqueue (once, however often the event fires meanwhile). */
  kick(): void {
    if (this.ring !== null) this.task.enqueue();
  }

  /** xbb_run_queue: take every request the ring has, then the final check before sleeping. */
  private work(): void {
    const ring = this.ring;
    if (ring === null) return;
    try {
      do {
        for (let slot = ring.takeRequest(); slot !== undefined; slot = ring.takeRequest()) {
          this.take(new BlkifRequestView(slot.view, slot.offset).copy());
        }
      } while (ring.finalCheckForRequests());
    } catch (err) {
      // RING_REQUEST_PROD_OVERFLOW: the frontend broke the ring; stop serving it.
      void this.serial(async () => {
        await this.disconnect();
        await this.dev.fatal(ERRNO.EPROTO, `frontend provided bogus ring requests: ${(err as Error).message}`);
      });
    } finally {
      // What this pass started goes to the store (and counts toward the drain a disconnect waits for).
      this.unplug();
    }
  }

  /** Check one request; run it, queue it behind a fence, or answer it with an error now. */
  private take(req: BlkifRequestCopy): void {
    const job = this.check(req);
    if (job instanceof Refusal) {
      this.stats.errors++;
      this.k.log.print(`${this.name}: request ${req.id} (op ${req.operation}): ${job.why}`);
      this.respond(this.generation, req.id, req.operation, job.status);
      return;
    }
    const faults = this.k.blkFaults;
    if (faults !== null && faults.armed() && faults.fails(this.dev.otherend?.domid ?? -1, this.devid, job.position / BLKIF_SECTOR_SIZE, job.bytes / BLKIF_SECTOR_SIZE)) {
      // disk-error: the request fails as a failing disk's does, without touching the image.
      this.stats.errors++;
      this.respond(this.generation, req.id, req.operation, BLKIF_RSP.ERROR);
      return;
    }
    this.count(job);
    if (this.fenceRunning || this.waiting.length > 0 || (isFence(job) && this.inFlight > 0)) {
      this.waiting.push(job);
      return;
    }
    this.start(job);
  }

  /** Start a job: it counts as in flight now, and goes to the store at the next unplug. */
  private start(job: Job): void {
    if (isFence(job)) this.fenceRunning = true;
    this.inFlight++;
    this.plugged.push(job);
  }

  /**
   * Start what waited, in ring order: plain requests until a fence; a fence once
   * everything before it finished; nothing while a fence runs (a barrier is ordered
   * after everything before it and before everything after it).
   */
  private pump(): void {
    while (!this.fenceRunning && this.waiting.length > 0) {
      const head = this.waiting[0]!;
      if (isFence(head) && this.inFlight > 0) return;
      this.waiting.shift();
      this.start(head);
    }
    this.unplug();
  }

  private count(job: Job): void {
    const s = this.stats;
    const sectors = job.bytes / BLKIF_SECTOR_SIZE;
    if (job.op === BLKIF_OP.READ) {
      s.rdReq++;
      s.rdSect += sectors;
    } else if (job.op === BLKIF_OP.FLUSH_DISKCACHE) {
      s.fReq++;
    } else {
      s.wrReq++;
      s.wrSect += sectors;
      if (job.op === BLKIF_OP.WRITE_BARRIER) s.fReq++;
    }
  }

  /**
   * Validate everything the guest wrote (xbb_dispatch_io's checks): the operation, the
   * segment count against what was negotiated, each segment's sector range inside its
   * page, alignment to the disk's sector size, the range against the disk's end, and
   * a write to a read-only disk.
   */
  private check(req: BlkifRequestCopy): Job | Refusal {
    let op = req.operation;
    let segments: PackedSegments;
    switch (op) {
      case BLKIF_OP.READ:
      case BLKIF_OP.WRITE:
      case BLKIF_OP.WRITE_BARRIER:
      case BLKIF_OP.FLUSH_DISKCACHE:
        if (req.nrSegments > BLKIF_MAX_SEGMENTS_PER_REQUEST) return new Refusal(BLKIF_RSP.ERROR, `${req.nrSegments} segments, more than ${BLKIF_MAX_SEGMENTS_PER_REQUEST}`);
        segments = packed(req.segments);
        break;
      case BLKIF_OP.INDIRECT: {
        if (this.tunables.publish !== 'both') return new Refusal(BLKIF_RSP.EOPNOTSUPP, 'indirect request, but feature-max-indirect-segments was not offered');
        op = req.indirectOp;
        if (op !== BLKIF_OP.READ && op !== BLKIF_OP.WRITE) return new Refusal(BLKIF_RSP.ERROR, `indirect request carrying operation ${op}`);
        if (req.nrSegments === 0 || req.nrSegments > this.maxSegments) return new Refusal(BLKIF_RSP.ERROR, `indirect request of ${req.nrSegments} segments (1 to ${this.maxSegments})`);
        const read = this.readIndirect(req);
        if (read instanceof Refusal) return read;
        segments = read;
        break;
      }
      case BLKIF_OP.DISCARD:
        return new Refusal(BLKIF_RSP.EOPNOTSUPP, 'discard not supported (feature-discard not offered)');
      default:
        return new Refusal(BLKIF_RSP.EOPNOTSUPP, `unknown operation ${op}`);
    }
    if ((op === BLKIF_OP.READ || op === BLKIF_OP.WRITE) && segments.length === 0) return new Refusal(BLKIF_RSP.ERROR, 'read or write with no segments');
    if (op !== BLKIF_OP.READ && this.readOnly && (op !== BLKIF_OP.FLUSH_DISKCACHE || segments.length > 0)) return new Refusal(BLKIF_RSP.ERROR, 'write to a read-only disk');
    let sectors = 0;
    for (let i = 0; i < segments.length; i += 3) {
      const first = segments[i + 1]!;
      const last = segments[i + 2]!;
      if (last >= BLKIF_SECTORS_PER_PAGE || first > last) return new Refusal(BLKIF_RSP.ERROR, `segment sectors ${first}..${last} are not inside a page`);
      sectors += last - first + 1;
    }
    const store = this.store!;
    const unit = this.sectorSize / BLKIF_SECTOR_SIZE;
    // Every sector of a disk is below 2^53 bytes: a larger number is past any disk's end,
    // and one below it is exact as a Number (no BigInt arithmetic per request).
    const start = req.sectorNumber < MAX_SECTOR ? Number(req.sectorNumber) : 2 ** 53;
    if (segments.length > 0) {
      if (start % unit !== 0 || sectors % unit !== 0) return new Refusal(BLKIF_RSP.ERROR, `misaligned I/O: sector ${req.sectorNumber}, ${sectors} sectors on a ${this.sectorSize}-byte-sector disk`);
      const diskSectors = Math.floor(store.sizeBytes / this.sectorSize) * unit;
      if (start + sectors > diskSectors) return new Refusal(BLKIF_RSP.ERROR, `sectors ${req.sectorNumber}..${req.sectorNumber + BigInt(sectors) - 1n} go past the disk's end (${diskSectors} sectors)`);
    }
    return { id: req.id, ringOp: req.operation, op, position: start * BLKIF_SECTOR_SIZE, segments, bytes: sectors * BLKIF_SECTOR_SIZE };
  }

  /** Map the indirect pages read-only, copy the descriptors out, unmap. */
  private readIndirect(req: BlkifRequestCopy): PackedSegments | Refusal {
    const refs = req.indirectGrefs.slice(0, indirectPages(req.nrSegments));
    const pages: MappedGrant[] = [];
    const handles: number[] = [];
    const failed = this.mapGrants(refs, 1, refs.length, true, pages, handles);
    try {
      if (failed !== null) return new Refusal(BLKIF_RSP.ERROR, `cannot map indirect page ${failed}`);
      return readIndirectSegments(pages.map((m) => m.page), req.nrSegments);
    } finally {
      if (handles.length > 0) this.k.hc.gnttabUnmapGrantRef(handles);
    }
  }

  /**
   * Map the frontend's grants (xen_blkbk_map): `count` of them, `refs[i * stride]`
   * (packed segments give their grants at a stride of 3); page i's mapping goes to
   * `pages[i]` (set by index: a reused list is never truncated, which would free its
   * storage and grow it again for every request). With feature-persistent a grant
   * already mapped is reused, and a new one stays mapped (read-write, as the frontend
   * grants persistent pages) while fewer than maxPersistent are; any other is mapped
   * for this request only (read-only when `readonly`) and its handle goes to
   * `handles`, for the caller to unmap. On a failure, returns which page and why, and
   * unmaps this request's own mappings (those already in `handles` included).
   */
  private mapGrants(refs: readonly number[], stride: number, count: number, readonly: boolean, pages: MappedGrant[], handles: number[]): string | null {
    const dom = this.dev.otherend!.domid;
    const persist = this.persistentMaps;
    let ops: Array<{ dom: number; ref: number; flags: number }> | null = null;
    let at: number[] | null = null;
    for (let i = 0; i < count; i++) {
      const ref = refs[i * stride]!;
      const cached = persist?.get(ref);
      pages[i] = cached ?? UNMAPPED;
      if (cached !== undefined) continue;
      // Only a page not mapped yet makes these (none, once a persistent pool is warm).
      ops ??= [];
      at ??= [];
      const keep = persist !== null && persist.size + ops.length < this.maxPersistent;
      ops.push({ dom, ref, flags: GNTMAP.host_map | (readonly && !keep ? GNTMAP.readonly : 0) });
      at.push(i);
    }
    if (ops === null || at === null) return null;
    const results = this.k.hc.gnttabMapGrantRef(ops);
    const handlesBefore = handles.length;
    let failed: string | null = null;
    for (let j = 0; j < results.length; j++) {
      const r = results[j]!;
      if (r.status !== GNTST.okay) {
        failed ??= `${at[j]} (grant ${ops[j]!.ref}) of domain ${dom}: status ${r.status}`;
        continue;
      }
      const mapped = mappedGrant(r.handle, r.page!);
      pages[at[j]!] = mapped;
      // A persistent mapping is kept; the same grant twice in one request is kept once.
      if ((ops[j]!.flags & GNTMAP.readonly) === 0 && persist !== null && persist.size < this.maxPersistent && !persist.has(ops[j]!.ref)) persist.set(ops[j]!.ref, mapped);
      else handles.push(r.handle);
    }
    if (failed !== null) {
      const mine = handles.splice(handlesBefore);
      if (mine.length > 0) this.k.hc.gnttabUnmapGrantRef(mine);
    }
    return failed;
  }

  /**
   * blk_finish_plug: send the requests started since the last unplug to the store, in
   * ring order. Consecutive reads (or writes) that continue each other on the disk go
   * as ONE preadv/pwritev over all their pages (up to IOV_MAX vectors), as Linux's
   * block layer merges the bios blkback submits under one plug; flushes and barriers go
   * alone. Each request's pages are mapped first: one that cannot be mapped is answered
   * with an error alone, and ends the run it would have joined.
   */
  private unplug(): void {
    const jobs = this.plugged;
    if (jobs.length === 0) return;
    this.plugged = [];
    let batch: Batch | null = null;
    let refused = false;
    for (const job of jobs) {
      if (job.segments.length === 0) {
        if (batch !== null) this.dispatch(batch);
        batch = null;
        this.dispatch({ op: job.op, position: job.position, end: job.position, jobs: [job], vectors: [], handles: [] });
        continue;
      }
      if (batch !== null && (isFence(job) || isFence(batch.jobs[0]!) || job.op !== batch.op || job.position !== batch.end || batch.vectors.length + job.segments.length / 3 > IOV_MAX || batch.end - batch.position + job.bytes > MAX_MERGE_BYTES)) {
        this.dispatch(batch);
        batch = null;
      }
      const mapped = this.mapSegments(job, batch);
      if (mapped instanceof Error) {
        if (batch !== null) this.dispatch(batch);
        batch = null;
        this.stats.errors++;
        this.k.log.print(`${this.name}: request ${job.id}: ${mapped.message}`);
        this.inFlight--;
        this.answer(this.generation, [job], BLKIF_RSP.ERROR);
        if (isFence(job)) this.fenceRunning = false;
        refused = true;
        continue;
      }
      batch = mapped;
    }
    if (batch !== null) this.dispatch(batch);
    if (refused) this.settle();
  }

  /**
   * Map one job's data pages (read-only for a write: the backend only reads them) and
   * add its bytes to `into` (or a new batch), joining vectors that continue each other
   * in one buffer. All of the job's pages, or none (those mapped are unmapped again).
   */
  private mapSegments(job: Job, into: Batch | null): Batch | Error {
    const segs = job.segments;
    const n = segs.length / 3;
    // Reused: mapGrants fills its first n and they are read right after, never across a turn.
    const pages = this.pageScratch;
    const handles = into?.handles ?? [];
    const failed = this.mapGrants(segs, 3, n, job.op !== BLKIF_OP.READ, pages, handles);
    if (failed !== null) return new Error(`cannot map segment ${failed}`);
    let batch = into;
    for (let i = 0; i < n; i++) {
      const mapped = pages[i]!;
      const firstSect = segs[3 * i + 1]!;
      const offset = mapped.offset + firstSect * BLKIF_SECTOR_SIZE;
      const length = (segs[3 * i + 2]! - firstSect + 1) * BLKIF_SECTOR_SIZE;
      // A new batch is made with its job and first vector in place: lists begun empty
      // would take 17 slots at their first push, for the one job and one vector of most
      // small requests.
      if (batch === null) batch = { op: job.op, position: job.position, end: job.position, jobs: [job], vectors: [{ buffer: mapped.buffer, offset, length }], handles };
      else appendAdjacent(batch.vectors, mapped.buffer, offset, length);
    }
    // (Not null: unplug sends only jobs with segments here.)
    if (into !== null) into.jobs.push(job);
    batch!.end += job.bytes;
    return batch!;
  }

  /**
   * Send a batch to the store: made in place now when it may be (inPlace), else run on
   * libuv's pool. disk-slow's delay goes before the call, so a delayed batch always runs.
   */
  private dispatch(batch: Batch): void {
    const faults = this.k.blkFaults;
    const late = faults !== null && faults.armed() ? faults.delayMs(this.dev.otherend?.domid ?? -1, this.devid) : 0;
    if (late === 0 && this.inPlace(batch)) return;
    void this.run(batch, late);
  }

  /**
   * Make a read or write on this thread (see BlkbackTunables.inlineIo): the disk's only
   * call in flight, or a small one, while the store answers fast. Its answers go out
   * once this pass of the ring ends, with those of the pass's other calls made in place:
   * one unmap, one push of responses and at most one event for all of them, as a pool
   * call's answer also comes after the pass that started it. False when the batch must
   * run instead: a flush or barrier, no data, or the store declined (slow lately).
   */
  private inPlace(batch: Batch): boolean {
    if (!this.tunables.inlineIo || batch.vectors.length === 0 || isFence(batch.jobs[0]!)) return false;
    const alone = this.inFlight === batch.jobs.length;
    if (!alone && batch.end - batch.position > INLINE_SMALL_BYTES) return false;
    const store = this.store!;
    const call = batch.op === BLKIF_OP.READ ? store.readvNow : store.writevNow;
    if (call === undefined) return false;
    let status: number = BLKIF_RSP.OKAY;
    try {
      if (!call.call(store, buffersOf(batch), batch.position)) return false;
    } catch (err) {
      status = BLKIF_RSP.ERROR;
      this.failed(batch, err as Error);
    }
    batch.status = status;
    this.doneInPlace.push(batch);
    if (this.doneInPlace.length === 1) queueMicrotask(this.answerInPlace);
    return true;
  }

  /** Answer every batch made in place in the pass that just ended (see inPlace). */
  private readonly answerInPlace = (): void => {
    const batches = this.doneInPlace;
    this.doneInPlace = [];
    const handles: number[] = [];
    for (const b of batches) {
      if (b.handles.length > 0) handles.push(...b.handles);
      this.inFlight -= b.jobs.length;
    }
    if (handles.length > 0) this.k.hc.gnttabUnmapGrantRef(handles);
    const ring = this.ring;
    try {
      // A disconnect waits for inFlight to drain, so the ring is still this pass's.
      if (ring !== null) {
        for (const b of batches) for (const job of b.jobs) this.writeResponse(ring, job.id, job.ringOp, b.status ?? BLKIF_RSP.OKAY);
        this.pushResponses();
      }
    } catch (err) {
      this.k.log.print(`${this.name}: cannot answer requests made in place: ${(err as Error).message}`);
    }
    this.settle();
  };

  /**
   * Run a batch on libuv's pool, after `lateMs` (disk-slow): one preadv/pwritev over its
   * bytes, unmap, answer each of its requests with its own id. A barrier's write is
   * followed by an fdatasync; a flush is an fdatasync. A failed call fails every request
   * it covered (and only those).
   */
  private async run(batch: Batch, lateMs: number): Promise<void> {
    const gen = this.generation;
    let status: number = BLKIF_RSP.OKAY;
    try {
      const store = this.store!;
      if (lateMs > 0) await new Promise<void>((resolve) => this.k.clock.after(lateMs * 1e6, resolve));
      if (batch.vectors.length > 0) {
        if (batch.op === BLKIF_OP.READ) await store.readv(buffersOf(batch), batch.position);
        else await store.writev(buffersOf(batch), batch.position);
      }
      if (batch.op === BLKIF_OP.WRITE_BARRIER || batch.op === BLKIF_OP.FLUSH_DISKCACHE) await store.flush();
    } catch (err) {
      status = BLKIF_RSP.ERROR;
      this.failed(batch, err as Error);
    } finally {
      if (batch.handles.length > 0) this.k.hc.gnttabUnmapGrantRef(batch.handles);
      this.inFlight -= batch.jobs.length;
    }
    // Nothing here may throw out of a request: it runs detached from any caller, and a
    // rejection would reach the daemon's top level.
    try {
      this.answer(gen, batch.jobs, status);
    } catch (err) {
      this.k.log.print(`${this.name}: requests ${batch.jobs.map((j) => j.id).join(', ')}: cannot answer: ${(err as Error).message}`);
    }
    // A fence runs alone: it ends with its batch.
    if (isFence(batch.jobs[0]!)) this.fenceRunning = false;
    this.settle();
  }

  /** A batch's call failed: count and log it (its requests are answered BLKIF_RSP_ERROR). */
  private failed(batch: Batch, err: Error): void {
    this.stats.errors += batch.jobs.length;
    const ids = batch.jobs.map((j) => j.id).join(', ');
    this.k.log.print(`${this.name}: request${batch.jobs.length > 1 ? 's' : ''} ${ids}: ${err.message}`);
  }

  /** Jobs ended: start what waited, wake a disconnect waiting for the drain. */
  private settle(): void {
    this.pump();
    if (this.inFlight === 0) for (const wake of this.drained.splice(0)) wake();
  }

  /** Answer these jobs, each with its own id and operation, all with `status`. */
  private answer(gen: number, jobs: readonly Job[], status: number): void {
    const ring = this.ring;
    if (ring === null || gen !== this.generation) return;
    for (const job of jobs) this.writeResponse(ring, job.id, job.ringOp, status);
    this.pushResponses();
  }

  private writeResponse(ring: BackRing, id: bigint, op: number, status: number): void {
    const slot = ring.nextResponse();
    new BlkifResponseView(slot.view, slot.offset).write(id, op, status);
  }

  /** Put a response on the ring and notify if the frontend asked (make_response). */
  private respond(gen: number, id: bigint, op: number, status: number): void {
    const ring = this.ring;
    if (ring === null || gen !== this.generation) return;
    this.writeResponse(ring, id, op, status);
    this.pushResponses();
  }

  /** Publish the responses written, and notify if the frontend asked. */
  private pushResponses(): void {
    const ring = this.ring!;
    if (ring.pushResponsesAndCheckNotify() && this.src !== null) {
      try {
        this.k.intr.signal(this.src);
      } catch (err) {
        // The frontend's domain is gone (its port closed): the toolstack removes the device next.
        this.k.log.print(`${this.name}: cannot notify the frontend: ${(err as Error).message}`);
      }
    }
    // Answering freed a slot: requests held back by the unconsumed-requests cap may now be
    // taken. Only then: a pass that finds nothing would run ahead of the frontend's
    // interrupt thread. (A raw compare: work() is where a bogus req_prod is caught.)
    if (ring.sring.reqProd !== ring.reqCons) this.kick();
  }

  /**
   * xbb_disconnect: stop taking requests, wait for those in flight (their I/O cannot be
   * cancelled, and their pages stay mapped until it ends), then unbind and unmap.
   */
  async disconnect(): Promise<void> {
    if (this.ring === null) return;
    this.waiting.length = 0;
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
    this.releaseRing();
    this.k.log.print(`${this.name}: ${this.dev.node}: disconnected`);
  }

  private releaseRing(): void {
    this.generation++;
    // The persistent mappings go with the connection (free_persistent_gnts).
    const persist = this.persistentMaps;
    this.persistentMaps = null;
    if (persist !== null && persist.size > 0) this.k.hc.gnttabUnmapGrantRef(persist.handles());
    if (this.src !== null) this.k.intr.unbindSource(this.src);
    this.src = null;
    try {
      this.mapped?.unmap();
    } catch (err) {
      this.k.log.print(`${this.name}: ${(err as Error).message}`);
    }
    this.mapped = null;
    this.ring = null;
    this.ringPages = 0;
  }

  /** The device is going away: disconnect, close the store, stop watching. */
  async detach(): Promise<void> {
    this.closed = true;
    await this.disconnect();
    await this.dev.xs.unwatch(`${this.dev.node}/physical-device`, this.watchToken).catch(() => {});
    await this.dev.xs.unwatch(`${this.dev.node}/hotplug-status`, this.watchToken).catch(() => {});
    await this.store?.close().catch(() => {});
    this.store = null;
  }

  closeStore(): void {
    this.closed = true;
    void this.store?.close().catch(() => {});
    this.store = null;
  }

  info(): BlkbackInfo {
    return {
      node: this.dev.node,
      frontendDomid: this.dev.otherend?.domid ?? -1,
      state: this.dev.state,
      path: this.store?.path ?? null,
      sectors: this.store === null ? 0 : Math.floor(this.store.sizeBytes / this.sectorSize),
      sectorSize: this.sectorSize,
      ringPages: this.ringPages,
      inFlight: this.inFlight,
      persistent: this.persistentMaps !== null,
      persistentGrants: this.persistentMaps?.size ?? 0,
      stats: { ...this.stats },
    };
  }
}

/**
 * Add a byte range to a vector list, joined with the last one when it follows it in one
 * buffer, as the block layer merges adjacent bio vectors: a guest's consecutive frames
 * are adjacent in memory, so a request over them becomes a preadv of a few large
 * vectors, not one per page.
 */
function appendAdjacent(out: Vector[], buffer: ArrayBufferLike, offset: number, length: number): void {
  // A range, not a view, until the call: a view per page joined would be a typed array made (and dropped) per page.
  // (out[-1] of an empty list would be a property lookup of "-1", V8's slow path: a new batch's first vector is most of them.)
  const last = out.length > 0 ? out[out.length - 1]! : null;
  if (last !== null && last.buffer === buffer && last.offset + last.length === offset) last.length += length;
  else out.push({ buffer, offset, length });
}

/** Inline segments packed as triples, into a list of their exact size (one grown by push would take 17 slots for one segment). */
function packed(segments: readonly BlkifSegment[]): PackedSegments {
  const out = new Array<number>(3 * segments.length);
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    out[3 * i] = s.gref;
    out[3 * i + 1] = s.firstSect;
    out[3 * i + 2] = s.lastSect;
  }
  return out;
}

/** A batch's vectors as the views the call takes. */
function buffersOf(batch: Batch): Uint8Array[] {
  return batch.vectors.map((v) => new Uint8Array(v.buffer, v.offset, v.length));
}

/** A flush or barrier: it waits for the requests before it and holds back those after it. */
function isFence(job: Job): boolean {
  return job.op === BLKIF_OP.WRITE_BARRIER || job.op === BLKIF_OP.FLUSH_DISKCACHE;
}

function requireRef(text: string | undefined, key: string): number {
  const ref = parseUnsigned(text);
  if (ref === undefined || ref > 0xffffffff) throw new Error(`frontend's ${key} is ${text === undefined ? 'missing' : `"${text}", not a grant reference`}`);
  return ref;
}

/**
 * The block backend driver (FreeBSD's xbbd on xenbusb_back, Linux's xen-blkback): one
 * per kernel, on its back bus, serving every `vbd` backend node the toolstack puts in
 * this domain's `backend/` folder, whichever domain this is.
 */
export class Blkback extends PerDeviceDriver<BlkbackInstance> {
  readonly name = 'xbbd';
  private units = 0;
  /** Loader tunables; a change applies to devices attached after it. */
  tunables: BlkbackTunables = { ...DEFAULT_BLKBACK_TUNABLES };
  /** How a disk's `params` becomes a store (FreeBSD picks its file or device backend the same way); replaceable for tests. */
  openStore: StoreOpener = openBackingStore;

  constructor(private readonly k: BlkKernel) {
    super();
  }

  probe(dev: XenbusDevice): boolean {
    return dev.type === 'vbd';
  }

  attach(dev: XenbusDevice): Promise<void> {
    return this.attachOrUndo(dev, new BlkbackInstance(dev, this.k, this.units++, { ...this.tunables }, this.openStore));
  }

  /** Every device served, for `block-list -l` and `top`. */
  devices(): BlkbackInfo[] {
    return [...this.instances.values()].map((i) => i.info());
  }

  /** Make the backends of domain `domid`'s disk `devid` (every disk, with null) die; how many. */
  kill(domid: number, devid: number | null, why: string): number {
    let n = 0;
    for (const inst of this.instances.values()) {
      if (inst.dev.otherend?.domid !== domid || (devid !== null && inst.devid !== devid)) continue;
      inst.die(why);
      n++;
    }
    return n;
  }

  /** The kernel stops (its domain is destroyed): close every store, without XenStore (its connection is gone). */
  stopAll(): void {
    for (const inst of this.instances.values()) inst.closeStore();
    this.instances.clear();
  }
}
