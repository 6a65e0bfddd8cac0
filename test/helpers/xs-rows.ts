/**
 * Table-driven xenstore protocol rows, in the style of QEMU's test-xs-node.c: each
 * row is (connection, transaction, request type, payload, expected reply, expected
 * events), and a group's rows run in order against one target. A target is either
 * the in-process engine (EngineTarget, below) or a real xenstored on a unix socket
 * (scripts/differential/), so the same tables serve as unit tests and as a
 * differential check against oxenstored.
 *
 * Notation in strings (payloads, expected replies, event paths):
 *   $R  the group's own top-level node (/t-<n> in tests, /diff-<run>-<n> on a peer)
 *   $L  the same name without the leading '/', for paths relative to the caller's home
 * Expected replies: the exact payload ('OK\0', 'a\0b\0', a READ value), or '!EINVAL'
 * for an ERROR reply carrying that errno, or a RegExp for free text, or NO_REPLY.
 */
import { encodeMessage, HEADER_SIZE, XsFrameReader, XsType, xsTypeName, type XsMessage } from '../../src/protocol/xs-wire.js';
import type { ConnectionKind, XsConnection } from '../../src/xenstore/connection.js';
import type { XenStored, XenStoredOptions } from '../../src/xenstore/xenstored.js';
import { newEngine } from './engine.js';

export const NO_REPLY = null;

export interface RowContext {
  /** The group's top-level node, e.g. "/t-3". */
  readonly root: string;
  /** `root` without its leading slash (a path relative to the caller's home). */
  readonly rel: string;
  /** Values bound by earlier rows (transaction ids). */
  readonly vars: Map<string, number>;
}

export type Payload = string | Buffer | ((ctx: RowContext) => string | Buffer);

export interface Row {
  /** Connection name (declared by the group); default 'A'. */
  c?: string;
  /** Transaction id: a literal, or the name an earlier row bound with `bind`. */
  tx?: number | string;
  /** Request type: an XsType name or a raw number (unknown types). */
  op: keyof typeof XsType | number;
  /** Request payload. */
  p: Payload;
  /** Expected reply (see the file comment); undefined means "not checked". */
  want?: string | RegExp | null;
  /** Every watch event any connection receives because of this row, per connection in order. */
  ev?: Array<[conn: string, path: string, token: string]> | ((ctx: RowContext) => Array<[conn: string, path: string, token: string]>);
  /** Bind the decimal reply (TRANSACTION_START) to a name for later `tx` fields. */
  bind?: string;
  /** Why the row is there (shown in failures and in the differential report). */
  note?: string;
  /** xenemu deliberately differs from oxenstored 4.17 here: the reason. */
  differs?: string;
  /** Not replayed on a socket peer: the reason (engine-only state, shared peer, ...). */
  engineOnly?: string;
  /** Only replayed on a socket peer (e.g. cleanup of state the engine never had). */
  peerOnly?: string;
  /** Request id to send (default: a per-target counter). */
  reqId?: number;
  /** Send a header announcing this payload length instead of the real one. */
  len?: number;
  /** The connection must be closed by the server after this row. */
  closes?: boolean;
  /** Engine-only assertions after the row; return a message to report a failure. */
  check?: (xs: XenStored, conns: ReadonlyMap<string, XsConnection>) => string | null | undefined;
}

export interface ConnSpec {
  domid: number;
  kind?: ConnectionKind;
}

export interface RowGroup {
  name: string;
  rows: Row[];
  /** Connections by name; default { A: dom0 socket, B: dom0 socket }. */
  conns?: Record<string, ConnSpec>;
  /** The whole group runs only against the engine: the reason. */
  engineOnly?: string;
  /** Engine options (quotas). */
  options?: XenStoredOptions;
  /** Transactions may still be open at the end (otherwise a leak is a failure). */
  leavesTransactions?: boolean;
  /** Rows sent to a socket peer after the group (not compared) to undo global state. */
  peerCleanup?: Row[];
}

