import type { RpcTable } from '../protocol/control-rpc.js';
import type { RpcClient } from './rpc-client.js';

/**
 * The control methods of one family (src/protocol/*-rpc.ts), typed by its table: a
 * method's name picks the parameters it takes and the result it answers. Failures are
 * RpcCallErrors whose `code` is the errno name the daemon sent.
 */
export class TypedClient<T extends RpcTable> {
  constructor(readonly rpc: RpcClient) {}

  call<M extends keyof T & string>(method: M, params: T[M]['params']): Promise<T[M]['result']> {
    return this.rpc.call<T[M]['result']>(method, params);
  }

  close(): void {
    this.rpc.close();
  }
}
