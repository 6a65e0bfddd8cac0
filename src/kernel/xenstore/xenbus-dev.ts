import { XsRequestError, type WatchCallback, type XsClient } from '../../protocol/xs-client.js';
import { encodeMessage, OK_PAYLOAD, PAYLOAD_MAX, splitNul, XsFrameReader, XsType, xsTypeName } from '../../protocol/xs-wire.js';

/** What an open of the device sends back to its user, and how it is told the device is gone. */
export interface XenbusDevUser {
  /** A reply or a watch event, one whole xs_wire message. */
  deliver(frame: Buffer): void;
  /** The device closed this open (a protocol violation, the kernel's connection lost). */
  hangUp(reason: string): void;
}

/** One open of the device. */
export interface XenbusDevFile {
  /** Bytes the user wrote: xs_wire messages, possibly split or several at once. */
  write(bytes: Buffer): void;
  /** Requests read but not answered yet (the caller stops reading above a bound). */
  readonly queued: number;
  /** Called each time the queue empties. */
  onDrained(listener: () => void): void;
  /** release(): the user's watches and transactions end with it. */
  close(): void;
}

interface DevWatch {
  /** The token xenstored sees: unique to this open, so two users' equal tokens stay apart. */
  kernelToken: string;
  /** One callback per kernel token, as the kernel's client requires. */
  callback: WatchCallback;
  paths: Set<string>;
  /** Events that came before the WATCH reply went out; they follow it, as on a real ring. */
  held: Buffer[] | null;
}

/**
 * The guest kernel's xenbus device (Linux's /dev/xen/xenbus, xenbus_dev_frontend.c;
 * FreeBSD's /dev/xen/xenstore): user programs write xs_wire requests and read the
 * replies, and every request goes to xenstored through the kernel's own XenStore
 * connection (its ring, as the domain), the one the kernel's drivers use. Several
 * opens share that one connection, so as Linux does:
 *
 * - each request gets the kernel client's req_id on the way out and the user's back
 *   on the reply;
 * - WATCH and UNWATCH register kernel watches whose token is private to the open, and
 *   their events go back to that open only, with the user's token;
 * - a request in a transaction must name one this open started (else ENOENT), so no
 *   open can reach into another's transaction;
 * - release ends the open's transactions (aborted) and removes its watches.
 *
 * One open's requests are answered in the order they were written. Everything else
 * (privileged requests included) goes to xenstored as it is, which answers it as it
 * answers the domain.
 */
export class XenbusDev {
  private nextFile = 1;

  /**
   * `xs` is the kernel's connection at the time of each request (a restore replaces
   * it); null once the kernel is gone, which ends every open.
   */
  constructor(private readonly xs: () => XsClient | null) {}

  open(user: XenbusDevUser): XenbusDevFile {
    return new DevFile(this.nextFile++, this.xs, user);
  }
}

class DevFile implements XenbusDevFile {
  private readonly reader = new XsFrameReader();
  private readonly transactions = new Set<number>();
  /** The user's token → its watch. */
  private readonly watches = new Map<string, DevWatch>();
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private closed = false;
  private readonly drainListeners: Array<() => void> = [];

  constructor(
    private readonly id: number,
    private readonly connection: () => XsClient | null,
    private readonly user: XenbusDevUser,
  ) {}

  /** The kernel's connection; a gone kernel fails the request, which hangs the open up. */
  private xs(): XsClient {
    const xs = this.connection();
    if (xs === null) throw new Error('the domain has no kernel any more');
    return xs;
  }

  get queued(): number {
    return this.pending;
  }

  onDrained(listener: () => void): void {
    this.drainListeners.push(listener);
  }

  write(bytes: Buffer): void {
    if (this.closed) return;
    for (const m of this.reader.push(bytes)) {
      // The reader reuses its buffer: the request waits its turn with its own copy.
      const msg = { type: m.type, reqId: m.reqId, txId: m.txId, payload: Buffer.from(m.payload) };
      this.pending++;
      this.chain = this.chain.then(async () => {
        try {
          if (!this.closed) await this.handle(msg.type, msg.reqId, msg.txId, msg.payload);
        } finally {
          if (--this.pending === 0) for (const l of this.drainListeners) l();
        }
        // A user's callback that threw: the open ends, the device goes on.
      }).catch(() => this.close());
    }
    const bad = this.reader.oversized;
    if (bad !== null) {
      // Linux refuses such a write with EINVAL; on a stream nothing after it can be
      // framed, so the open ends.
      this.hangUp(`a ${xsTypeName(bad.type)} request of ${bad.len} bytes is over the ${PAYLOAD_MAX}-byte limit`);
    }
  }

