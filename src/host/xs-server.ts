import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { encodeMessage, XsFrameReader, XsType, type XsMessage } from '../protocol/xs-wire.js';
import type { XsConnection } from '../xenstore/connection.js';
import { overLimit, queuedFrameLimit } from '../xenstore/quota.js';
import type { XenStored } from '../xenstore/xenstored.js';

/**
 * Called once per event-loop turn, before any reply of that turn is written: the
 * daemon makes the turn's changes durable here (the journal write), so no client
 * ever sees an acknowledgement of a write that a crash could lose.
 */
export type BeforeReplies = () => void;

/** Requests handled for one connection before others get a turn. */
const BATCH = 64;

/** How soon a failed journal write is tried again. */
const FLUSH_RETRY_MS = 100;

class SocketClient {
  readonly reader = new XsFrameReader();
  /** Received requests not yet handled, from `head` on. */
  readonly backlog: XsMessage[] = [];
  head = 0;
  out: Buffer[] = [];
  outBytes = 0;
  /**
   * Frames queued for this client that the kernel has not taken yet: those in `out`
   * and those Node still buffers after socket.write() (until its callback runs). The
   * kernel's own socket buffer is bounded by the kernel; everything counted here is
   * the daemon's memory.
   */
  unsent = 0;
  conn!: XsConnection;
  draining = false;

  constructor(readonly socket: Socket) {}
}

/**
 * xenstored's unix sockets: one read-write, optionally one read-only. Each accepted
 * socket is a privileged (dom0) connection, as with the real daemon.
 */
export class XsSocketServer {
  private readonly servers: Server[] = [];
  private readonly clients = new Set<SocketClient>();
  private readonly dirty = new Set<SocketClient>();
  private readonly runnable = new Set<SocketClient>();
  private flushScheduled = false;

  constructor(
    private readonly xs: XenStored,
    private readonly beforeReplies: BeforeReplies,
    private readonly log: (line: string) => void,
  ) {}

  /** Listen on `path` (created 0600; any stale file there is replaced). */
  async listen(path: string, readOnly: boolean): Promise<void> {
    try {
      unlinkSync(path);
    } catch {
      // nothing there
    }
    const server = createServer((socket) => this.accept(socket, readOnly));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
    chmodSync(path, 0o600);
    this.servers.push(server);
  }

  get connectionCount(): number {
    return this.clients.size;
  }

  private accept(socket: Socket, readOnly: boolean): void {
    const client = new SocketClient(socket);
    client.conn = this.xs.connect(0, readOnly ? 'socket-ro' : 'socket', {
      deliver: (frame) => this.queue(client, frame),
      close: () => this.drop(client),
    });
    this.clients.add(client);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(client, chunk));
    socket.on('drain', () => {
      client.draining = false;
      if (client.head < client.backlog.length) this.schedule(client);
      else socket.resume();
    });
    socket.on('error', () => this.drop(client));
    socket.on('close', () => this.drop(client));
  }

  private receive(client: SocketClient, chunk: Buffer): void {
    client.reader.push(chunk, client.backlog);
    const oversized = client.reader.oversized;
    if (oversized) {
      // xenstore.txt: a client exceeding the payload limit has its connection killed.
      // Answer what came before it, say why, then close: reading on would misparse
      // the oversized payload as headers.
      this.run(client, Infinity);
      this.queue(client, encodeMessage(XsType.ERROR, oversized.reqId, oversized.txId, 'E2BIG\0'));
      this.log(`socket client ${client.conn.label}: payload of ${oversized.len} bytes exceeds 4096, closing`);
      this.flush();
      client.socket.end();
      this.xs.disconnect(client.conn);
      return;
    }
    this.run(client, BATCH);
  }

  /** Handle up to `limit` queued requests; pause the socket while more wait. */
  private run(client: SocketClient, limit: number): void {
    const backlog = client.backlog;
    const stop = Math.min(backlog.length, client.head + limit);
    while (client.head < stop && !client.conn.closed) this.xs.handle(client.conn, backlog[client.head++]!);
    if (client.head === backlog.length) {
      backlog.length = 0;
      client.head = 0;
    } else {
      client.socket.pause();
      this.schedule(client);
    }
    this.scheduleFlush();
  }

  private schedule(client: SocketClient): void {
    this.runnable.add(client);
    this.scheduleFlush();
  }

  private queue(client: SocketClient, frame: Buffer): void {
    if (!this.clients.has(client)) return;
    client.out.push(frame);
    client.outBytes += frame.length;
    client.unsent++;
    this.dirty.add(client);
    // A client that stops reading while others write would make the daemon hold
    // every watch event for it; past the bound it is closed, as oxenstored's queue
    // capacity and C xenstored's watch event timeout end such a connection.
    const limit = queuedFrameLimit(this.xs.quota, client.conn.domid);
    if (overLimit(client.unsent, limit)) {
      this.log(
        `socket client ${client.conn.label}: ${client.unsent} replies and watch events unread ` +
          `(quota-maxoutstanding + quota-maxwatchevents = ${limit}), closing`,
      );
      this.drop(client);
    }
    this.scheduleFlush();
  }

  scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Flush right after the callback that produced the replies: waiting for the end
    // of the loop turn (setImmediate) would batch more clients per journal write, but
    // measured with test-xenstore it adds ~10 µs to every round trip, while a journal
    // write costs ~2 µs.
    process.nextTick(this.flushNow);
  }

  private readonly flushNow = (): void => this.flush();

  /** Make the turn durable, then write each client's replies in one write. */
  flush(): void {
    this.flushScheduled = false;
    if (this.dirty.size > 0) {
      try {
        this.beforeReplies();
      } catch (err) {
        // The journal could not be written (disk full?): acknowledging now could lose
        // the changes, so the replies wait and the write is tried again.
        this.log(`journal write failed, holding ${this.dirty.size} clients' replies: ${(err as Error).message}`);
        this.retryFlush();
        return;
      }
      for (const client of this.dirty) {
        const frames = client.out.length;
        const data = frames === 1 ? client.out[0]! : Buffer.concat(client.out, client.outBytes);
        client.out = [];
        client.outBytes = 0;
        const written = (): void => {
          client.unsent -= frames;
        };
        if (!client.socket.destroyed && !client.socket.write(data, written)) {
          client.draining = true;
          client.socket.pause();
        }
      }
      this.dirty.clear();
    }
    if (this.runnable.size > 0) {
      const ready = [...this.runnable].filter((c) => !c.draining);
      this.runnable.clear();
      for (const client of ready) {
        this.run(client, BATCH);
        if (client.head === client.backlog.length) client.socket.resume();
      }
    }
  }

  private retryTimer: NodeJS.Timeout | null = null;

  private retryFlush(): void {
    this.retryTimer ??= setTimeout(() => {
      this.retryTimer = null;
      this.flush();
    }, FLUSH_RETRY_MS);
  }

  private drop(client: SocketClient): void {
    if (!this.clients.delete(client)) return;
    this.dirty.delete(client);
    this.runnable.delete(client);
    this.xs.disconnect(client.conn);
    client.socket.destroy();
  }

  async close(): Promise<void> {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const client of [...this.clients]) this.drop(client);
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.servers.length = 0;
  }
}
