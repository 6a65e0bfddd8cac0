import type { Transaction } from './database.js';
import type { Caller } from './store.js';
import type { Watch } from './watches.js';

/** Where a connection's replies and watch events go (a socket, a ring, a test). */
export interface MessageSink {
  /** Deliver one framed message. */
  deliver(frame: Buffer): void;
  /** The connection is being closed by xenstored (e.g. on RELEASE of its domain). */
  close?(reason: string): void;
}

export type ConnectionKind = 'socket' | 'socket-ro' | 'domain' | 'internal';

/**
 * The per-client state xenstored keeps: identity, watches and open transactions.
 * Transports (unix socket, ring page, in-process) create one per client and feed it
 * requests; the engine answers through its sink.
 */
export class XsConnection implements Caller {
  private static nextId = 1;

  readonly id = XsConnection.nextId++;
  target: number | null = null;
  readonly watches = new Map<string, Watch<XsConnection>>();
  readonly transactions = new Map<number, Transaction>();
  nextTxId = 1;
  /** Requests handled, for statistics. */
  ops = 0;
  closed = false;

  constructor(
    readonly domid: number,
    readonly kind: ConnectionKind,
    readonly sink: MessageSink,
  ) {}

  /**
   * dom0 is privileged, and so is a domain acting for dom0 (SET_TARGET 0), exactly as
   * oxenstored's Perms.Connection.is_dom0 decides.
   */
  get privileged(): boolean {
    return this.domid === 0 || this.target === 0;
  }

  get readOnly(): boolean {
    return this.kind === 'socket-ro';
  }

  /** The prefix relative paths resolve against. */
  get home(): string {
    return `/local/domain/${this.domid}/`;
  }

  /** How oxenstored names connections in its debug output. */
  get label(): string {
    return this.kind === 'domain' ? `D${this.domid}` : `A${this.id}`;
  }

  /**
   * A fresh transaction id: the next unused one in [1, 0x3ffffffe], like oxenstored,
   * so ids stay small, positive and unique per connection.
   */
  allocateTxId(): number {
    let id = this.nextTxId;
    for (;;) {
      if (id <= 0 || id >= 0x3fffffff) id = 1;
      if (!this.transactions.has(id)) break;
      id++;
    }
    this.nextTxId = id + 1;
    return id;
  }
}
