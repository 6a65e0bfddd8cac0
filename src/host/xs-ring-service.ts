import { GNTMAP, GNTST, GNTTAB, RingEndpoint, XENSTORE_ERROR, XenstoreRingServer } from '../abi/index.js';
import { gntstName } from '../hypervisor/gnttab.js';
import type { Kernel } from '../kernel/kernel.js';
import { XsFrameReader } from '../protocol/xs-wire.js';
import type { XsConnection } from '../xenstore/connection.js';
import { XsError } from '../xenstore/errors.js';
import { overLimit, queuedFrameLimit } from '../xenstore/quota.js';
import type { DomainHooks, XenStored } from '../xenstore/xenstored.js';

interface DomainRing {
  conn: XsConnection;
  endpoint: RingEndpoint;
  localPort: number;
  /** The grant mapping of the guest's ring page. */
  handle: number;
}

/**
 * xenstored's side of the domains' rings, as C xenstored does it from the domain it runs
 * in (dom0 here): map the guest's xenstore page through the grant the domain builder
 * put in the guest's reserved entry GNTTAB_RESERVED_XENSTORE (map_interface), bind the
 * guest's unbound event channel (an interdomain channel, the only kind it binds), and
 * move xs_wire messages between the ring and the engine. Each domain is an
 * unprivileged connection with its domid. A guest that did not grant its page to
 * xenstored's domain cannot be introduced.
 */
export class XsRingService implements DomainHooks {
  private readonly rings = new Map<number, DomainRing>();
  private xs: XenStored | null = null;

  constructor(
    /** The kernel of the domain xenstored runs in: its hypercalls and interrupts are the service's. */
    private readonly home: () => Kernel,
  ) {}

  /** The domain xenstored runs in. */
  get domid(): number {
    return this.home().domid;
  }

  /** The engine, once it exists (it takes this service as its domain hooks). */
  attach(xs: XenStored): void {
    this.xs = xs;
  }

  /**
   * INTRODUCE: connect to the domain's ring. As C xenstored, the ring comes through the
   * reserved grant, not the frame number INTRODUCE carries (which is not used).
   */
  introduce(domid: number, _mfn: bigint, port: number): void {
    const xs = this.xs!;
    const home = this.home();
    const [mapped] = home.hc.gnttabMapGrantRef([{ dom: domid, ref: GNTTAB.RESERVED_XENSTORE, flags: GNTMAP.host_map }]);
    if (mapped!.status !== GNTST.okay) {
      throw new XsError('EINVAL', `cannot map domain ${domid}'s xenstore ring through its grant ${GNTTAB.RESERVED_XENSTORE}: ${gntstName(mapped!.status)}`);
    }
    const handle = mapped!.handle;
    let localPort: number;
    try {
      localPort = home.hc.evtchn.bindInterdomain(domid, port);
    } catch (err) {
      home.hc.gnttabUnmapGrantRef([handle]);
      throw new XsError('EINVAL', `cannot connect to domain ${domid}: ${(err as Error).message}`);
    }
    const ring = new XenstoreRingServer(mapped!.page!);
    ring.advertiseFeatures(xs.featuresOf(domid));
    const reader = new XsFrameReader();
    let conn: XsConnection | null = null;
    const endpoint = new RingEndpoint(
      { write: (b) => ring.write(b), read: () => ring.read() },
      () => home.hc.evtchn.send(localPort),
      (chunk) => {
        for (const m of reader.push(chunk)) {
          if (conn!.closed) return;
          xs.handle(conn!, m);
        }
        if (reader.oversized) {
          // xenstore-ring.txt: a client exceeding the payload limit has broken the
          // protocol; say so in the error word and stop serving it.
          ring.setError(XENSTORE_ERROR.PROTO);
          // Signal once more, so the guest sees the error word instead of waiting.
          home.hc.evtchn.send(localPort);
          this.disconnect(domid);
        }
      },
    );
    conn = xs.connect(domid, 'domain', {
      deliver: (frame) => {
        endpoint.send(frame);
        // A guest that stops reading its ring would make xenstored hold its replies
        // and watch events without end; past the bound it is no longer served, as C
        // xenstored ignores a domain whose watch events time out.
        const limit = queuedFrameLimit(xs.quota, domid);
        if (overLimit(endpoint.queued, limit)) {
          xs.log(`domain ${domid}: ${endpoint.queued} replies and watch events wait for room in its ring (limit ${limit}), disconnecting`);
          this.disconnect(domid);
        }
      },
      close: () => this.disconnect(domid),
    });
    this.rings.set(domid, { conn, endpoint, localPort, handle });
    home.intr.bind(localPort, 0, () => endpoint.onEvent());
    home.hc.evtchn.unmask(localPort);
  }

  release(domid: number): void {
    this.disconnect(domid);
  }

  private disconnect(domid: number): void {
    const r = this.rings.get(domid);
    if (r === undefined) return;
    this.rings.delete(domid);
    r.endpoint.close();
    this.xs?.disconnect(r.conn);
    const home = this.home();
    home.intr.unbind(r.localPort);
    try {
      home.hc.evtchn.close(r.localPort);
    } catch {
      // the domain is gone and took the channel with it
    }
    // The ring page goes back to the guest (or, if it is dying, is freed now).
    home.hc.gnttabUnmapGrantRef([r.handle]);
  }

  /** Bytes waiting for room in a domain's ring (for statistics). */
  backlog(domid: number): number {
    return this.rings.get(domid)?.endpoint.backlog ?? 0;
  }
}
