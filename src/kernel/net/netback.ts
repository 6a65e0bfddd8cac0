/**
 * The network backend (Linux's xen-netback, FreeBSD's netback): one per kernel, on its
 * back bus, serving every `vif` backend node the toolstack puts in this domain's
 * `backend/` folder, dom0's or a driver domain's.
 *
 * Each vif is dom0's end of a guest NIC, an EthernetLink: the frames the guest puts on
 * its tx ring come out of `onFrame`, and `send` puts a frame on its rx ring. Both
 * directions move bytes with GNTTABOP_copy between the guest's granted pages and
 * pages of this kernel (Linux netback's copy path; nothing of the guest is mapped but
 * the rings), so a frame handed to `onFrame` is in this kernel's memory.
 *
 * Garbage in the rings is refused as Linux netback refuses it: a frame it can check
 * alone (too short, a grant that does not copy, a size that does not add up) is
 * answered NETIF_RSP_ERROR and counted; a ring it cannot trust any more (a producer
 * index past the ring, more slots than a frame may have, a fragment crossing its page)
 * is a fatal error: the vif is disconnected and the device closed with an error node
 * (Linux's xenvif_fatal_tx_err disables the interface the same way).
 */
import { PerDeviceDriver } from '../xenbus/per-device-driver.js';
import {
  BackRing,
  DOMID,
  GNTCOPY,
  GNTST,
  NETIF_RSP,
  NETRXF,
  NETTXF,
  readExtraInfo,
  readRxRequest,
  readTxRequest,
  SharedRing,
  SRING_PROTOCOLS,
  writeRxResponse,
  writeTxResponse,
  XEN_NETIF_EXTRA_FLAG_MORE,
  XEN_NETIF_EXTRA_TYPE,
  XEN_NETIF_GSO_TYPE,
  XEN_NETIF_MAX_TX_SIZE,
  XEN_PAGE_SIZE,
  XenbusState,
  type NetifTxRequest,
} from '../../abi/index.js';
import type { GnttabCopy } from '../../hypervisor/gnttab.js';
import type { EthernetLink } from '../../net/link.js';
import type { VifPort, VifStats } from '../../net/vif-registry.js';
import type { BlkKernel } from '../blk/context.js';
import { ERRNO, parseUnsigned, readOptional, readOtherendOptional } from '../blk/xenbus-util.js';
import type { XenIntrSource } from '../intr/xen-intr.js';
import type { XenbusDevice } from '../xenbus/device.js';
import { mapRing, type MappedRing } from '../xenbus/map-ring.js';
import { Task } from '../task.js';

const TX_SLOT = SRING_PROTOCOLS.netif_tx.slotBytes;
const RX_SLOT = SRING_PROTOCOLS.netif_rx.slotBytes;

/** ETH_HLEN: a frame shorter than an Ethernet header is refused ("Bad packet size"). */
export const ETH_HLEN = 14;
/** Linux netback's fatal_skb_slots default (FATAL_SKB_SLOTS_DEFAULT): more slots for one frame is fatal. */
export const FATAL_SKB_SLOTS = 20;
/** The largest frame either way: 64 KiB less one byte (a tx request's size is a uint16_t). */
export const NETBACK_MAX_FRAME = XEN_NETIF_MAX_TX_SIZE;
/** Pages of one frame at most: 64 KiB. */
const FRAME_PAGES = 16;
/** Frames waiting for rx room, at most (Linux's rx queue is bounded in bytes; this in frames and bytes). */
export const RX_QUEUE_FRAMES = 256;
export const RX_QUEUE_BYTES = 1024 * 1024;

/** The keys Linux netback publishes before InitWait (netback_probe), as this backend serves them. */
export const NETBACK_FEATURES: ReadonlyArray<readonly [string, string]> = [
  ['feature-sg', '1'],
  ['feature-gso-tcpv4', '1'],
  ['feature-gso-tcpv6', '1'],
  ['feature-ipv6-csum-offload', '1'],
  ['feature-rx-copy', '1'],
  ['feature-rx-flip', '0'],
  ['feature-split-event-channels', '1'],
  // One queue: this netback serves no multi-queue-num-queues beyond 1.
  ['multi-queue-max-queues', '1'],
];