  private async handle(type: number, reqId: number, txId: number, payload: Buffer): Promise<void> {
    const reply = (t: number, body: Buffer | string): void => {
      if (!this.closed) this.user.deliver(encodeMessage(t, reqId, txId, body));
    };
    const fail = (errno: string): void => reply(XsType.ERROR, `${errno}\0`);
    try {
      if (type === XsType.WATCH) return await this.watch(payload, reply, fail);
      if (type === XsType.UNWATCH) return await this.unwatch(payload, reply, fail);
      if (type === XsType.RESET_WATCHES) {
        // On the kernel's shared connection this would remove the kernel's own watches
        // (its drivers', every other open's): it resets this open's only.
        await this.dropWatches();
        return reply(type, OK_PAYLOAD);
      }
      if (txId !== 0 && !this.transactions.has(txId)) return fail('ENOENT');
      const xs = this.xs();
      const body = await xs.request(type, payload, txId).finally(() => {
        if (type === XsType.TRANSACTION_END) this.transactions.delete(txId);
      });
      if (type === XsType.TRANSACTION_START) {
        const id = Number.parseInt(body.toString('latin1'), 10);
        // Closed meanwhile: nobody will end it, so end it now.
        if (this.closed) return void xs.transactionEnd(id, false).catch(() => {});
        this.transactions.add(id);
      }
      reply(type, body);
    } catch (err) {
      if (err instanceof XsRequestError) return fail(err.errno);
      this.hangUp(`the kernel's XenStore connection failed: ${(err as Error).message}`);
    }
  }

  private async watch(payload: Buffer, reply: (t: number, body: Buffer | string) => void, fail: (errno: string) => void): Promise<void> {
    const parts = splitNul(payload);
    if (parts.length < 3) return fail('EINVAL');
    const [path = '', token = '', depthText = ''] = parts;
    const depth = parts.length > 3 ? Number(depthText) : undefined;
    let w = this.watches.get(token);
    if (w === undefined) {
      w = { kernelToken: `xenbus-dev/${this.id}/${token}`, callback: (e) => this.fire(token, e.path), paths: new Set(), held: null };
      this.watches.set(token, w);
    }
    const entry = w;
    const hold: Buffer[] = [];
    entry.held = hold;
    try {
      await this.xs().watch(path, entry.kernelToken, entry.callback, depth);
      entry.paths.add(path);
      reply(XsType.WATCH, OK_PAYLOAD);
    } catch (err) {
      if (entry.paths.size === 0) this.watches.delete(token);
      if (err instanceof XsRequestError) fail(err.errno);
      else throw err;
    } finally {
      if (entry.held === hold) entry.held = null;
      for (const f of hold) if (!this.closed) this.user.deliver(f);
    }
  }

  private fire(token: string, path: string): void {
    if (this.closed) return;
    const w = this.watches.get(token);
    if (w === undefined) return;
    const frame = encodeMessage(XsType.WATCH_EVENT, 0, 0, `${path}\0${token}\0`);
    if (w.held !== null) w.held.push(frame);
    else this.user.deliver(frame);
  }

  private async unwatch(payload: Buffer, reply: (t: number, body: Buffer | string) => void, fail: (errno: string) => void): Promise<void> {
    const parts = splitNul(payload);
    if (parts.length < 3) return fail('EINVAL');
    const [path = '', token = ''] = parts;
    const w = this.watches.get(token);
    if (w?.paths.delete(path) === true) {
      if (w.paths.size === 0) this.watches.delete(token);
      await this.xs().unwatch(path, w.kernelToken);
    }
    // Linux answers OK whether or not the open had that watch (xenbus_write_watch).
    reply(XsType.UNWATCH, OK_PAYLOAD);
  }

  private async dropWatches(): Promise<void> {
    const all = [...this.watches.values()];
    this.watches.clear();
    const xs = this.connection();
    if (xs === null) return;
    await Promise.all(all.flatMap((w) => [...w.paths].map((p) => xs.unwatch(p, w.kernelToken).catch(() => {}))));
  }

  private hangUp(reason: string): void {
    if (this.closed) return;
    this.close();
    this.user.hangUp(reason);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.dropWatches();
    // With the kernel gone its connection went too, and xenstored dropped the rest.
    const xs = this.connection();
    if (xs !== null) for (const tx of this.transactions) void xs.transactionEnd(tx, false).catch(() => {});
    this.transactions.clear();
  }
}
