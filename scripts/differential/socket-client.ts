import { connect, type Socket } from 'node:net';
import { encodeMessage, XsFrameReader, XsType, type XsMessage } from '../../src/protocol/xs-wire.js';
import type { WireReply } from '../../test/helpers/xs-rows.js';

/** The req_id of `sync` round trips, kept out of the range rows use. */
export const SYNC_REQ_ID = 0x7ffffff0;

/**
 * A raw xs_wire client over a unix socket: no libxenstore, no retries, no hidden
 * requests except the explicit `sync`. Watch events are collected as they arrive;
 * replies are matched to requests by req_id, so a reply that comes late (after a
 * timeout) or unasked (a desynchronised stream) never poses as the answer to a
 * later request: it lands in `stray`.
 */
export class SocketClient {
  /** Frames up to 1 MiB: oxenstored may send more than XENSTORE_PAYLOAD_MAX on a socket. */
  private readonly reader = new XsFrameReader(1 << 20);
  private readonly waiting = new Map<number, { resolve: (r: WireReply | null) => void; timer: NodeJS.Timeout }>();
  private readonly early: WireReply[] = [];
  readonly events: Array<[string, string]> = [];
  /** Replies nobody was waiting for any more. */
  readonly stray: WireReply[] = [];
  closed = false;

  private constructor(private readonly sock: Socket) {
    sock.on('data', (chunk: Buffer) => {
      for (const m of this.reader.push(chunk)) this.receive(m);
    });
    const end = (): void => {
      this.closed = true;
      for (const w of this.waiting.values()) {
        clearTimeout(w.timer);
        w.resolve(null);
      }
      this.waiting.clear();
    };
    sock.on('close', end);
    sock.on('error', end);
  }

  /**
   * Connect, retrying while the listen queue is full: oxenstored listens with a
   * backlog of 1, so a burst of connects gets EAGAIN until it accepts the first.
   */
  static async open(path: string, attempts = 50): Promise<SocketClient> {
    for (let i = 1; ; i++) {
      try {
        return await new Promise<SocketClient>((resolve, reject) => {
          const sock = connect(path);
          sock.once('connect', () => {
            sock.removeListener('error', reject);
            resolve(new SocketClient(sock));
          });
          sock.once('error', reject);
        });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || i >= attempts) throw err;
        await new Promise((r) => setTimeout(r, 10 * i));
      }
    }
  }

  private receive(m: XsMessage): void {
    const msg: WireReply = { type: m.type, reqId: m.reqId, txId: m.txId, payload: Buffer.from(m.payload) };
    if (m.type === XsType.WATCH_EVENT) {
      const [path = '', token = ''] = msg.payload.toString('latin1').split('\0');
      this.events.push([path, token]);
      return;
    }
    const w = this.waiting.get(m.reqId);
    if (w) {
      this.waiting.delete(m.reqId);
      clearTimeout(w.timer);
      w.resolve(msg);
    } else {
      this.early.push(msg);
    }
  }

  /** Send raw bytes (a frame, or a deliberately broken one). */
  sendRaw(bytes: Buffer): void {
    if (!this.closed) this.sock.write(bytes);
  }

  /** The reply with this req_id, or null after `timeoutMs` or when the connection closes. */
  replyTo(reqId: number, timeoutMs = 1500): Promise<WireReply | null> {
    const i = this.early.findIndex((r) => r.reqId === reqId);
    if (i >= 0) return Promise.resolve(this.early.splice(i, 1)[0]!);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(reqId);
        resolve(null);
      }, timeoutMs);
      this.waiting.set(reqId, { resolve, timer });
    });
  }

  request(type: number, reqId: number, txId: number, payload: Buffer, timeoutMs?: number): Promise<WireReply | null> {
    this.sendRaw(encodeMessage(type, reqId, txId, payload));
    return this.replyTo(reqId, timeoutMs);
  }

  /**
   * A harmless round trip (GET_DOMAIN_PATH 0): xenstored queues a connection's watch
   * events before the replies that follow them, so once this reply is in, every event
   * raised by earlier requests (on any connection) has arrived.
   */
  async sync(timeoutMs = 1500): Promise<boolean> {
    const r = await this.request(XsType.GET_DOMAIN_PATH, SYNC_REQ_ID, 0, Buffer.from('0\0'), timeoutMs);
    return r !== null;
  }

  /** Replies that arrived for nobody (moved to `stray`). */
  takeStray(): WireReply[] {
    this.stray.push(...this.early.splice(0));
    return this.stray.splice(0);
  }

  takeEvents(): Array<[string, string]> {
    return this.events.splice(0);
  }

  close(): void {
    this.closed = true;
    this.sock.destroy();
  }
}