/** A frame the ring cannot carry on: the vif is closed with this message. */
class Fatal extends Error {}

/** What the frontend negotiated. */
interface FrontFeatures {
  sg: boolean;
  gsoTcpv4: boolean;
  gsoTcpv6: boolean;
}

/**
 * One served vif (Linux's struct xenvif with its one queue): the two rings mapped,
 * one or two event channels, the dom0 pages frames are copied through, and the link.
 */
class NetbackVif implements EthernetLink {
  onFrame: ((frame: Uint8Array) => void) | null = null;
  private queue: Promise<void> = Promise.resolve();
  private hotplugReady = false;
  private closed = false;
  private tx: BackRing | null = null;
  private rx: BackRing | null = null;
  private mapped: MappedRing[] = [];
  private txSrc: XenIntrSource | null = null;
  /** The rx event channel when split (event-channel-rx), else the same as txSrc. */
  private rxSrc: XenIntrSource | null = null;
  private front: FrontFeatures = { sg: false, gsoTcpv4: false, gsoTcpv6: false };
  /** 16 adjacent frames of this kernel: tx frames are copied in here, rx frames copied from here. */
  private txBuf: { gfn: number; bytes: Uint8Array } | null = null;
  private rxBuf: { gfn: number; bytes: Uint8Array } | null = null;
  /** The ring work, on the fast taskqueue (the events' filter only enqueues it). */
  private readonly task: Task;
  private readonly rxQueue: Uint8Array[] = [];
  private rxQueueBytes = 0;
  private readonly counters: VifStats = { txPackets: 0, txBytes: 0, txDropped: 0, txErrors: 0, rxPackets: 0, rxBytes: 0, rxDropped: 0 };
  readonly name: string;
  mac = '';
  bridge: string | null = null;
  ip: string | null = null;
  handle = 0;

  constructor(
    readonly dev: XenbusDevice,
    private readonly k: BlkKernel,
    private readonly owner: Netback,
  ) {
    this.name = `vif${dev.otherend?.domid ?? '?'}.${dev.node.split('/').pop()}`;
    this.task = new Task(k.clock, () => this.work());
  }

  get connected(): boolean {
    return this.tx !== null;
  }

  private get watchToken(): string {
    return `${this.name}:hotplug`;
  }

  serial(work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(work).catch((err: Error) => this.k.log.print(`${this.name}: ${this.dev.node}: ${err.message}`));
    this.queue = next;
    return next;
  }

  private print(line: string): void {
    this.k.log.print(`${this.name}: ${line}`);
  }

  /** netback_probe: the toolstack's nodes, the features, InitWait, then wait for the hotplug script. */
  async attach(): Promise<void> {
    const dev = this.dev;
    this.mac = (await readOptional(dev, 'mac'))?.toLowerCase() ?? '';
    this.bridge = (await readOptional(dev, 'bridge')) ?? null;
    this.ip = (await readOptional(dev, 'ip')) ?? null;
    this.handle = parseUnsigned(await readOptional(dev, 'handle')) ?? Number(dev.node.split('/').pop());
    await dev.xs.transaction(async (tx) => {
      for (const [key, value] of NETBACK_FEATURES) await dev.xs.write(`${dev.node}/${key}`, value, tx);
    });
    await dev.setState(XenbusState.InitWait);
    await dev.xs.watch(`${dev.node}/hotplug-status`, this.watchToken, () => void this.serial(() => this.checkHotplug()));
  }

  /** Linux netback connects only once the vif script wrote hotplug-status "connected". */
  private async checkHotplug(): Promise<void> {
    if (this.hotplugReady || this.closed) return;
    const status = await readOptional(this.dev, 'hotplug-status');
    if (status === 'error') {
      const why = (await readOptional(this.dev, 'hotplug-error')) ?? 'no hotplug-error given';
      await this.dev.fatal(ERRNO.ENODEV, `hotplug script failed: ${why}`);
      return;
    }
    if (status !== 'connected') return;
    this.hotplugReady = true;
    await this.maybeConnect();
  }

