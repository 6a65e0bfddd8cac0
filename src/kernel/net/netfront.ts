/**
 * The network frontend (Linux's xen-netfront, FreeBSD's netfront): one NIC per `vif`
 * device node of this domain, each an EthernetLink the guest's network stack uses.
 *
 * Buffers: every tx ring slot id owns one page granted read-only to the backend, every
 * rx slot id one page granted read-write, granted once at connect and kept (netback
 * copies, so nothing is mapped across requests). A frame goes out in page-sized
 * fragments (NETTXF_more_data; the first request's size is the frame's); one comes in
 * as a chain of filled rx buffers (NETRXF_more_data), each buffer posted again at once.
 */
import { PerDeviceDriver, type HeldResources } from '../xenbus/per-device-driver.js';
import {
  FrontRing,
  NET_RX_RING_SIZE,
  NET_TX_RING_SIZE,
  NETIF_RSP,
  NETRXF,
  NETTXF,
  readRxResponse,
  readTxResponse,
  SharedRing,
  SRING_PROTOCOLS,
  writeRxRequest,
  writeTxRequest,
  XEN_NETIF_MAX_TX_SIZE,
  XEN_PAGE_SIZE,
  XenbusState,
} from '../../abi/index.js';
import type { EthernetLink } from '../../net/link.js';
import type { BlkKernel } from '../blk/context.js';
import { ERRNO, parseUnsigned, readOptional, readOtherendOptional } from '../blk/xenbus-util.js';
import type { XenIntrSource } from '../intr/xen-intr.js';
import type { XenbusDevice } from '../xenbus/device.js';
import { grantRing, type GrantedRing } from '../xenbus/grant-ring.js';

const TX_SLOT = SRING_PROTOCOLS.netif_tx.slotBytes;
const RX_SLOT = SRING_PROTOCOLS.netif_rx.slotBytes;
/** ETH_HLEN. */
const ETH_HLEN = 14;

/** Tunables: use split event channels when the backend offers them (Linux netfront does). */
export interface NetfrontTunables {
  splitEventChannels: boolean;
}

/** A NIC's counters, as the guest's ifconfig shows them. */
export interface NetfrontStats {
  txPackets: number;
  txBytes: number;
  /** Frames the stack handed over that did not fit the ring (or the NIC was down). */
  txDropped: number;
  /** Frames the backend answered with an error. */
  txErrors: number;
  rxPackets: number;
  rxBytes: number;
  /** Frames that came with an error status or a malformed chain. */
  rxErrors: number;
}

/** One buffer page: its frame, its grant, its view. */
interface Buffer {
  gfn: number;
  gref: number;
  page: Uint8Array;
}

/** One guest NIC (Linux's struct netfront_info with its one queue). */
export class NetfrontNic implements EthernetLink {
  onFrame: ((frame: Uint8Array) => void) | null = null;
  private queue: Promise<void> = Promise.resolve();
  readonly name: string;
  mac = '';
  /** The address the vif spec's ip= gives this NIC (the backend's `ip` node), or null. */
  ip: string | null = null;
  /** Both ends connected: frames move. */
  carrier = false;
  sg = false;
  private txRing: GrantedRing | null = null;
  private rxRing: GrantedRing | null = null;
  private tx: FrontRing | null = null;
  private rx: FrontRing | null = null;
  private txSrc: XenIntrSource | null = null;
  private rxSrc: XenIntrSource | null = null;
  private txBufs: Buffer[] = [];
  private rxBufs: Buffer[] = [];
  private txFree: number[] = [];
  /** Per tx id: 1 while its request is on the ring (a response for an id not in flight is the backend's bug). */
  private txBusy = new Uint8Array(0);
  private readonly counters: NetfrontStats = { txPackets: 0, txBytes: 0, txDropped: 0, txErrors: 0, rxPackets: 0, rxBytes: 0, rxErrors: 0 };

  constructor(
    readonly dev: XenbusDevice,
    private readonly k: BlkKernel,
    readonly devid: number,
    private readonly tunables: NetfrontTunables,
    private readonly owner: Netfront,
  ) {
    this.name = `eth${devid}`;
  }

