import { MAX_INTERVAL_MS, MIN_INTERVAL_MS } from '../../protocol/stats.js';
import type { StatePaths } from '../../state/state-dir.js';
import type { XentopBatchOptions } from '../xentop-batch.js';

/** What `xenemu top` and the xentop shim ask of a run: the same dashboard, or xentop's batch text. */
export interface TopRun {
  paths: StatePaths;
  delayMs: number;
  /** -b (or --json): text on stdout, no screen, no keys. */
  batch: boolean;
  json: boolean;
  /** Frames before a batch run stops; 0 runs until interrupted. */
  iterations: number;
  batchOptions: XentopBatchOptions;
  /** Show the IPIs that never fired in the dashboard's grid from the start. */
  allSources: boolean;
}

/** A delay in seconds as the daemon's stats stream takes it: whole ms, 0.1 s to an hour. */
export function topDelayMs(seconds: number): number {
  return Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, Math.round(seconds * 1000)));
}

/**
 * Connect to the daemon's stats stream and run the dashboard or the batch printer
 * until it ends; resolves with the exit status. The daemon is not started: a monitor
 * watching a host that is not there says so (DaemonError) instead of making one.
 * The printer and the dashboard (Ink, React) load here, for the one that runs.
 */
export async function runTop(run: TopRun): Promise<number> {
  const { connectFeed } = await import('./feed.js');
  const feed = await connectFeed(run.paths, { intervalMs: run.delayMs, vcpuTimes: run.batch && run.batchOptions.vcpus });
  if (run.batch) {
    const { runBatch } = await import('../xentop-batch.js');
    return runBatch({ feed, iterations: run.iterations, json: run.json, options: run.batchOptions });
  }
  const { renderTop } = await import('./index.js');
  return renderTop({ feed, delayMs: run.delayMs, allSources: run.allSources });
}
