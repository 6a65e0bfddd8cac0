import type { StatePaths } from '../state/state-dir.js';
import type { BlkMethod, BlkRpc } from '../protocol/blk-rpc.js';
import { daemonCall } from './call.js';

/** One call of a block device method on the host daemon (started if it does not run). */
export function blkCall<M extends BlkMethod>(paths: StatePaths, method: M, params: BlkRpc[M]['params']): Promise<BlkRpc[M]['result']> {
  return daemonCall<BlkRpc, M>(paths, method, params);
}
