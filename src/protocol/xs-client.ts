import { XenemuError } from '../common/errors.js';
import { encodeMessage, PAYLOAD_MAX, splitNul, XsFrameReader, XsType, xsTypeName, type XsMessage } from './xs-wire.js';

/** An ERROR reply: `errno` is the Xen errno name the daemon sent. */
export class XsRequestError extends XenemuError {
  constructor(
    readonly errno: string,
    readonly request: string,
  ) {
    super(errno, `${request}: ${errno}`);
  }
}

export interface WatchEvent {
  path: string;
  token: string;
}

/** What one watch does with its events (FreeBSD's xs_watch.callback, Linux's xenbus_watch). */
export type WatchCallback = (e: WatchEvent) => void;

interface Pending {
  type: number;
  resolve(payload: Buffer): void;
  reject(err: Error): void;
}

/**
 * A duplex byte stream to xenstored: the unix socket for tools (src/client/xs-socket.ts),
 * a domain's ring page for an emulated kernel (src/kernel/xenstore), xenstored's own
 * engine for dom0. The protocol on top is the same, so the client below belongs to no
 * side and knows no transport.
 */
export interface XsTransport {
  write(bytes: Buffer): void;
  /** Register the receivers; called once, by the client. */
  attach(onData: (chunk: Buffer) => void, onClose: (err: Error) => void): void;
  close(): void;
}

/**
 * A xenstore client, the way libxenstore talks to xenstored: several requests may be
 * in flight, replies are matched by req_id, watch events arrive in between. Each watch
 * has its own callback, found by the event's token, as FreeBSD's xs_watch and Linux's
 * xenbus_watch do: a driver hears only its own events and filters nothing.
 */
export class XsClient {
  private readonly reader = new XsFrameReader();
  private readonly pending = new Map<number, Pending>();
  private nextReqId = 1;
  private closedError: Error | null = null;
  /** token → the watch's callback and the paths watched with that token. */
  private readonly watches = new Map<string, { callback: WatchCallback; paths: Set<string> }>();

  constructor(private readonly transport: XsTransport) {
    transport.attach(
      (chunk) => {
        for (const m of this.reader.push(chunk)) this.receive(m);
        const bad = this.reader.oversized;
        if (bad !== null) {
          // The reader stops at a header it cannot trust; nothing after it can be matched
          // to a request, so every waiting and later request fails instead of hanging.
          this.fail(new Error(`xenstored sent a ${xsTypeName(bad.type)} message of ${bad.len} bytes, over the ${PAYLOAD_MAX}-byte limit: connection closed`));
          this.transport.close();
        }
      },
      (err) => this.fail(err),
    );
  }

  private receive(m: XsMessage): void {
    if (m.type === XsType.WATCH_EVENT) {
      const [path = '', token = ''] = splitNul(m.payload);
      // An event may still arrive for a watch just removed (it was queued before the
      // UNWATCH); with no callback left for its token it is dropped, as xs_unregister_watch
      // makes FreeBSD drop it.
      this.watches.get(token)?.callback({ path, token });
      return;
    }
    const p = this.pending.get(m.reqId);
    if (p === undefined) return;
    this.pending.delete(m.reqId);
    // The reader's buffer is reused for the next chunk; keep a private copy.
    const payload = Buffer.from(m.payload);
    if (m.type === XsType.ERROR) p.reject(new XsRequestError(payload.toString('latin1').replace(/\0.*$/s, ''), xsTypeName(p.type)));
    else p.resolve(payload);
  }

  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /**
   * Send a raw request; resolves with the reply payload or rejects with XsRequestError.
   * A payload over XENSTORE_PAYLOAD_MAX is refused here with E2BIG, as libxenstore's
   * xs_talkv refuses it: sent, it would make xenstored drop the connection (a socket or
   * ring) with every other request on it.
   */
  request(type: number, payload: Buffer | string, txId = 0): Promise<Buffer> {
    if (this.closedError) return Promise.reject(this.closedError);
    const len = typeof payload === 'string' ? Buffer.byteLength(payload, 'latin1') : payload.length;
    if (len > PAYLOAD_MAX) return Promise.reject(new XsRequestError('E2BIG', xsTypeName(type)));
    const reqId = this.nextReqId;
    this.nextReqId = (this.nextReqId + 1) >>> 0 || 1;
    return new Promise((resolve, reject) => {
      this.pending.set(reqId, { type, resolve, reject });
      this.transport.write(encodeMessage(type, reqId, txId, payload));
    });
  }

  async read(path: string, tx = 0): Promise<Buffer> {
    return this.request(XsType.READ, `${path}\0`, tx);
  }

  async write(path: string, value: Buffer | string, tx = 0): Promise<void> {
    const v = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
    await this.request(XsType.WRITE, Buffer.concat([Buffer.from(`${path}\0`, 'latin1'), v]), tx);
  }

  async mkdir(path: string, tx = 0): Promise<void> {
    await this.request(XsType.MKDIR, `${path}\0`, tx);
  }