  /** frontend_changed. */
  async otherendChanged(state: XenbusState): Promise<void> {
    const dev = this.dev;
    switch (state) {
      case XenbusState.Initialising:
        // A frontend starting over (a guest's driver reloaded): be ready for it again.
        if (dev.state === XenbusState.Closed && !this.closed && (await readOptional(dev, 'online')) !== '0') await dev.setState(XenbusState.InitWait);
        return;
      case XenbusState.Initialised:
      case XenbusState.Connected:
        await this.maybeConnect();
        return;
      case XenbusState.Closing:
        this.disconnect();
        await dev.setState(XenbusState.Closing);
        return;
      case XenbusState.Closed:
        this.disconnect();
        dev.state = XenbusState.Unknown;
        await dev.setState(XenbusState.Closed);
        return;
      default:
        return;
    }
  }

  private async maybeConnect(): Promise<void> {
    if (!this.hotplugReady || this.tx !== null || this.closed) return;
    const fstate = this.dev.otherendState;
    if (fstate !== XenbusState.Initialised && fstate !== XenbusState.Connected) return;
    try {
      await this.connectRings();
    } catch (err) {
      this.releaseRings();
      await this.dev.fatal('EINVAL', (err as Error).message);
      return;
    }
    await this.dev.setState(XenbusState.Connected);
    this.print(`connected: mac ${this.mac}, ${this.txSrc === this.rxSrc ? `event channel ${this.txSrc!.port}` : `event channels tx ${this.txSrc!.port} rx ${this.rxSrc!.port}`}, ${this.front.sg ? 'scatter-gather' : 'one slot per frame'}`);
    this.owner.announce('connect', this);
    this.kick();
  }

  /** connect_data_rings + read_xenbus_vif_flags: the frontend's keys, the rings mapped, the channels bound. */
  private async connectRings(): Promise<void> {
    const dev = this.dev;
    const read = async (key: string): Promise<string | undefined> => readOtherendOptional(dev, key);
    const num = async (key: string): Promise<number | undefined> => parseUnsigned(await read(key));
    const queues = await num('multi-queue-num-queues');
    if (queues !== undefined && queues !== 1) throw new Error(`guest requested ${queues} queues, exceeding the maximum of 1.`);
    // Linux netback: "frontend does not support rx copy" (flip is gone), and rx-notify is mandatory.
    if ((await num('request-rx-copy')) !== 1) throw new Error('request-rx-copy: the frontend must use the copying receiver (request-rx-copy=1)');
    if ((await num('feature-rx-notify')) !== 1) throw new Error('feature-rx-notify is mandatory');
    const txRef = ref(await read('tx-ring-ref'), 'tx-ring-ref');
    const rxRef = ref(await read('rx-ring-ref'), 'rx-ring-ref');
    const single = await num('event-channel');
    const txPort = (await num('event-channel-tx')) ?? single;
    const rxPort = (await num('event-channel-rx')) ?? single;
    if (txPort === undefined || rxPort === undefined) throw new Error('reading event-channel: the frontend published neither event-channel nor event-channel-tx/-rx');
    this.front = { sg: (await num('feature-sg')) === 1, gsoTcpv4: (await num('feature-gso-tcpv4')) === 1, gsoTcpv6: (await num('feature-gso-tcpv6')) === 1 };
    const domid = dev.otherend!.domid;
    const txMap = mapRing(this.k.hc, domid, [txRef]);
    this.mapped.push(txMap);
    const rxMap = mapRing(this.k.hc, domid, [rxRef]);
    this.mapped.push(rxMap);
    this.tx = new BackRing(new SharedRing(txMap.pages, TX_SLOT));
    this.rx = new BackRing(new SharedRing(rxMap.pages, RX_SLOT));
    const txGfn = this.k.pageAllocator.allocAligned(FRAME_PAGES);
    this.txBuf = { gfn: txGfn, bytes: this.frames(txGfn) };
    const rxGfn = this.k.pageAllocator.allocAligned(FRAME_PAGES);
    this.rxBuf = { gfn: rxGfn, bytes: this.frames(rxGfn) };
    const kick = { filter: () => (this.kick(), 'handled' as const) };
    this.txSrc = this.k.intr.bindRemotePort(`${this.name}-tx`, domid, txPort, kick);
    this.rxSrc = rxPort === txPort ? this.txSrc : this.k.intr.bindRemotePort(`${this.name}-rx`, domid, rxPort, kick);
  }

