import type { Server, Socket } from 'node:net';
import type * as z from 'zod';
import { LineReader, MAX_RPC_LINE, type RpcRequest, type RpcResponse, type RpcTable } from '../protocol/control-rpc.js';
import { XenemuError } from '../common/errors.js';
import { checkValue, formatPath, PLAIN_WORDING } from '../toolstack/config/index.js';
import { listenPrivate } from './private-socket.js';

/** What a method may do beyond answering: push events to its caller, until it hangs up. */
export interface RpcContext {
  /** A snapshot event (a top frame): while the caller is behind, a newer one of the same name replaces it. */
  push(event: string, data: unknown): void;
  /**
   * An event of a stream (console output): sent in order, never replaced. Returns false
   * when the caller is behind (its socket's buffer is full): stop sending until onDrain.
   */
  send(event: string, data: unknown): boolean;
  onDrain(listener: () => void): void;
  onClose(listener: () => void): void;
}

/** A control method: params in, a JSON-serialisable result out (or a XenemuError). */
export type RpcMethod = (params: unknown, ctx: RpcContext) => unknown | Promise<unknown>;

/** The handlers of a method family, each typed by its row of the family's table. */
export type RpcHandlers<T extends RpcTable> = {
  [M in keyof T]: (params: T[M]['params'], ctx: RpcContext) => T[M]['result'] | Promise<T[M]['result']>;
};

/**
 * A family's typed handlers as the server calls them. The one place a request's
 * parameters go from unknown to their type: the server calls a method only with
 * what its schema (the same table's) accepted, see answer().
 */
export function rpcMethods<T extends RpcTable>(handlers: RpcHandlers<T>): Record<string, RpcMethod> {
  const methods: Record<string, RpcMethod> = {};
  for (const [name, handler] of Object.entries(handlers) as [string, (params: unknown, ctx: RpcContext) => unknown][]) methods[name] = handler;
  return methods;
}

/**
 * The one translation from an error to a control answer. Any layer's XenemuError
 * keeps its code (a Xen errno name) and message; a request line that is not JSON is
 * EINVAL; anything else is a bug in xenemu, answered EIO and marked for the log.
 */
export function rpcErrorOf(err: unknown): { code: string; message: string; internal: boolean } {
  if (err instanceof XenemuError) return { code: err.code, message: err.message, internal: false };
  if (err instanceof SyntaxError) return { code: 'EINVAL', message: `bad request: ${err.message}`, internal: false };
  return { code: 'EIO', message: err instanceof Error ? err.message : String(err), internal: true };
}

/**
 * What stands between a request and its answer (see control-gate.ts): `admit` may
 * refuse a request before its method runs (by throwing an XenemuError), and the answer
 * of a method that ran goes out once `settled` resolves (never rejects).
 */
export interface AnswerGate {
  admit(method: string): void;
  settled(method: string): Promise<void>;
}

/** Answers a client may leave unread before its connection is closed (far above any one answer). */
const MAX_UNREAD_ANSWER_BYTES = 32 * 1024 * 1024;

/** How many of a request's problems an EINVAL answer lists, and how much of each (they may quote the input). */
const MAX_LISTED_ISSUES = 3;
const MAX_ISSUE_LENGTH = 300;

/**
 * The control socket: JSON-lines RPC for the CLI (host status, stop, domains, ...).
 * Anything may connect and send anything: every request's parameters are checked
 * against its method's schema (`params`, src/protocol/methods.ts) before the method
 * runs, so a method only ever sees what its type says.
 */
export class ControlServer {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly methods: Record<string, RpcMethod> = {};

  constructor(
    private readonly params: Readonly<Record<string, z.ZodType>>,
    private readonly log: (line: string) => void,
    private readonly gate?: AnswerGate,
  ) {}

  /** Add methods (the host registers its own once everything they need is up); each needs its schema. */
  register(methods: Readonly<Record<string, RpcMethod>>): void {
    for (const name of Object.keys(methods)) {
      if (!Object.hasOwn(this.params, name)) throw new Error(`control method ${name} has no parameter schema`);
    }
    Object.assign(this.methods, methods);
  }