  /** Both rings, the buffer pages and their grants (see PerDeviceDriver.held). */
  held(): HeldResources {
    const bufs = [...this.txBufs, ...this.rxBufs];
    return {
      frames: [...(this.txRing?.gfns ?? []), ...(this.rxRing?.gfns ?? []), ...bufs.map((b) => b.gfn)],
      grantRefs: [...(this.txRing?.refs ?? []), ...(this.rxRing?.refs ?? []), ...bufs.filter((b) => b.gref >= 0).map((b) => b.gref)],
    };
  }

  serial(work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(work).catch((err: Error) => this.k.log.print(`${this.name}: ${this.dev.node}: ${err.message}`));
    this.queue = next;
    return next;
  }

  private print(line: string): void {
    this.k.log.print(`netfront: ${this.name}: ${line}`);
  }

  async attach(): Promise<void> {
    this.mac = ((await readOptional(this.dev, 'mac')) ?? '').toLowerCase();
    this.print(`${this.dev.node}, mac ${this.mac}, backend domain ${this.dev.otherend!.domid}`);
  }

  /** netback_changed. */
  async otherendChanged(state: XenbusState): Promise<void> {
    switch (state) {
      case XenbusState.InitWait:
        // A backend ready again after we closed (the toolstack made the device anew under the same node): start over.
        if (this.dev.state === XenbusState.Closed && this.tx === null) await this.dev.setState(XenbusState.Initialising);
        if (this.dev.state !== XenbusState.Initialising) return;
        if (!(await this.talkToNetback())) return;
        // Linux netfront skips Initialised: its rings are ready, it is Connected.
        await this.dev.setState(XenbusState.Connected);
        return;
      case XenbusState.Connected:
        if (this.dev.state === XenbusState.Connected && this.tx !== null && !this.carrier) {
          this.ip = (await readOtherendOptional(this.dev, 'ip')) ?? null;
          this.carrier = true;
          this.print(`link up${this.ip !== null ? `, ip ${this.ip}` : ''}`);
          this.owner.announce('up', this);
        }
        return;
      case XenbusState.Closing:
        await this.close();
        return;
      case XenbusState.Closed:
        if (this.dev.state !== XenbusState.Closed) await this.close();
        this.detach();
        return;
      default:
        return;
    }
  }

  /** talk_to_netback: the rings and buffers granted, the channels bound, the keys published, the rx ring filled. */
  private async talkToNetback(): Promise<boolean> {
    const dev = this.dev;
    const num = async (key: string): Promise<number | undefined> => parseUnsigned(await readOtherendOptional(dev, key));
    if ((await num('feature-rx-copy')) !== 1) {
      await dev.fatal(ERRNO.ENODEV, 'backend does not support copying receive path');
      return false;
    }
    this.sg = (await num('feature-sg')) === 1;
    const split = this.tunables.splitEventChannels && (await num('feature-split-event-channels')) === 1;
    const be = dev.otherend!.domid;
    try {
      this.txRing = grantRing(this.k, be, 1);
      this.rxRing = grantRing(this.k, be, 1);
      this.tx = FrontRing.init(new SharedRing(this.txRing.pages, TX_SLOT));
      this.rx = FrontRing.init(new SharedRing(this.rxRing.pages, RX_SLOT));
      this.txBufs = this.buffers(be, NET_TX_RING_SIZE, true);
      this.rxBufs = this.buffers(be, NET_RX_RING_SIZE, false);
      this.txFree = Array.from({ length: NET_TX_RING_SIZE }, (_, i) => NET_TX_RING_SIZE - 1 - i);
      this.txBusy = new Uint8Array(NET_TX_RING_SIZE);
      if (split) {
        this.txSrc = this.k.intr.allocAndBindLocalPort(`${this.name}-tx`, be, { ithread: () => this.txInterrupt() });
        this.rxSrc = this.k.intr.allocAndBindLocalPort(`${this.name}-rx`, be, { ithread: () => this.rxInterrupt() });
      } else {
        this.txSrc = this.k.intr.allocAndBindLocalPort(this.name, be, {
          ithread: () => {
            this.txInterrupt();
            this.rxInterrupt();
          },
        });
        this.rxSrc = this.txSrc;
      }
    } catch (err) {
      this.detach();
      await dev.fatal('ENOMEM', `setting up the rings: ${(err as Error).message}`);
      return false;
    }
    await dev.xs.transaction(async (tx) => {
      const w = (key: string, v: number | string): Promise<void> => dev.xs.write(`${dev.node}/${key}`, String(v), tx);
      await w('tx-ring-ref', this.txRing!.refs[0]!);
      await w('rx-ring-ref', this.rxRing!.refs[0]!);
      if (split) {
        await w('event-channel-tx', this.txSrc!.port);
        await w('event-channel-rx', this.rxSrc!.port);
      } else {
        await w('event-channel', this.txSrc!.port);
      }
      await w('request-rx-copy', 1);
      await w('feature-rx-notify', 1);
      await w('feature-sg', 1);
      await w('feature-gso-tcpv4', 1);
      await w('feature-gso-tcpv6', 1);
      await w('feature-ipv6-csum-offload', 1);
    });
    // Every rx buffer posted: the backend may fill them as soon as it connects.
    for (let id = 0; id < this.rxBufs.length; id++) this.postRx(id);
    this.rx.pushRequests();
    return true;
  }