  /** The 16 adjacent frames from `gfn` as one view (allocAligned keeps them in one chunk). */
  private frames(gfn: number): Uint8Array {
    const first = this.k.page(gfn);
    return new Uint8Array(first.buffer, first.byteOffset, FRAME_PAGES * XEN_PAGE_SIZE);
  }

  /** Schedule the ring work (once, however often the events fire meanwhile). */
  kick(): void {
    if (this.tx !== null) this.task.enqueue();
  }

  private work(): void {
    try {
      this.txWork();
      this.drainRxQueue();
    } catch (err) {
      const why = err instanceof Fatal ? err.message : `frontend broke the ring: ${(err as Error).message}`;
      this.counters.txErrors++;
      void this.serial(async () => {
        this.print(`fatal error; disabling device: ${why}`);
        this.disconnect();
        await this.dev.fatal(ERRNO.EPROTO, why);
      });
    }
  }

  // ------------------------------------------------------------------ transmit (guest → dom0)

  /** xenvif_tx_action: every frame on the tx ring, then the final check before sleeping. */
  private txWork(): void {
    const ring = this.tx;
    if (ring === null) return;
    do {
      while (this.tx !== null && ring.unconsumedRequests() > 0) this.txFrame(ring);
    } while (this.tx !== null && ring.finalCheckForRequests());
    if (this.tx !== null) this.pushTx();
  }

  /** One frame: its first request, its extra slots, its fragments; checked, copied, answered. */
  private txFrame(ring: BackRing): void {
    const work = ring.unconsumedRequests();
    const first = this.takeTx(ring);
    let status: number = NETIF_RSP.OKAY;
    let why = '';
    const refuse = (s: string): void => {
      if (status !== NETIF_RSP.OKAY) return;
      status = NETIF_RSP.ERROR;
      why = s;
    };
    // The extra-info slots (xenvif_get_extras): each has its own slot and a NULL answer.
    let extras = (first.flags & NETTXF.extra_info) !== 0;
    let used = 1;
    const nulls: number[] = [];
    while (extras) {
      if (used >= work) throw new Fatal('Missing extra info');
      const slot = ring.takeRequest()!;
      used++;
      const x = readExtraInfo(slot.view, slot.offset);
      nulls.push(readTxRequest(slot.view, slot.offset).id);
      if (x.type === XEN_NETIF_EXTRA_TYPE.NONE || x.type >= XEN_NETIF_EXTRA_TYPE.MAX) throw new Fatal(`Invalid extra type: ${x.type}`);
      if (x.type === XEN_NETIF_EXTRA_TYPE.GSO) {
        if (x.gsoSize === 0) throw new Fatal('GSO size must not be zero.');
        if (x.gsoType !== XEN_NETIF_GSO_TYPE.TCPV4 && x.gsoType !== XEN_NETIF_GSO_TYPE.TCPV6) refuse(`Bad GSO type ${x.gsoType}.`);
      }
      extras = (x.flags & XEN_NETIF_EXTRA_FLAG_MORE) !== 0;
    }
    // The fragments (xenvif_count_requests): first.size is the whole frame's length.
    const frags: NetifTxRequest[] = [first];
    let more = (first.flags & NETTXF.more_data) !== 0;
    let rest = first.size;
    while (more) {
      if (frags.length >= FATAL_SKB_SLOTS) throw new Fatal(`Too many slots (${frags.length + 1}) exceeding limit (${FATAL_SKB_SLOTS})`);
      if (used >= work) throw new Fatal(`Asked for ${frags.length + 1} slots but exceeds this limit (${work})`);
      const txp = this.takeTx(ring);
      used++;
      if (txp.size > rest) refuse(`Packet is bigger than frame: fragment of ${txp.size} bytes, ${rest} left of the ${first.size}-byte frame`);
      rest -= Math.min(rest, txp.size);
      frags.push(txp);
      more = (txp.flags & NETTXF.more_data) !== 0;
    }
    for (const f of frags) {
      if (f.offset + (f === first ? rest : f.size) > XEN_PAGE_SIZE) throw new Fatal(`Cross page boundary, txp->offset: ${f.offset}, size: ${f === first ? rest : f.size}`);
    }
    if (first.size < ETH_HLEN) refuse(`Bad packet size: ${first.size}`);
    const frameLength = first.size;
    if (status === NETIF_RSP.OKAY) status = this.copyTx(frags, rest, (s) => refuse(s));
    for (const [i, f] of frags.entries()) {
      this.answerTx(ring, f.id, status);
      // The extra slots' NULL answers follow the first request's, as Linux makes them.
      if (i === 0) for (const id of nulls) this.answerTx(ring, id, NETIF_RSP.NULL);
    }
    if (status !== NETIF_RSP.OKAY) {
      this.counters.txErrors++;
      this.print(`tx frame refused: ${why}`);
      return;
    }
    this.counters.txPackets++;
    this.counters.txBytes += frameLength;
    const frame = this.txBuf!.bytes.subarray(0, frameLength);
    const deliver = this.onFrame;
    if (deliver === null) {
      this.counters.txDropped++;
      return;
    }
    try {
      deliver(frame);
    } catch (err) {
      this.print(`the frame's receiver failed: ${(err as Error).message}`);
    }
  }

