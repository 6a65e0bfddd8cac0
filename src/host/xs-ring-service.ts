import { RingEndpoint, XENSTORE_ERROR, XenstoreRingServer } from '../abi/index.js';
import type { Hypervisor } from '../hypervisor/hypervisor.js';
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
}

/**
 * xenstored's side of the domains' rings, as xenstored does it from dom0: map the
 * guest's xenstore page (a privileged foreign mapping), bind the guest's unbound event
 * channel through dom0's event channel device, and move xs_wire messages between the
 * ring and the engine. Each domain is an unprivileged connection with its domid.
 */
export class XsRingService implements DomainHooks {
  private readonly rings = new Map<number, DomainRing>();
  private xs: XenStored | null = null;

  constructor(
    private readonly hv: Hypervisor,
    private readonly dom0: () => Kernel,
  ) {}

  /** The engine, once it exists (it takes this service as its domain hooks). */
  attach(xs: XenStored): void {
    this.xs = xs;
  }

  introduce(domid: number, mfn: bigint, port: number): void {
    const xs = this.xs!;
    const domain = this.hv.domains.get(domid);
    if (domain === undefined) throw new XsError('EINVAL', `no domain ${domid}`);
    const dom0 = this.dom0();
    let page: Uint8Array;
    let localPort: number;
    try {
      page = domain.memory.page(Number(mfn));
      localPort = dom0.hc.evtchn.bindInterdomain(domid, port);
    } catch (err) {
      throw new XsError('EINVAL', `cannot connect to domain ${domid}: ${(err as Error).message}`);
    }
    const ring = new XenstoreRingServer(page);
    ring.advertiseFeatures(xs.featuresOf(domid));
    const reader = new XsFrameReader();
    let conn: XsConnection | null = null;
    const endpoint = new RingEndpoint(
      { write: (b) => ring.write(b), read: () => ring.read() },
      () => dom0.hc.evtchn.send(localPort),
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
          dom0.hc.evtchn.send(localPort);
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
    this.rings.set(domid, { conn, endpoint, localPort });
    dom0.intr.bind(localPort, 0, () => endpoint.onEvent());
    dom0.hc.evtchn.unmask(localPort);
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
    const dom0 = this.dom0();
    dom0.intr.unbind(r.localPort);
    try {
      dom0.hc.evtchn.close(r.localPort);
    } catch {
      // the domain is gone and took the channel with it
    }
  }

  /** Bytes waiting for room in a domain's ring (for statistics). */
  backlog(domid: number): number {
    return this.rings.get(domid)?.endpoint.backlog ?? 0;
  }
}
