import type { ConnSpec, Target, WireReply } from '../../test/helpers/xs-rows.js';
import { SocketClient } from './socket-client.js';

/**
 * Rows against a real xenstored on a unix socket. Every socket client is privileged
 * dom0, so only dom0 connections can be opened.
 */
export class SocketTarget implements Target {
  readonly name: string;
  private readonly clients = new Map<string, SocketClient>();
  /** Connections whose stream no longer answers (e.g. after an empty payload on oxenstored). */
  private readonly stuck = new Set<string>();

  constructor(
    private readonly path: string,
    name = 'oxenstored',
    private readonly timeoutMs = 1000,
  ) {
    this.name = name;
  }

  async open(conn: string, spec: ConnSpec): Promise<void> {
    if (spec.domid !== 0 || (spec.kind !== undefined && spec.kind !== 'socket')) {
      throw new Error(`a socket client is dom0; cannot open ${conn} as domain ${spec.domid}`);
    }
    this.clients.set(conn, await SocketClient.open(this.path));
  }

  async send(conn: string, frame: Buffer): Promise<WireReply | null> {
    const c = this.clients.get(conn)!;
    c.sendRaw(frame);
    const reply = await c.replyTo(frame.readUInt32LE(4), this.timeoutMs);
    if (reply === null) this.stuck.add(conn);
    return reply;
  }

  async drainEvents(conns: readonly string[]): Promise<Map<string, Array<[string, string]>>> {
    const live = conns.filter((n) => !this.stuck.has(n));
    await Promise.all(live.map((n) => this.clients.get(n)!.sync(this.timeoutMs)));
    const out = new Map<string, Array<[string, string]>>();
    for (const n of conns) out.set(n, this.clients.get(n)!.takeEvents());
    return out;
  }

  isClosed(conn: string): boolean {
    return this.clients.get(conn)?.closed ?? true;
  }

  async closeAll(): Promise<void> {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