  /** `count` pages, each granted to the backend (read-only for tx), by slot id. */
  private buffers(be: number, count: number, readonly: boolean): Buffer[] {
    const out: Buffer[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const gfn = this.k.pageAllocator.alloc();
        out.push({ gfn, gref: -1, page: this.k.page(gfn) });
        out[i]!.gref = this.k.gnttab.grantForeignAccess(be, gfn, readonly);
      }
    } catch (err) {
      this.freeBuffers(out);
      throw err;
    }
    return out;
  }

  private freeBuffers(bufs: readonly Buffer[]): void {
    for (const b of bufs) {
      if (b.gref < 0) this.k.pageAllocator.freePage(b.gfn);
      // A grant the backend still uses is deferred; its frame is freed once it ends.
      else this.k.gnttab.endForeignAccessReferences([b.gref], () => this.k.pageAllocator.freePage(b.gfn));
    }
  }

  private postRx(id: number): void {
    const slot = this.rx!.nextRequest();
    writeRxRequest(slot.view, slot.offset, id, this.rxBufs[id]!.gref);
  }

  /** xennet_start_xmit: the frame in page-sized fragments; false (dropped) when the NIC is down or the ring has no room. */
  send(frame: Uint8Array): boolean {
    const ring = this.tx;
    const slots = Math.max(1, Math.ceil(frame.length / XEN_PAGE_SIZE));
    if (!this.carrier || ring === null || frame.length < ETH_HLEN || frame.length > XEN_NETIF_MAX_TX_SIZE || (slots > 1 && !this.sg) || this.txFree.length < slots || ring.freeRequests() < slots) {
      this.counters.txDropped++;
      return false;
    }
    for (let i = 0; i < slots; i++) {
      const id = this.txFree.pop()!;
      this.txBusy[id] = 1;
      const buf = this.txBufs[id]!;
      const chunk = frame.subarray(i * XEN_PAGE_SIZE, Math.min(frame.length, (i + 1) * XEN_PAGE_SIZE));
      buf.page.set(chunk);
      this.k.stored(buf.gfn);
      const slot = ring.nextRequest();
      writeTxRequest(slot.view, slot.offset, { gref: buf.gref, offset: 0, flags: i < slots - 1 ? NETTXF.more_data : 0, id, size: i === 0 ? frame.length : chunk.length });
    }
    this.counters.txPackets++;
    this.counters.txBytes += frame.length;
    if (ring.pushRequestsAndCheckNotify()) this.notify(this.txSrc);
    return true;
  }

  private notify(src: XenIntrSource | null): void {
    if (src === null) return;
    try {
      this.k.intr.signal(src);
    } catch (err) {
      this.print(`cannot notify the backend: ${(err as Error).message}`);
    }
  }

  /** xennet_tx_buf_gc: the answered fragments' buffers are free again. */
  private txInterrupt(): void {
    const ring = this.tx;
    if (ring === null) return;
    try {
      do {
        for (let slot = ring.takeResponse(); slot !== undefined; slot = ring.takeResponse()) {
          const r = readTxResponse(slot.view, slot.offset);
          if (r.status === NETIF_RSP.NULL) continue;
          if (this.txBusy[r.id] !== 1) throw new Error(`tx response for id ${r.id}, which is not in flight`);
          if (r.status !== NETIF_RSP.OKAY) this.counters.txErrors++;
          this.txBusy[r.id] = 0;
          this.txFree.push(r.id);
        }
      } while (ring.finalCheckForResponses());
    } catch (err) {
      void this.serial(() => this.fail(`backend broke the tx ring: ${(err as Error).message}`));
    }
  }

  /** xennet_poll: every complete frame on the rx ring to the stack, each buffer posted again. */
  private rxInterrupt(): void {
    const ring = this.rx;
    if (ring === null) return;
    try {
      do {
        while (this.rx !== null && ring.unconsumedResponses() > 0) {
          if (!this.rxFrame(ring)) break;
        }
      } while (this.rx !== null && ring.finalCheckForResponses());
      if (this.rx !== null && ring.pushRequestsAndCheckNotify()) this.notify(this.rxSrc);
    } catch (err) {
      void this.serial(() => this.fail(`backend broke the rx ring: ${(err as Error).message}`));
    }
  }

  /**
   * One frame (xennet_get_responses): its chain of responses, or false when the chain
   * is not all on the ring yet. A response with an error status, a length past its
   * page, or an unknown id drops the frame; every buffer of the chain is posted again.
   */
  private rxFrame(ring: FrontRing): boolean {
    const available = ring.unconsumedResponses();
    const parts: Array<{ id: number; offset: number; length: number }> = [];
    let bad = '';
    for (let i = 0; ; i++) {
      if (i >= available) return false;
      const slot = ring.response(ring.rspCons + i);
      const r = readRxResponse(slot.view, slot.offset);
      if (r.id >= this.rxBufs.length) throw new Error(`rx response for id ${r.id}, beyond the ring`);
      if (r.status < 0) bad ||= `status ${r.status}`;
      else if (r.offset + r.status > XEN_PAGE_SIZE) bad ||= `rx->offset: ${r.offset}, size: ${r.status}`;
      // This netfront asks for no GSO on receive: an extra-info slot is not expected.
      if ((r.flags & NETRXF.extra_info) !== 0) bad ||= 'extra info that was not asked for';
      parts.push({ id: r.id, offset: r.offset, length: Math.max(0, r.status) });
      if ((r.flags & NETRXF.more_data) === 0) break;
      if (parts.length > XEN_NETIF_MAX_TX_SIZE / XEN_PAGE_SIZE + 2) bad ||= 'too many slots';
    }
    ring.rspCons = (ring.rspCons + parts.length) >>> 0;
    const frame = bad === '' ? this.gather(parts) : null;
    for (const p of parts) this.postRx(p.id);
    if (frame === null) {
      this.counters.rxErrors++;
      this.print(`rx frame dropped: ${bad}`);
      return true;
    }
    this.counters.rxPackets++;
    this.counters.rxBytes += frame.length;
    try {
      this.onFrame?.(frame);
    } catch (err) {
      this.print(`the stack failed on a frame: ${(err as Error).message}`);
    }
    return true;
  }

  /** The chain's bytes as one frame: the buffer itself for one part (the receiver copies what it keeps). */
  private gather(parts: ReadonlyArray<{ id: number; offset: number; length: number }>): Uint8Array {
    if (parts.length === 1) {
      const p = parts[0]!;
      return this.rxBufs[p.id]!.page.subarray(p.offset, p.offset + p.length);
    }
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(this.rxBufs[p.id]!.page.subarray(p.offset, p.offset + p.length), at);
      at += p.length;
    }
    return out;
  }

  stats(): NetfrontStats {
    return { ...this.counters };
  }

  private async fail(why: string): Promise<void> {
    this.down();
    await this.dev.fatal(ERRNO.EPROTO, why);
  }

  private down(): void {
    if (!this.carrier) return;
    this.carrier = false;
    this.print('link down');
    this.owner.announce('down', this);
  }

  /**
   * The backend is closing: the link goes down, we go Closed, then free our event
   * channels (a backend still acting on the state we wrote before binds the ports we
   * published, and must find them ours, as blkfront's close); the rings go once the
   * backend is Closed.
   */
  private async close(): Promise<void> {
    this.down();
    await this.dev.setState(XenbusState.Closed).catch(() => {});
    this.unbind();
  }

  private unbind(): void {
    if (this.rxSrc !== null && this.rxSrc !== this.txSrc) this.k.intr.unbindSource(this.rxSrc);
    if (this.txSrc !== null) this.k.intr.unbindSource(this.txSrc);
    this.txSrc = null;
    this.rxSrc = null;
  }

  /** End the rings' and buffers' grants and free their frames. */
  detach(): void {
    this.down();
    this.unbind();
    for (const r of [this.txRing, this.rxRing]) {
      const left = r?.release();
      if (left !== undefined && left.stillMapped.length > 0) this.print(`ring grants ${left.stillMapped.join(', ')} still mapped by the backend: their pages stay out of use`);
    }
    this.txRing = null;
    this.rxRing = null;
    this.tx = null;
    this.rx = null;
    this.freeBuffers(this.txBufs);
    this.freeBuffers(this.rxBufs);
    this.txBufs = [];
    this.rxBufs = [];
    this.txFree = [];
  }
}

