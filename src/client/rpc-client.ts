import { connect, type Socket } from 'node:net';
import { LineReader, MAX_RPC_LINE, type RpcEvent, type RpcResponse } from '../protocol/control-rpc.js';
import { XenemuError } from '../common/errors.js';

/** A failed control call: `code` is the daemon's machine code (e.g. ENOENT). */
export class RpcCallError extends XenemuError {}

/** A client of the daemon's control socket (newline-delimited JSON). */
export class RpcClient {
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly closeListeners: Array<() => void> = [];
  private readonly eventListeners = new Map<string, Set<(data: unknown) => void>>();
  private nextId = 1;
  private closed: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    const lines = new LineReader();
    socket.on('data', (chunk: string) => {
      for (const line of lines.push(chunk)) {
        if (this.closed) break;
        this.receive(line);
      }
    });
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('the xenemu daemon closed the control connection')));
  }

  static connect(path: string): Promise<RpcClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        resolve(new RpcClient(socket));
      });
      socket.once('error', reject);
    });
  }

  private receive(line: string): void {
    let msg: RpcResponse | RpcEvent;
    try {
      msg = JSON.parse(line) as RpcResponse | RpcEvent;
    } catch {
      // Nothing after a line that is not JSON can be trusted to match a request: fail
      // them all rather than throw out of the socket's data handler.
      this.fail(new Error(`the xenemu daemon sent a malformed reply: ${JSON.stringify(line.slice(0, 80))}`));
      this.socket.destroy();
      return;
    }
    if ('event' in msg) {
      for (const l of this.eventListeners.get(msg.event) ?? []) l(msg.data);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if ('error' in msg) p.reject(new RpcCallError(msg.error.code, msg.error.message));
    else p.resolve(msg.result);
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.closed = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const listener of this.closeListeners) listener();
  }

  /** Receive the events the daemon pushes under `name` (after subscribing to them). */
  onEvent<T>(name: string, listener: (data: T) => void): () => void {
    let set = this.eventListeners.get(name);
    if (set === undefined) this.eventListeners.set(name, (set = new Set()));
    const l = listener as (data: unknown) => void;
    set.add(l);
    return () => set.delete(l);
  }

  /** Run `listener` once the connection is gone (at once if it already is). */
  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  /**
   * Call a method. A request longer than the daemon reads (MAX_RPC_LINE) is refused
   * here with E2BIG: sent, it would make the daemon drop the connection, and the
   * caller would only learn "ECONNRESET".
   */
  call<T = unknown>(method: string, params: unknown = {}): Promise<T> {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId++;
    const line = JSON.stringify({ id, method, params });
    const bytes = Buffer.byteLength(line);
    if (bytes > MAX_RPC_LINE) {
      return Promise.reject(new RpcCallError('E2BIG', `the ${method} request is ${bytes} bytes; the daemon reads requests of at most ${MAX_RPC_LINE} bytes`));
    }
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.socket.write(`${line}\n`);
    });
  }

  /**
   * Stop reading the daemon's answers and events until resume(): a consumer that
   * cannot keep up (a console's slow stdout) lets the socket fill, and the daemon's
   * flow control (RpcContext.send) holds the rest.
   */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(): void {
    this.fail(new Error('client closed'));
    this.socket.destroy();
  }
}