  private takeTx(ring: BackRing): NetifTxRequest {
    const slot = ring.takeRequest()!;
    return readTxRequest(slot.view, slot.offset);
  }

  /**
   * Copy the fragments, in order, into txBuf (one GNTTABOP_copy op per fragment, split
   * where a fragment crosses a page of txBuf). The first request's own bytes are
   * `firstBytes` (its size less the fragments after it). Returns the frame's status.
   */
  private copyTx(frags: readonly NetifTxRequest[], firstBytes: number, refuse: (why: string) => void): number {
    const domid = this.dev.otherend!.domid;
    const ops: GnttabCopy[] = [];
    let at = 0;
    for (const [i, f] of frags.entries()) {
      let len = i === 0 ? firstBytes : f.size;
      let src = f.offset;
      while (len > 0) {
        const inPage = Math.min(len, XEN_PAGE_SIZE - (at % XEN_PAGE_SIZE));
        ops.push({
          source: { refOrGmfn: f.gref, domid, offset: src },
          dest: { refOrGmfn: this.txBuf!.gfn + Math.floor(at / XEN_PAGE_SIZE), domid: DOMID.SELF, offset: at % XEN_PAGE_SIZE },
          len: inPage,
          flags: GNTCOPY.source_gref,
        });
        at += inPage;
        src += inPage;
        len -= inPage;
      }
    }
    const results = this.k.hc.gnttabCopy(ops);
    const bad = results.findIndex((s) => s !== GNTST.okay);
    if (bad < 0) return NETIF_RSP.OKAY;
    refuse(`Grant copy failed for grant ${ops[bad]!.source.refOrGmfn}: status ${results[bad]}`);
    return NETIF_RSP.ERROR;
  }

  private answerTx(ring: BackRing, id: number, status: number): void {
    const slot = ring.nextResponse();
    writeTxResponse(slot.view, slot.offset, id, status);
  }

  private pushTx(): void {
    if (this.tx!.pushResponsesAndCheckNotify()) this.notify(this.txSrc);
  }

  private notify(src: XenIntrSource | null): void {
    if (src === null) return;
    try {
      this.k.intr.signal(src);
    } catch (err) {
      // The guest is gone (its port closed): the toolstack removes the device next.
      this.print(`cannot notify the frontend: ${(err as Error).message}`);
    }
  }

  // ------------------------------------------------------------------ receive (dom0 → guest)

  /**
   * EthernetLink.send: the frame goes to the guest's rx ring now if its posted buffers
   * hold it, else into the bounded rx queue until the guest posts more (feature-rx-notify).
   * False when the vif is down, the frame is too big or short, or the queue is full.
   */
  send(frame: Uint8Array): boolean {
    if (this.rx === null || frame.length < ETH_HLEN || frame.length > NETBACK_MAX_FRAME || (!this.front.sg && frame.length > XEN_PAGE_SIZE)) {
      this.counters.rxDropped++;
      return false;
    }
    if (this.rxQueue.length === 0) {
      try {
        if (this.rxFrame(frame)) return true;
      } catch (err) {
        this.failLater(err as Error);
        this.counters.rxDropped++;
        return false;
      }
    }
    if (this.rxQueue.length >= RX_QUEUE_FRAMES || this.rxQueueBytes + frame.length > RX_QUEUE_BYTES) {
      this.counters.rxDropped++;
      return false;
    }
    // The caller may reuse its buffer once we return: keep a copy.
    this.rxQueue.push(frame.slice());
    this.rxQueueBytes += frame.length;
    return true;
  }

