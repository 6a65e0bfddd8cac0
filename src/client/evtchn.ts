import type { StatePaths } from '../state/state-dir.js';
import type { EvtchnMethod, EvtchnRpc } from '../protocol/evtchn-rpc.js';
import { daemonCall } from './call.js';

/**
 * One call of an event channel or interrupt method on the host daemon (started if it
 * does not run). Failures come back as RpcCallError with the errno name.
 */
export function evtchnCall<M extends EvtchnMethod>(paths: StatePaths, method: M, params: EvtchnRpc[M]['params']): Promise<EvtchnRpc[M]['result']> {
  return daemonCall<EvtchnRpc, M>(paths, method, params);
}
