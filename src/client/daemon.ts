import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { entryPoint } from '../common/entry-point.js';
import { FileLock } from '../state/lock.js';
import { ensureStateDir, type StatePaths } from '../state/state-dir.js';
import { DEFAULT_DAEMON_LOG_LIMITS, daemonLogLimits, rotateDaemonLogAtStart } from '../state/daemon-log.js';
import type { LogLimits } from '../common/log-files.js';
import { RpcClient } from './rpc-client.js';
import { XenemuError } from '../common/errors.js';

/** The daemon could not be reached or started; the message says why and what to do. */
export class DaemonError extends XenemuError {
  constructor(message: string) {
    super('EIO', message);
  }
}

/** How long a CLI waits for a racing CLI that is starting the daemon. */
const START_LOCK_WAIT_MS = 30_000;

/** A control connection if the daemon answers a ping, else null. */
export async function reachDaemon(paths: StatePaths): Promise<RpcClient | null> {
  let rpc: RpcClient;
  try {
    rpc = await RpcClient.connect(paths.control);
  } catch {
    return null;
  }
  try {
    await rpc.call('ping');
    return rpc;
  } catch {
    rpc.close();
    return null;
  }
}

/**
 * Make sure the state dir's daemon runs, starting it if needed. Two CLIs racing here
 * serialise on the start lock, so only one daemon is ever spawned; the loser finds it
 * running. Returns whether this call started it.
 */
export async function ensureDaemon(paths: StatePaths, options: { recover?: boolean } = {}): Promise<boolean> {
  const running = await reachDaemon(paths);
  if (running) {
    running.close();
    return false;
  }
  ensureStateDir(paths);
  const lock = await FileLock.acquire(paths.startLock, START_LOCK_WAIT_MS);
  if (lock === null) throw new DaemonError(`another xenemu has been starting the daemon in ${paths.home} for ${START_LOCK_WAIT_MS / 1000} s; see ${paths.log}`);
  try {
    const raced = await reachDaemon(paths);
    if (raced) {
      raced.close();
      return false;
    }
    await spawnDaemon(paths, options.recover === true);
    return true;
  } finally {
    lock.release();
  }
}

/**
 * Start the daemon detached, with its output in a log of its own (the last run's
 * rotated to daemon.log.1), and wait for the line it writes on fd 3 once it is
 * listening (or for it to exit, which is a failure: its "failed" line on fd 3 says why).
 */
async function spawnDaemon(paths: StatePaths, recover: boolean): Promise<void> {
  const entry = entryPoint('../host/daemon.js', import.meta.url);
  rotateDaemonLogAtStart(paths.log, await configuredLogLimits(paths));
  const logFd = openSync(paths.log, 'a', 0o600);
  const child = spawn(process.execPath, [...entry.execArgv, entry.file, '--home', paths.home, ...(recover ? ['--recover'] : [])], {
    detached: true,
    stdio: ['ignore', logFd, logFd, 'pipe'],
    env: { ...process.env, XENEMU_READY_FD: '3' },
  });
  closeSync(logFd);
  const ready = child.stdio[3] as Readable;
  let text = '';
  const outcome = await new Promise<'ready' | 'exited'>((resolve) => {
    ready.setEncoding('utf8');
    ready.on('error', () => resolve('exited'));
    ready.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('ready\n')) resolve('ready');
    });
    // The pipe closes when the daemon exits, after its last words were read ('exit' may come first).
    ready.on('close', () => resolve('exited'));
    child.once('error', () => resolve('exited'));
  });
  ready.destroy();
  child.unref();
  if (outcome === 'exited') {
    // It may have lost the lock to a daemon started by hand meanwhile: fine if one answers.
    const other = await reachDaemon(paths);
    if (other) return other.close();
    const failed = /^failed (.*)$/m.exec(text);
    if (failed) throw new DaemonError(`the xenemu daemon did not start: ${JSON.parse(failed[1]!) as string}\n(daemon log: ${paths.log})`);
    throw new DaemonError(`the xenemu daemon failed to start:\n${logTail(paths.log)}`);
  }
}

/** host.yaml's daemon log limits, or the defaults if it cannot be read (the daemon says why, in its new log). */
async function configuredLogLimits(paths: StatePaths): Promise<LogLimits> {
  // Loaded here only: the commands that find the daemon running never need it.
  const { readHostConfig } = await import('../state/host-config.js');
  try {
    return daemonLogLimits(readHostConfig(paths.hostConfig));
  } catch {
    return DEFAULT_DAEMON_LOG_LIMITS;
  }
}

function logTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-10).join('\n');
  } catch {
    return '(no log)';
  }
}