  private failLater(err: Error): void {
    void this.serial(async () => {
      const why = `frontend broke the rx ring: ${err.message}`;
      this.print(`fatal error; disabling device: ${why}`);
      this.disconnect();
      await this.dev.fatal(ERRNO.EPROTO, why);
    });
  }

  /** Frames queued while the rx ring was short of buffers, in order, as far as buffers allow. */
  private drainRxQueue(): void {
    while (this.rx !== null && this.rxQueue.length > 0) {
      const frame = this.rxQueue[0]!;
      if (!this.rxFrame(frame)) return;
      this.rxQueue.shift();
      this.rxQueueBytes -= frame.length;
    }
  }

  /**
   * xenvif_rx_ring_slots_available: enough buffers posted for `needed` slots? If not,
   * ask the frontend to notify us at its next post (req_event, which feature-rx-notify
   * promises it honours) and look again, so a post in between is not missed.
   */
  private rxSlotsAvailable(ring: BackRing, needed: number): boolean {
    if (ring.unconsumedRequests() >= needed) return true;
    ring.sring.reqEvent = (ring.sring.reqProd + 1) >>> 0;
    return ring.unconsumedRequests() >= needed;
  }

  /**
   * One frame onto the rx ring (xenvif_rx_skb): one posted buffer per page of the
   * frame, each filled from offset 0 by a grant copy; the responses' status is each
   * buffer's byte count, NETRXF_more_data chains them. A buffer whose grant does not
   * copy gets NETIF_RSP_ERROR, so the frontend drops the frame. False, with nothing
   * taken, when fewer buffers are posted than the frame needs.
   */
  private rxFrame(frame: Uint8Array): boolean {
    const ring = this.rx!;
    const slots = Math.max(1, Math.ceil(frame.length / XEN_PAGE_SIZE));
    if (!this.rxSlotsAvailable(ring, slots)) return false;
    const domid = this.dev.otherend!.domid;
    const buf = this.rxBuf!;
    buf.bytes.set(frame);
    for (let p = 0; p < slots; p++) this.k.stored(buf.gfn + p);
    const reqs = Array.from({ length: slots }, () => {
      const slot = ring.takeRequest()!;
      return readRxRequest(slot.view, slot.offset);
    });
    const ops: GnttabCopy[] = reqs.map((r, i) => ({
      source: { refOrGmfn: buf.gfn + i, domid: DOMID.SELF, offset: 0 },
      dest: { refOrGmfn: r.gref, domid, offset: 0 },
      len: Math.min(XEN_PAGE_SIZE, frame.length - i * XEN_PAGE_SIZE),
      flags: GNTCOPY.dest_gref,
    }));
    const results = this.k.hc.gnttabCopy(ops);
    const failed = results.some((s) => s !== GNTST.okay);
    for (const [i, r] of reqs.entries()) {
      const slot = ring.nextResponse();
      const last = i === slots - 1;
      writeRxResponse(slot.view, slot.offset, {
        id: r.id,
        offset: 0,
        flags: (last ? 0 : NETRXF.more_data) | NETRXF.data_validated,
        status: results[i] !== GNTST.okay ? NETIF_RSP.ERROR : ops[i]!.len,
      });
    }
    if (ring.pushResponsesAndCheckNotify()) this.notify(this.rxSrc);
    if (failed) {
      this.counters.rxDropped++;
      this.print(`rx frame dropped: a posted buffer's grant did not copy (status ${results.find((s) => s !== GNTST.okay)})`);
    } else {
      this.counters.rxPackets++;
      this.counters.rxBytes += frame.length;
    }
    return true;
  }

  // ------------------------------------------------------------------ teardown

  /** xenvif_disconnect: leave the registry, unbind, unmap; queued frames are dropped. */
  disconnect(): void {
    if (this.tx === null && this.mapped.length === 0) return;
    this.releaseRings();
    this.print('disconnected');
  }