/** A reply as a target saw it; null when none came (connection closed or silent). */
export interface WireReply {
  type: number;
  reqId: number;
  txId: number;
  payload: Buffer;
}

/** Where rows run: the in-process engine or a socket. */
export interface Target {
  readonly name: string;
  open(conn: string, spec: ConnSpec): Promise<void>;
  /** Send one frame and wait for its reply. */
  send(conn: string, frame: Buffer): Promise<WireReply | null>;
  /** Events each connection received since the last call (after all pending ones arrived). */
  drainEvents(conns: readonly string[]): Promise<Map<string, Array<[string, string]>>>;
  isClosed(conn: string): boolean;
  closeAll(): Promise<void>;
  /** The engine behind the target, if it is in-process. */
  readonly engine?: XenStored;
  readonly connections?: ReadonlyMap<string, XsConnection>;
}

export interface RowOutcome {
  index: number;
  row: Row;
  /** What was sent, for reports. */
  request: string;
  /** Normalised reply: "TYPE <payload>" / "ERROR EINVAL" / "NO REPLY" / "SKIPPED". */
  reply: string;
  /** Normalised events per connection. */
  events: string[];
  /** Problems found by checking the row's expectations (engine or peer alike). */
  problems: string[];
  closed: boolean;
}

export interface GroupOutcome {
  group: RowGroup;
  rows: RowOutcome[];
  /** Group-level problems (leaked transactions, broken counts). */
  problems: string[];
}

const DEFAULT_CONNS: Record<string, ConnSpec> = { A: { domid: 0 }, B: { domid: 0 } };

