import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { scratchDir } from './scratch.js';
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

/**
 * Whether `pid` has exited, polling up to `timeoutMs`. A zombie counts (its files are
 * closed; nobody may reap a daemon the CLI started detached), but only once it is its
 * last thread: a leader that exited first shows Z while its other threads (SQLite's
 * writer, libuv's pool) are still exiting with the process's files open.
 */
export async function processGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let stat: string;
    let threads: number;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      threads = readdirSync(`/proc/${pid}/task`).length;
    } catch {
      return true;
    }
    // The state letter follows the command name, which is in parentheses and may hold spaces.
    if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z' && threads <= 1) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function tempHome(): string {
  // Short paths: unix socket names are limited to 107 bytes.
  return scratchDir('xe-');
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
  // The daemon releases its lock a moment before it exits, still holding its log and
  // other files open: a caller that unmounts the state dir next needs the process gone.
  const waitForExit = async (pid: number | null): Promise<void> => {
    const lock = await FileLock.acquire(paths.daemonLock, 60_000);
    if (lock === null) throw new Error('daemon did not exit');
    lock.release();
    if (pid !== null && !(await processGone(pid, 60_000))) throw new Error(`daemon pid ${pid} released its lock but did not exit`);
  };
  const host: TestHost = {
    paths,
    env,
    pid: () => Number(readFileSync(paths.pidFile, 'utf8')),
    async stop() {
      const rpc = await reachDaemon(paths);
      if (rpc === null) return;
      let pid: number | null = null;
      try {
        pid = host.pid();
      } catch {
        // no pid file: nothing more to wait for than the lock
      }
      await rpc.call('host.stop').catch(() => {});
      rpc.close();
      await waitForExit(pid);
    },
    async kill() {
      const pid = host.pid();
      process.kill(pid, 'SIGKILL');
      await waitForExit(pid);
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