export type NetfrontEvent = { type: 'up' | 'down'; nic: NetfrontNic };

/** The network frontend driver: one per kernel, on its front bus, for every `vif` node. */
export class Netfront extends PerDeviceDriver<NetfrontNic> {
  readonly name = 'netfront';
  private readonly listeners = new Set<(e: NetfrontEvent) => void>();
  tunables: NetfrontTunables = { splitEventChannels: true };

  constructor(private readonly k: BlkKernel) {
    super();
  }

  probe(dev: XenbusDevice): boolean {
    return dev.type === 'vif';
  }

  async attach(dev: XenbusDevice): Promise<void> {
    const devid = parseUnsigned(await readOptional(dev, 'handle')) ?? Number(dev.node.split('/').pop());
    await this.attachInOrder(dev, new NetfrontNic(dev, this.k, devid, { ...this.tunables }, this));
  }

  /** Every vif device this driver has, link up or not (the guest's `ip link`). */
  devices(): Array<{ node: string; devid: number; state: XenbusState; carrier: boolean; mac: string; stats: NetfrontStats }> {
    return [...this.instances.values()].map((n) => ({ node: n.dev.node, devid: n.devid, state: n.dev.state, carrier: n.carrier, mac: n.mac, stats: n.stats() }));
  }

  /** The NICs whose link is up, by devid. */
  nics(): NetfrontNic[] {
    return [...this.instances.values()].filter((n) => n.carrier).sort((a, b) => a.devid - b.devid);
  }

  nic(devid: number): NetfrontNic | undefined {
    return this.nics().find((n) => n.devid === devid);
  }

  /** Hear of each NIC's link going up or down; those up now are announced at once. Returns the unsubscribe. */
  subscribe(listener: (e: NetfrontEvent) => void): () => void {
    this.listeners.add(listener);
    for (const nic of this.nics()) listener({ type: 'up', nic });
    return () => this.listeners.delete(listener);
  }

  announce(type: 'up' | 'down', nic: NetfrontNic): void {
    for (const l of [...this.listeners]) {
      try {
        l({ type, nic });
      } catch (err) {
        this.k.log.print(`netfront: ${nic.name}: ${(err as Error).message}`);
      }
    }
  }
}
