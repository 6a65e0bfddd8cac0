import type { StatePaths } from '../state/state-dir.js';
import type { BlkMethod, BlkRpc } from '../protocol/blk-rpc.js';
import { DaemonError, ensureDaemon, reachDaemon } from './daemon.js';
import { TypedClient } from './typed-client.js';

/** One call of a block device method on the host daemon (started if it does not run). */
export async function blkCall<M extends BlkMethod>(paths: StatePaths, method: M, params: BlkRpc[M]['params']): Promise<BlkRpc[M]['result']> {
  await ensureDaemon(paths);
  const rpc = await reachDaemon(paths);
  if (rpc === null) throw new DaemonError(`the xenemu daemon in ${paths.home} does not answer`);
  try {
    return await new TypedClient<BlkRpc>(rpc).call(method, params);
  } finally {
    rpc.close();
  }
}
