/**
 * The CLI's control protocol: newline-delimited JSON over a unix socket.
 * Request `{"id":1,"method":"host.status","params":{}}`, answer `{"id":1,"result":...}`
 * or `{"id":1,"error":{"code":"ENOENT","message":"..."}}`; after a subscription the daemon
 * also pushes `{"event":...,"data":...}` lines. Small and debuggable with
 * `socat - UNIX-CONNECT:control.sock`.
 */

export interface RpcRequest {
  id: number;
  method: string;
  params?: unknown;
}

export interface RpcError {
  /** A machine code (a Xen errno name where one fits, else an xenemu code). */
  code: string;
  message: string;
}

/**
 * A method family's table (domain-rpc.ts, evtchn-rpc.ts, stats.ts, host-rpc.ts): each
 * method's parameters (the output of its zod schema) and result. The daemon's handlers
 * and the CLI's typed clients are both typed by it.
 */
export type RpcTable = Record<string, { params: unknown; result: unknown }>;

export type RpcResponse = { id: number; result: unknown } | { id: number; error: RpcError };

/**
 * A message the daemon pushes without being asked, after a subscription (the stats
 * stream of `xenemu top`): `{"event":"stats","data":{...}}`.
 */
export interface RpcEvent {
  event: string;
  data: unknown;
}

/** Longest request line the daemon accepts; anything longer is a broken client. */
export const MAX_RPC_LINE = 1024 * 1024;

/** Split a stream into lines; keeps the partial last line between chunks. */
export class LineReader {
  private partial = '';

  push(chunk: string): string[] {
    const text = this.partial + chunk;
    const lines = text.split('\n');
    this.partial = lines.pop()!;
    return lines.filter((l) => l.length > 0);
  }

  get pendingLength(): number {
    return this.partial.length;
  }
}
