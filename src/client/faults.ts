import type { FaultMethod, FaultRpc } from '../protocol/fault-rpc.js';
import type { StatePaths } from '../state/state-dir.js';
import { daemonCall } from './call.js';

/** One call of a fault method on the host daemon (started if it does not run). */
export function faultCall<M extends FaultMethod>(paths: StatePaths, method: M, params: FaultRpc[M]['params']): Promise<FaultRpc[M]['result']> {
  return daemonCall<FaultRpc, M>(paths, method, params);
}
