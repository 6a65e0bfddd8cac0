import type { StatePaths } from '../state/state-dir.js';
import type { EvtchnMethod, EvtchnRpc } from '../protocol/evtchn-rpc.js';
import { DaemonError, ensureDaemon, reachDaemon } from './daemon.js';
import { TypedClient } from './typed-client.js';

/**
 * One call of an event channel or interrupt method on the host daemon (started if it
 * does not run). Failures come back as RpcCallError with the errno name.
 */
export async function evtchnCall<M extends EvtchnMethod>(paths: StatePaths, method: M, params: EvtchnRpc[M]['params']): Promise<EvtchnRpc[M]['result']> {
  await ensureDaemon(paths);
  const rpc = await reachDaemon(paths);
  if (rpc === null) throw new DaemonError(`the xenemu daemon in ${paths.home} does not answer`);
  try {
    return await new TypedClient<EvtchnRpc>(rpc).call(method, params);
  } finally {
    rpc.close();
  }
}
