import type { StatePaths } from '../state/state-dir.js';
import type { NetMethod, NetRpc } from '../protocol/net-rpc.js';
import { daemonCall } from './call.js';

/** One call of a network method on the host daemon (started if it does not run). */
export function netCall<M extends NetMethod>(paths: StatePaths, method: M, params: NetRpc[M]['params']): Promise<NetRpc[M]['result']> {
  return daemonCall<NetRpc, M>(paths, method, params);
}
