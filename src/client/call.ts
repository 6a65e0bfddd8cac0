import type { RpcTable } from '../protocol/control-rpc.js';
import type { StatePaths } from '../state/state-dir.js';
import { DaemonError, ensureDaemon, reachDaemon } from './daemon.js';
import { TypedClient } from './typed-client.js';

/**
 * One call of a control method of family T on the host daemon (started if it does not
 * run), on a connection of its own. Failures come back as RpcCallError with the errno
 * name.
 */
export async function daemonCall<T extends RpcTable, M extends keyof T & string>(paths: StatePaths, method: M, params: T[M]['params']): Promise<T[M]['result']> {
  await ensureDaemon(paths);
  const rpc = await reachDaemon(paths);
  if (rpc === null) throw new DaemonError(`the xenemu daemon in ${paths.home} does not answer`);
  try {
    return await new TypedClient<T>(rpc).call(method, params);
  } finally {
    rpc.close();
  }
}