  private releaseRings(): void {
    const wasConnected = this.tx !== null;
    this.tx = null;
    this.rx = null;
    this.counters.rxDropped += this.rxQueue.length;
    this.rxQueue.length = 0;
    this.rxQueueBytes = 0;
    if (this.rxSrc !== null && this.rxSrc !== this.txSrc) this.k.intr.unbindSource(this.rxSrc);
    if (this.txSrc !== null) this.k.intr.unbindSource(this.txSrc);
    this.txSrc = null;
    this.rxSrc = null;
    for (const m of this.mapped.splice(0)) {
      try {
        m.unmap();
      } catch (err) {
        this.print((err as Error).message);
      }
    }
    for (const b of [this.txBuf, this.rxBuf]) if (b !== null) for (let i = 0; i < FRAME_PAGES; i++) this.k.pageAllocator.freePage(b.gfn + i);
    this.txBuf = null;
    this.rxBuf = null;
    if (wasConnected) this.owner.announce('disconnect', this);
  }

  /** The device node is gone: disconnect and stop watching. */
  async detach(): Promise<void> {
    this.closed = true;
    this.disconnect();
    await this.dev.xs.unwatch(`${this.dev.node}/hotplug-status`, this.watchToken).catch(() => {});
  }

  /** The kernel stops: no XenStore any more, only our own resources. */
  stop(): void {
    this.closed = true;
    this.disconnect();
  }

  port(): VifPort {
    return {
      domid: this.dev.otherend?.domid ?? -1,
      devid: this.handle,
      backendDomid: this.k.domid,
      mac: this.mac,
      bridge: this.bridge,
      ip: this.ip,
      link: this,
      stats: () => this.stats(),
    };
  }

  stats(): VifStats {
    return { ...this.counters };
  }
}

function ref(text: string | undefined, key: string): number {
  const n = parseUnsigned(text);
  if (n === undefined || n > 0xffffffff) throw new Error(`reading ${key}: ${text === undefined ? 'missing' : `"${text}" is not a grant reference`}`);
  return n;
}

/** A vif connecting or disconnecting, as netback tells whoever listens (the daemon's registry). */
export type NetbackEvent = { type: 'connect' | 'disconnect'; vif: VifPort };

/** The network backend driver: one per kernel, on its back bus, for every `vif` node. */
export class Netback extends PerDeviceDriver<NetbackVif> {
  readonly name = 'netback';
  private readonly ports = new Map<NetbackVif, VifPort>();
  /** Told of each vif that connects or disconnects (the daemon's vif registry). */
  onVif: ((event: NetbackEvent) => void) | null = null;

  constructor(private readonly k: BlkKernel) {
    super();
  }

  probe(dev: XenbusDevice): boolean {
    return dev.type === 'vif';
  }

  attach(dev: XenbusDevice): Promise<void> {
    return this.attachOrUndo(dev, new NetbackVif(dev, this.k, this));
  }

  /** A vif's connection changed: tell the listener (its failure is logged, never thrown at the ring). */
  announce(type: 'connect' | 'disconnect', vif: NetbackVif): void {
    let port = this.ports.get(vif);
    if (type === 'connect' || port === undefined) {
      port = vif.port();
      this.ports.set(vif, port);
    }
    if (type === 'disconnect') this.ports.delete(vif);
    try {
      this.onVif?.({ type, vif: port });
    } catch (err) {
      this.k.log.print(`${vif.name}: ${(err as Error).message}`);
    }
  }

  /** Every vif served, connected or not: its node, state and counters (network-list, top). */
  vifs(): Array<{ node: string; frontendDomid: number; devid: number; state: XenbusState; connected: boolean; mac: string; stats: VifStats }> {
    return [...this.instances.values()].map((v) => ({ node: v.dev.node, frontendDomid: v.dev.otherend?.domid ?? -1, devid: v.handle, state: v.dev.state, connected: v.connected, mac: v.mac, stats: v.stats() }));
  }

  /** The connected vif of (frontend domid, devid), as a link. */
  link(domid: number, devid: number): EthernetLink | undefined {
    return [...this.instances.values()].find((v) => v.connected && v.dev.otherend?.domid === domid && v.handle === devid);
  }

  /** The kernel stops (its domain is destroyed): every vif lets go, without XenStore. */
  stopAll(): void {
    for (const inst of this.instances.values()) inst.stop();
    this.instances.clear();
  }
}
