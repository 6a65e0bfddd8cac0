import { DaemonError } from '../../client/daemon.js';
import { RpcCallError, RpcClient } from '../../client/rpc-client.js';
import { TypedClient } from '../../client/typed-client.js';
import type { StatePaths } from '../../state/state-dir.js';
import { STATS_EVENT, type SelectedDomainStats, type StatsFrame, type StatsRpc, type StatsSubscribeParams } from '../../protocol/stats.js';

/** The stats stream as the dashboard and the batch printer see it. */
export interface StatsFeed {
  /** Every frame, starting with the latest one already received. Returns an unsubscribe. */
  onFrame(listener: (frame: StatsFrame) => void): () => void;
  /** The stream ended because the daemon or the connection went away (not on close()). */
  onLost(listener: (err: Error) => void): () => void;
  /** Select a domain; resolves with its detail as of now (its rates come with the next frame). */
  select(domid: number | null): Promise<SelectedDomainStats | null>;
  setInterval(ms: number): Promise<void>;
  close(): void;
}

/**
 * A feed over the control socket: one subscription (subscribe once, then the daemon
 * pushes), frames passed on as they come. The latest frame is kept so a listener
 * that attaches late (a component mounting after the first frame) starts with it.
 */
export class RpcStatsFeed implements StatsFeed {
  private latest: StatsFrame | null = null;
  private readonly frameListeners = new Set<(frame: StatsFrame) => void>();
  private readonly lostListeners = new Set<(err: Error) => void>();
  private lost: Error | null = null;
  private closing = false;

  private constructor(private readonly rpc: RpcClient) {
    rpc.onEvent<StatsFrame>(STATS_EVENT, (frame) => this.emit(frame));
    rpc.onClose(() => {
      if (this.closing) return;
      this.lost = new Error('the xenemu daemon closed the connection (it stopped or crashed)');
      for (const l of this.lostListeners) l(this.lost);
    });
  }

  /** Connect to the daemon's control socket and subscribe; fails if the daemon does not answer. */
  static async connect(controlPath: string, params: StatsSubscribeParams): Promise<RpcStatsFeed> {
    const rpc = await RpcClient.connect(controlPath);
    const feed = new RpcStatsFeed(rpc);
    try {
      const first = await new TypedClient<StatsRpc>(rpc).call('stats.subscribe', params);
      // A pushed frame can only follow the answer; keep the newest either way.
      if (feed.latest === null || feed.latest.seq < first.seq) feed.emit(first);
    } catch (err) {
      feed.close();
      throw err;
    }
    return feed;
  }

  private emit(frame: StatsFrame): void {
    if (this.latest !== null && frame.seq <= this.latest.seq && frame.seq !== 1) return;
    this.latest = frame;
    for (const l of this.frameListeners) l(frame);
  }

  onFrame(listener: (frame: StatsFrame) => void): () => void {
    this.frameListeners.add(listener);
    if (this.latest !== null) listener(this.latest);
    return () => this.frameListeners.delete(listener);
  }

  onLost(listener: (err: Error) => void): () => void {
    this.lostListeners.add(listener);
    if (this.lost !== null) listener(this.lost);
    return () => this.lostListeners.delete(listener);
  }

  select(domid: number | null): Promise<SelectedDomainStats | null> {
    return new TypedClient<StatsRpc>(this.rpc).call('stats.select', { domid });
  }

  async setInterval(ms: number): Promise<void> {
    await new TypedClient<StatsRpc>(this.rpc).call('stats.interval', { intervalMs: ms });
  }

  close(): void {
    this.closing = true;
    this.rpc.close();
  }
}

/**
 * The feed of the state dir's daemon. A monitor does not start a daemon: one that is
 * not running (or too old to know the stats methods) is a DaemonError saying so.
 */
export async function connectFeed(paths: StatePaths, params: StatsSubscribeParams): Promise<RpcStatsFeed> {
  try {
    return await RpcStatsFeed.connect(paths.control, params);
  } catch (err) {
    if (err instanceof RpcCallError && err.code === 'ENOSYS') {
      throw new DaemonError(`the xenemu daemon in ${paths.home} has no stats stream: restart it (xenemu host stop; xenemu host start)`);
    }
    if (err instanceof RpcCallError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ECONNREFUSED') throw new DaemonError(`the xenemu daemon is not running (state dir ${paths.home}): start it with \`xenemu host start\``);
    throw new DaemonError(`cannot reach the xenemu daemon at ${paths.control}: ${(err as Error).message}`);
  }
}