  async listen(path: string): Promise<void> {
    this.server = await listenPrivate(path, (socket) => this.accept(socket));
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.setEncoding('utf8');
    const lines = new LineReader();
    const closeListeners: Array<() => void> = [];
    // Pushed events are snapshots (a top frame): one that a slow reader has not
    // taken yet is superseded by the next. While the socket's buffer is over its
    // high-water mark the newest event of each name waits here instead of queueing
    // (a `top` stopped with Ctrl-Z would otherwise grow the daemon forever), and it
    // goes out when the buffer drains.
    const behind = new Map<string, unknown>();
    const send = (event: string, data: unknown): void => {
      socket.write(`${JSON.stringify({ event, data })}\n`);
    };
    const drainListeners: Array<() => void> = [];
    socket.on('drain', () => {
      for (const l of drainListeners) l();
      const due = [...behind];
      behind.clear();
      for (const [event, data] of due) if (!socket.destroyed) send(event, data);
    });
    const ctx: RpcContext = {
      push: (event, data) => {
        if (socket.destroyed) return;
        if (socket.writableNeedDrain) behind.set(event, data);
        else send(event, data);
      },
      send: (event, data) => {
        if (socket.destroyed) return true;
        send(event, data);
        return !socket.writableNeedDrain;
      },
      onDrain: (listener) => drainListeners.push(listener),
      onClose: (listener) => closeListeners.push(listener),
    };
    // A line over the limit is a broken or hostile client: it is told why and the
    // connection ends (its earlier requests are still answered). Reading goes on, to
    // nowhere, so the client's write completes and it reads the answer, not a reset.
    let refused = false;
    const refuse = (length: number): void => {
      refused = true;
      this.log(`control: a request line of ${length}+ characters is over the limit of ${MAX_RPC_LINE}, closing the connection`);
      const error = { code: 'E2BIG', message: `the request line is over ${MAX_RPC_LINE} characters; the daemon reads requests of at most ${MAX_RPC_LINE} bytes` };
      socket.end(`${JSON.stringify({ id: 0, error })}\n`);
    };
    socket.on('data', (chunk: string) => {
      if (refused) return;
      for (const line of lines.push(chunk)) {
        if (line.length > MAX_RPC_LINE) return refuse(line.length);
        void this.answer(socket, line, ctx);
      }
      if (lines.pendingLength > MAX_RPC_LINE) refuse(lines.pendingLength);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.sockets.delete(socket);
      drainListeners.length = 0;
      for (const l of closeListeners.splice(0)) l();
    });
  }

  private async answer(socket: Socket, line: string, ctx: RpcContext): Promise<void> {
    let id = 0;
    let response: RpcResponse;
    let ran: string | null = null;
    try {
      const req = JSON.parse(line) as unknown;
      if (typeof req !== 'object' || req === null || Array.isArray(req)) throw new XenemuError('EINVAL', 'bad request: a request is a JSON object {"id", "method", "params"}');
      const { id: reqId, method: name, params } = req as Partial<RpcRequest>;
      id = typeof reqId === 'number' ? reqId : 0;
      if (typeof name !== 'string' || !Object.hasOwn(this.methods, name)) {
        throw new XenemuError('ENOSYS', `unknown method ${typeof name === 'string' ? name.slice(0, 64) : String(name)}`);
      }
      const method = this.methods[name]!;
      const checked = this.checkParams(name, params ?? {});
      this.gate?.admit(name);
      ran = name;
      response = { id, result: (await method(checked, ctx)) ?? null };
    } catch (err) {
      const { code, message, internal } = rpcErrorOf(err);
      if (internal) this.log(`control: internal error: ${(err as Error | undefined)?.stack ?? String(err)}`);
      response = { id, error: { code, message } };
    }
    // A failed method may have changed something on its way too: its error waits as well.
    if (ran !== null && this.gate) await this.gate.settled(ran);
    if (!socket.writable) return;
    if (socket.writableLength > MAX_UNREAD_ANSWER_BYTES) {
      // Requests keep coming and the answers are never read: the daemon would hold
      // them all. Pushed events are dropped instead (see accept), answers cannot be.
      this.log(`control: ${socket.writableLength} bytes of answers unread, closing the connection`);
      socket.destroy();
      return;
    }
    socket.write(`${this.encode(response)}\n`);
  }

  /**
   * The parameters as the method's schema gives them, or EINVAL naming each field that
   * is wrong (`params.config.vcpus: must be at most 128 ...`), as the CLI words them.
   */
  private checkParams(method: string, params: unknown): unknown {
    const checked = checkValue(this.params[method]!, params, PLAIN_WORDING);
    if (checked.ok) return checked.value;
    const listed = checked.issues.slice(0, MAX_LISTED_ISSUES).map((i) => `${formatPath(['params', ...i.path])}: ${i.message}`.slice(0, MAX_ISSUE_LENGTH));
    const more = checked.issues.length - listed.length;
    throw new XenemuError('EINVAL', `${listed.join('; ')}${more > 0 ? ` (and ${more} more)` : ''}`);
  }

  /**
   * One answer line. Results may hold 64-bit values (libxl's memkb fields) as bigints:
   * they go out as numbers when exact, else as decimal strings. An answer that still
   * cannot be encoded becomes an EIO error rather than taking the daemon down.
   */
  private encode(response: RpcResponse): string {
    try {
      return JSON.stringify(response, bigintAsJson);
    } catch (err) {
      this.log(`control: cannot encode the answer: ${(err as Error).message}`);
      return JSON.stringify({ id: response.id, error: { code: 'EIO', message: `cannot encode the answer: ${(err as Error).message}` } });
    }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

function bigintAsJson(_key: string, value: unknown): unknown {
  if (typeof value !== 'bigint') return value;
  return BigInt(Number(value)) === value ? Number(value) : value.toString();
}
