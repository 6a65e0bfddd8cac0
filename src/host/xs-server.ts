import type { Server, Socket } from 'node:net';
import { encodeMessage, XsFrameReader, XsType, type XsMessage } from '../protocol/xs-wire.js';
import type { XsConnection } from '../xenstore/connection.js';
import { overLimit, queuedFrameLimit } from '../xenstore/quota.js';
import { changesStore, type XenStored } from '../xenstore/xenstored.js';
import type { DurabilityBarrier } from './durability.js';
import { listenPrivate } from './private-socket.js';

/** Requests handled for one connection before others get a turn. */
const BATCH = 64;

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
  /**
   * Some of its queued frames were produced while the journal could be written, so
   * they may acknowledge (or, as watch events, announce) changes it has not taken
   * yet: they wait for the journal.
   */
  unsure = false;

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
  /** Registered with the barrier to send the held replies once it writes again. */
  private awaitingJournal = false;

  /**
   * `barrier` makes each turn's changes durable before that turn's replies are
   * written, so no client ever sees an acknowledgement of a write a crash could lose.
   */
  constructor(
    private readonly xs: XenStored,
    private readonly barrier: DurabilityBarrier,
    private readonly log: (line: string) => void,
  ) {}

  /** Listen on `path` (created 0600; any stale file there is replaced). */
  async listen(path: string, readOnly: boolean): Promise<void> {
    this.servers.push(await listenPrivate(path, (socket) => this.accept(socket, readOnly)));
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
    while (client.head < stop && !client.conn.closed) {
      const msg = backlog[client.head++]!;
      // While the journal cannot be written, a change would only join the held ones:
      // refuse it at once with the journal's errno (ENOSPC), as nothing was changed.
      const failure = this.barrier.failure;
      if (failure !== null && changesStore(msg)) this.xs.refuse(client.conn, msg, failure.code);
      else this.xs.handle(client.conn, msg);
    }
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
    if (this.barrier.failure === null) client.unsure = true;
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

  /**
   * Make the turn durable, then write each client's replies in one write.
   *
   * If the journal cannot be written, a client's frames queued before the failure
   * may acknowledge the changes that failed to reach it, so they (and whatever
   * follows them on that connection) are held until the barrier has written it.
   * Frames produced while the failure lasts go out at once: changes are refused up
   * front then, so they acknowledge nothing unwritten.
   */
  flush(): void {
    this.flushScheduled = false;
    if (this.dirty.size > 0) {
      const durable = this.barrier.flush();
      for (const client of this.dirty) {
        if (!durable && client.unsure) {
          if (!this.awaitingJournal) {
            this.awaitingJournal = true;
            this.barrier.whenWritable(this.release);
          }
          continue;
        }
        this.dirty.delete(client);
        client.unsure = false;
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

  /** The journal is written again: send what was held. */
  private readonly release = (): void => {
    this.awaitingJournal = false;
    this.flush();
  };

  private drop(client: SocketClient): void {
    if (!this.clients.delete(client)) return;
    this.dirty.delete(client);
    this.runnable.delete(client);
    this.xs.disconnect(client.conn);
    client.socket.destroy();
  }

  async close(): Promise<void> {
    for (const client of [...this.clients]) this.drop(client);
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.servers.length = 0;
  }
}