  async rm(path: string, tx = 0): Promise<void> {
    await this.request(XsType.RM, `${path}\0`, tx);
  }

  /**
   * Children of a node. A list too long for one reply (E2BIG) is read in parts with
   * DIRECTORY_PART, restarting if the node's generation changes in between, as
   * libxenstore's xs_directory does.
   */
  async directory(path: string, tx = 0): Promise<string[]> {
    try {
      return nulList(await this.request(XsType.DIRECTORY, `${path}\0`, tx));
    } catch (err) {
      if (!(err instanceof XsRequestError && err.errno === 'E2BIG')) throw err;
    }
    for (;;) {
      let gen: string | null = null;
      let list = '';
      for (;;) {
        const reply = (await this.request(XsType.DIRECTORY_PART, `${path}\0${list.length}\0`, tx)).toString('latin1');
        const nul = reply.indexOf('\0');
        const partGen = reply.slice(0, nul);
        if (gen !== null && partGen !== gen) break;
        gen = partGen;
        const part = reply.slice(nul + 1);
        // The last part ends with an empty name, i.e. an extra NUL.
        if (part.endsWith('\0\0') || part === '\0') return (list + part.slice(0, -1)).split('\0').slice(0, -1);
        list += part;
      }
    }
  }

  async getPerms(path: string, tx = 0): Promise<string[]> {
    return nulList(await this.request(XsType.GET_PERMS, `${path}\0`, tx));
  }

  async setPerms(path: string, perms: readonly string[], tx = 0): Promise<void> {
    await this.request(XsType.SET_PERMS, `${path}\0${perms.map((p) => `${p}\0`).join('')}`, tx);
  }

  /**
   * Watch `path`; `callback` receives the events carrying `token` (the initial one
   * xenstored fires on registration included). It is registered before the request
   * goes out, since that first event may come before the reply. One token names one
   * callback: a token may watch several paths, all with the same callback. `depth`
   * limits the watch to that many levels below the path (xenstore-ring.txt's
   * XENSTORE_SERVER_FEATURE_WATCH_DEPTH).
   */
  async watch(path: string, token: string, callback: WatchCallback, depth?: number): Promise<void> {
    const known = this.watches.get(token);
    if (known !== undefined && known.callback !== callback) throw new XsRequestError('EEXIST', `WATCH ${path}: token "${token}" already names another watch`);
    const entry = known ?? { callback, paths: new Set<string>() };
    this.watches.set(token, entry);
    const added = !entry.paths.has(path);
    entry.paths.add(path);
    try {
      await this.request(XsType.WATCH, `${path}\0${token}\0${depth === undefined ? '' : `${depth}\0`}`);
    } catch (err) {
      if (added) this.forget(path, token);
      throw err;
    }
  }

  /** Remove a watch; its callback hears nothing more, even of events already on their way. */
  async unwatch(path: string, token: string): Promise<void> {
    this.forget(path, token);
    await this.request(XsType.UNWATCH, `${path}\0${token}\0`);
  }

  private forget(path: string, token: string): void {
    const entry = this.watches.get(token);
    if (entry === undefined) return;
    entry.paths.delete(path);
    if (entry.paths.size === 0) this.watches.delete(token);
  }

  async transactionStart(): Promise<number> {
    const reply = await this.request(XsType.TRANSACTION_START, '\0');
    return Number.parseInt(reply.toString('latin1'), 10);
  }

  async transactionEnd(tx: number, commit: boolean): Promise<void> {
    await this.request(XsType.TRANSACTION_END, commit ? 'T\0' : 'F\0', tx);
  }

  /**
   * Run `body` in a transaction, retrying on EAGAIN as libxenstore users (libxl) do.
   * Any other error aborts the transaction and propagates.
   */
  async transaction<T>(body: (tx: number) => Promise<T>): Promise<T> {
    for (;;) {
      const tx = await this.transactionStart();
      let result: T;
      try {
        result = await body(tx);
      } catch (err) {
        await this.transactionEnd(tx, false).catch(() => {});
        throw err;
      }
      try {
        await this.transactionEnd(tx, true);
        return result;
      } catch (err) {
        if (!(err instanceof XsRequestError && err.errno === 'EAGAIN')) throw err;
      }
    }
  }

  async control(args: readonly string[]): Promise<string> {
    const reply = await this.request(XsType.CONTROL, args.map((a) => `${a}\0`).join(''));
    return reply.toString('latin1').replace(/\0$/, '');
  }

  async getDomainPath(domid: number): Promise<string> {
    return (await this.request(XsType.GET_DOMAIN_PATH, `${domid}\0`)).toString('latin1').replace(/\0$/, '');
  }

  close(): void {
    this.fail(new Error('client closed'));
    this.transport.close();
  }
}

/** A reply made of NUL-terminated strings. */
function nulList(payload: Buffer): string[] {
  if (payload.length === 0) return [];
  const parts = splitNul(payload);
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}
