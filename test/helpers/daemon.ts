import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDaemon, reachDaemon } from '../../src/client/daemon.js';
import { FileLock } from '../../src/state/lock.js';
import { statePaths, type StatePaths } from '../../src/state/state-dir.js';

/** A xenemu daemon of a test's own, in a temporary state dir. */
export interface TestHost {
  readonly paths: StatePaths;
  /** Environment for child processes: XENEMU_HOME and XENSTORED_PATH point here. */
  readonly env: NodeJS.ProcessEnv;
  pid(): number;
  /** Stop it cleanly (RPC, then wait for its lock to be released). */
  stop(): Promise<void>;
  /** SIGKILL it and wait until the kernel has released its lock. */
  kill(): Promise<void>;
  /** Start it again on the same state dir. */
  restart(): Promise<void>;
  /** Stop it if running and delete the state dir. */
  dispose(): Promise<void>;
}

/**
 * Daemons are detached, so a test process that dies (an uncaught error skips the
 * after hooks) would leave its daemons running: stop whatever is left on the way out.
 */
const running = new Set<StatePaths>();
process.on('exit', () => {
  for (const paths of running) {
    try {
      process.kill(Number(readFileSync(paths.pidFile, 'utf8')), 'SIGTERM');
    } catch {
      // already gone
    }
  }
});

export function tempHome(): string {
  // Short paths: unix socket names are limited to 107 bytes.
  return mkdtempSync(join(tmpdir(), 'xe-'));
}

/**
 * Start (or attach to) the daemon of `home`. `ensure` starts it; the default runs the
 * daemon from these sources, benchmarks pass the compiled one.
 */
export async function startHost(home = tempHome(), ensure: (paths: StatePaths) => Promise<boolean> = ensureDaemon): Promise<TestHost> {
  const paths = statePaths(home);
  const env = { ...process.env, XENEMU_HOME: home, XENSTORED_PATH: paths.socket };
  await ensure(paths);
  running.add(paths);
  const waitForExit = async (): Promise<void> => {
    const lock = await FileLock.acquire(paths.daemonLock, 60_000);
    if (lock === null) throw new Error('daemon did not exit');
    lock.release();
  };
  const host: TestHost = {
    paths,
    env,
    pid: () => Number(readFileSync(paths.pidFile, 'utf8')),
    async stop() {
      const rpc = await reachDaemon(paths);
      if (rpc === null) return;
      await rpc.call('host.stop').catch(() => {});
      rpc.close();
      await waitForExit();
    },
    async kill() {
      process.kill(host.pid(), 'SIGKILL');
      await waitForExit();
    },
    async restart() {
      await ensure(paths);
    },
    async dispose() {
      await host.stop();
      running.delete(paths);
      rmSync(home, { recursive: true, force: true });
    },
  };
  return host;
}
