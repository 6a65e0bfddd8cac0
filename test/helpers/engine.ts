import { XsFrameReader, XsType, type XsMessage } from '../../src/protocol/xs-wire.js';
import type { XsConnection, ConnectionKind } from '../../src/xenstore/connection.js';
import { XenStored, type XenStoredOptions } from '../../src/xenstore/xenstored.js';

export interface Reply {
  type: number;
  reqId: number;
  txId: number;
  /** The payload as a latin1 string (NULs shown as \0). */
  payload: string;
}

/** An in-process client of the engine: requests in, replies and events out, no sockets. */
export class EngineClient {
  readonly conn: XsConnection;
  readonly events: Array<[string, string]> = [];
  private readonly inbox: Reply[] = [];
  private readonly reader = new XsFrameReader();
  private nextReqId = 1;
  closedWith: string | null = null;

  constructor(
    readonly xs: XenStored,
    domid = 0,
    kind: ConnectionKind = 'socket',
  ) {
    this.conn = xs.connect(domid, kind, {
      deliver: (frame) => {
        for (const m of this.reader.push(frame)) this.receive(m);
      },
      close: (reason) => {
        this.closedWith = reason;
      },
    });
  }

  private receive(m: XsMessage): void {
    const payload = m.payload.toString('latin1');
    if (m.type === XsType.WATCH_EVENT) {
      const [path = '', token = ''] = payload.split('\0');
      this.events.push([path, token]);
    } else {
      this.inbox.push({ type: m.type, reqId: m.reqId, txId: m.txId, payload });
    }
  }

  /** Send a raw request; returns its reply. */
  req(type: number, payload: string | Buffer, txId = 0): Reply {
    const reqId = this.nextReqId++;
    const body = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
    this.xs.handle(this.conn, { type, reqId, txId, payload: body });
    const reply = this.inbox.shift();
    if (reply === undefined) throw new Error(`no reply to request type ${type}`);
    if (reply.reqId !== reqId) throw new Error(`reply to ${reply.reqId}, expected ${reqId}`);
    return reply;
  }

  /** Reply payload, or "ERROR:<name>" for an error reply. */
  ask(type: number, payload: string | Buffer, txId = 0): string {
    const r = this.req(type, payload, txId);
    return r.type === XsType.ERROR ? `ERROR:${r.payload.replace(/\0$/, '')}` : r.payload;
  }

  read(path: string, txId = 0): string {
    return this.ask(XsType.READ, `${path}\0`, txId);
  }

  write(path: string, value: string, txId = 0): string {
    return this.ask(XsType.WRITE, `${path}\0${value}`, txId);
  }

  dir(path: string, txId = 0): string[] {
    const r = this.ask(XsType.DIRECTORY, `${path}\0`, txId);
    if (r.startsWith('ERROR:')) throw new Error(r);
    return r === '' ? [] : r.slice(0, -1).split('\0');
  }

  start(): number {
    return Number.parseInt(this.ask(XsType.TRANSACTION_START, '\0'), 10);
  }

  end(tx: number, commit = true): string {
    return this.ask(XsType.TRANSACTION_END, commit ? 'T\0' : 'F\0', tx);
  }

  takeEvents(): Array<[string, string]> {
    return this.events.splice(0, this.events.length);
  }
}

export function newEngine(options: XenStoredOptions = {}): XenStored {
  const xs = new XenStored(options);
  xs.initialise('/usr/lib/xenemu/xenstored');
  return xs;
}
