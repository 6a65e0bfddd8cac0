import type { StatePaths } from '../state/state-dir.js';
import type { EvtchnMethod, EvtchnRpc } from '../protocol/evtchn-rpc.js';
import { DaemonError, ensureDaemon, reachDaemon } from './daemon.js';

/**
 * One call of an event channel or interrupt method on the host daemon (started if it
 * does not run). Failures come back as RpcCallError with the errno name.
 */
export async function evtchnCall<M extends EvtchnMethod>(paths: StatePaths, method: M, params: EvtchnRpc[M]['params']): Promise<EvtchnRpc[M]['result']> {
  await ensureDaemon(paths);
  const rpc = await reachDaemon(paths);
  if (rpc === null) throw new DaemonError(`the xenemu daemon in ${paths.home} does not answer`);
  try {
    return await rpc.call<EvtchnRpc[M]['result']>(method, params);
  } finally {
    rpc.close();
  }
}