/** Printable form of a latin1 payload: NUL as \0, other control bytes as \xHH. */
export function show(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    if (c === 0) out += '\\0';
    else if (c < 0x20 || c >= 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  if (out.length > 160) out = `${out.slice(0, 100)}…(${text.length} bytes)…${out.slice(-40)}`;
  return out;
}

export function substitute(text: string, ctx: RowContext): string {
  return text.replaceAll('$R', ctx.root).replaceAll('$L', ctx.rel);
}

/** Replace the group's concrete root by $R so that outcomes from different targets compare. */
function normalise(text: string, ctx: RowContext): string {
  return text.replaceAll(ctx.root, '$R').replaceAll(ctx.rel, '$L');
}

function payloadOf(row: Row, ctx: RowContext): Buffer {
  const p = typeof row.p === 'function' ? row.p(ctx) : row.p;
  return typeof p === 'string' ? Buffer.from(substitute(p, ctx), 'latin1') : p;
}

function typeCode(op: Row['op']): number {
  return typeof op === 'number' ? op : XsType[op];
}

function describeReply(r: WireReply | null, ctx: RowContext): string {
  if (r === null) return 'NO REPLY';
  const text = r.payload.toString('latin1');
  if (r.type === XsType.ERROR) return `ERROR ${show(text.replace(/\0$/, ''))}`;
  return `${xsTypeName(r.type)} ${show(normalise(text, ctx))}`;
}

function expectedReply(row: Row, ctx: RowContext): string | RegExp | null | undefined {
  const w = row.want;
  if (w === undefined || w === null || w instanceof RegExp) return w;
  if (w.startsWith('!')) return `ERROR ${w.slice(1)}`;
  return `${xsTypeName(typeCode(row.op))} ${show(normalise(substitute(w, ctx), ctx))}`;
}

/** Whether a row is replayed on this kind of target. */
export function rowApplies(row: Row, peer: boolean): boolean {
  return peer ? row.engineOnly === undefined : row.peerOnly === undefined;
}

/**
 * Run a group's rows in order on a target and check each against its expectations.
 * `peer` selects the socket flavour (engine-only rows are skipped there).
 */
export async function runGroup(group: RowGroup, target: Target, root: string, peer = false): Promise<GroupOutcome> {
  const ctx: RowContext = { root, rel: root.slice(1), vars: new Map() };
  const conns = group.conns ?? DEFAULT_CONNS;
  const names = Object.keys(conns);
  for (const [name, spec] of Object.entries(conns)) await target.open(name, spec);
  let nextReqId = 1;
  const outcome: GroupOutcome = { group, rows: [], problems: [] };

  for (const [index, row] of group.rows.entries()) {
    const conn = row.c ?? 'A';
    const type = typeCode(row.op);
    const payload = payloadOf(row, ctx);
    let txId = 0;
    if (typeof row.tx === 'number') txId = row.tx;
    else if (typeof row.tx === 'string') {
      const v = ctx.vars.get(row.tx);
      if (v === undefined) throw new Error(`${group.name} row ${index}: transaction ${row.tx} is not bound`);
      txId = v;
    }
    const request = `${conn}${txId ? `[tx ${txId}]` : ''} ${xsTypeName(type)} ${show(normalise(payload.toString('latin1'), ctx))}`;
    const result: RowOutcome = { index, row, request, reply: 'SKIPPED', events: [], problems: [], closed: false };
    outcome.rows.push(result);
    if (!rowApplies(row, peer)) continue;
    if (!names.includes(conn)) throw new Error(`${group.name} row ${index}: no connection ${conn}`);

    const reqId = row.reqId ?? nextReqId++;
    let frame = encodeMessage(type, reqId, txId, payload);
    if (row.len !== undefined) frame.writeUInt32LE(row.len >>> 0, 12);
    if (target.isClosed(conn)) frame = Buffer.alloc(0);
    const reply = frame.length >= HEADER_SIZE ? await target.send(conn, frame) : null;
    result.reply = describeReply(reply, ctx);
    result.closed = target.isClosed(conn);

    // The header of a reply echoes req_id and tx_id (WATCH/UNWATCH ignore tx_id and answer 0).
    if (reply !== null) {
      const wantTx = type === XsType.WATCH || type === XsType.UNWATCH ? 0 : txId;
      if (reply.reqId !== reqId) result.problems.push(`reply req_id ${reply.reqId}, sent ${reqId}`);
      if (reply.txId !== wantTx) result.problems.push(`reply tx_id ${reply.txId}, expected ${wantTx}`);
      if (reply.payload.length > 4096) result.problems.push(`reply payload of ${reply.payload.length} bytes`);
    }
    if (row.bind !== undefined && reply !== null && reply.type !== XsType.ERROR) {
      ctx.vars.set(row.bind, Number.parseInt(reply.payload.toString('latin1'), 10));
    }

    const want = expectedReply(row, ctx);
    if (want instanceof RegExp) {
      if (!want.test(result.reply)) result.problems.push(`reply ${result.reply}, want ${String(want)}`);
    } else if (want === null) {
      if (reply !== null) result.problems.push(`reply ${result.reply}, want no reply`);
    } else if (want !== undefined && want !== result.reply) {
      result.problems.push(`reply ${result.reply}, want ${want}`);
    }
    if (row.closes === true && !result.closed) result.problems.push('connection still open, want it closed');
    if (row.closes !== true && result.closed && conns[conn]?.kind !== 'domain') result.problems.push('connection closed');

    const live = names.filter((n) => !target.isClosed(n));
    const got = await target.drainEvents(live);
    for (const n of names) for (const [p, tok] of got.get(n) ?? []) result.events.push(`${n} ${show(normalise(p, ctx))} ${show(tok)}`);
    const wantEvents: string[] = [];
    const evList = typeof row.ev === 'function' ? row.ev(ctx) : (row.ev ?? []);
    for (const n of names) {
      for (const [c, p, tok] of evList) if (c === n) wantEvents.push(`${n} ${show(normalise(substitute(p, ctx), ctx))} ${show(tok)}`);
    }
    if (wantEvents.join('\n') !== result.events.join('\n')) {
      result.problems.push(`events [${result.events.join(' | ')}], want [${wantEvents.join(' | ')}]`);
    }

    if (target.engine !== undefined) {
      if (!target.engine.db.verifyCounts()) result.problems.push('node ownership counts are inconsistent');
      const msg = row.check?.(target.engine, target.connections!);
      if (msg) result.problems.push(msg);
    }
  }

  if (target.engine !== undefined && group.leavesTransactions !== true) {
    for (const [name, conn] of target.connections!) {
      if (conn.transactions.size > 0) outcome.problems.push(`connection ${name} leaked transactions ${[...conn.transactions.keys()].join(',')}`);
    }
  }
  return outcome;
}

/** One line per failed expectation, for test output. */
export function problemsOf(outcome: GroupOutcome): string[] {
  const out: string[] = [];
  for (const r of outcome.rows) {
    for (const p of r.problems) out.push(`#${r.index} ${r.request}${r.row.note ? ` (${r.row.note})` : ''}: ${p}`);
  }
  for (const p of outcome.problems) out.push(`group: ${p}`);
  return out;
}

// ---------------------------------------------------------------- the in-process target

interface EngineConn {
  conn: XsConnection;
  reader: XsFrameReader;
  replies: WireReply[];
  events: Array<[string, string]>;
  closed: boolean;
}

/**
 * The engine behind a minimal transport that behaves as xenemu's socket transport is
 * specified to: frames go through XsFrameReader, and a header announcing more than
 * XENSTORE_PAYLOAD_MAX closes the connection (xenstore.txt: "its xenstored connection
 * will be immediately killed").
 */
export class EngineTarget implements Target {
  readonly name = 'xenemu';
  readonly engine: XenStored;
  private readonly conns = new Map<string, EngineConn>();
  readonly connections = new Map<string, XsConnection>();

  constructor(options: XenStoredOptions = {}, engine?: XenStored) {
    this.engine = engine ?? newEngine(options);
  }

  async open(name: string, spec: ConnSpec): Promise<void> {
    const reader = new XsFrameReader();
    const state: EngineConn = { conn: undefined as unknown as XsConnection, reader, replies: [], events: [], closed: false };
    state.conn = this.engine.connect(spec.domid, spec.kind ?? (spec.domid === 0 ? 'socket' : 'domain'), {
      deliver: (frame) => {
        for (const m of new XsFrameReader(1 << 20).push(frame)) this.receive(state, m);
      },
      close: () => {
        state.closed = true;
      },
    });
    this.conns.set(name, state);
    this.connections.set(name, state.conn);
  }

  private receive(state: EngineConn, m: XsMessage): void {
    const msg = { type: m.type, reqId: m.reqId, txId: m.txId, payload: Buffer.from(m.payload) };
    if (m.type === XsType.WATCH_EVENT) {
      if (m.reqId !== 0 || m.txId !== 0) throw new Error('watch event with non-zero req_id/tx_id');
      const [path = '', token = '', rest] = msg.payload.toString('latin1').split('\0');
      if (rest !== '') throw new Error(`malformed watch event ${show(msg.payload.toString('latin1'))}`);
      state.events.push([path, token]);
    } else {
      state.replies.push(msg);
    }
  }

  async send(name: string, frame: Buffer): Promise<WireReply | null> {
    const state = this.conns.get(name)!;
    if (state.closed) return null;
    const before = state.replies.length;
    for (const m of state.reader.push(frame)) this.engine.handle(state.conn, m);
    if (state.reader.oversized !== null) {
      state.closed = true;
      this.engine.disconnect(state.conn);
    }
    if (state.replies.length > before + 1) throw new Error('more than one reply to one request');
    return state.replies.splice(before, 1)[0] ?? null;
  }

  async drainEvents(names: readonly string[]): Promise<Map<string, Array<[string, string]>>> {
    const out = new Map<string, Array<[string, string]>>();
    for (const n of names) out.set(n, this.conns.get(n)!.events.splice(0));
    return out;
  }

  isClosed(name: string): boolean {
    return this.conns.get(name)?.closed ?? true;
  }

  async closeAll(): Promise<void> {
    for (const s of this.conns.values()) this.engine.disconnect(s.conn);
  }
}
