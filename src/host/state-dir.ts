import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Where a host keeps its sockets, database, journal and logs. */
export interface StatePaths {
  home: string;
  /** xenstored's socket (xs_wire), what XENSTORED_PATH points at. */
  socket: string;
  /** Read-only xenstored socket, like xenstored's socket_ro. */
  socketRo: string;
  /** JSON-RPC socket of the CLI. */
  control: string;
  pidFile: string;
  /** Held (an fcntl lock) by the running daemon for its whole life. */
  daemonLock: string;
  /** Held by a CLI while it starts the daemon, so racing CLIs start one. */
  startLock: string;
  log: string;
  database: string;
  journalDir: string;
  /** oxenstored.conf-style limits, read at start if present. */
  xenstoredConf: string;
  /** The emulated machine's CPUs and memory (host.yaml), read at start if present. */
  hostConfig: string;
  /** PATH entry with the compat shims of tools this machine lacks. */
  shimDir: string;
}

/** `XENEMU_HOME`, else `$XDG_STATE_HOME/xenemu`, else `~/.local/state/xenemu`. */
export function resolveHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XENEMU_HOME) return resolve(env.XENEMU_HOME);
  const xdg = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state');
  return join(xdg, 'xenemu');
}

/** Unix socket paths must fit sockaddr_un.sun_path (108 bytes with the NUL). */
const SUN_PATH_MAX = 107;

export function statePaths(home: string): StatePaths {
  return {
    home,
    socket: join(home, 'socket'),
    socketRo: join(home, 'socket_ro'),
    control: join(home, 'control.sock'),
    pidFile: join(home, 'daemon.pid'),
    daemonLock: join(home, 'daemon.lock'),
    startLock: join(home, 'start.lock'),
    log: join(home, 'daemon.log'),
    database: join(home, 'state.db'),
    journalDir: join(home, 'journal'),
    xenstoredConf: join(home, 'xenstored.conf'),
    hostConfig: join(home, 'host.yaml'),
    shimDir: join(home, 'bin'),
  };
}

export class StateDirError extends Error {
  override name = 'StateDirError';
}

/**
 * Create the state directory 0700 (sockets inside are 0600), or tighten an existing
 * one we own. A directory owned by someone else is refused: its sockets would be
 * theirs to replace.
 */
export function ensureStateDir(paths: StatePaths): void {
  if (Buffer.byteLength(paths.control) > SUN_PATH_MAX) {
    throw new StateDirError(`state dir ${paths.home} is too long for unix sockets (max ${SUN_PATH_MAX - 13} bytes); set XENEMU_HOME to a shorter path`);
  }
  mkdirSync(paths.home, { recursive: true, mode: 0o700 });
  const st = lstatSync(paths.home);
  if (!st.isDirectory()) throw new StateDirError(`${paths.home} is not a directory`);
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    throw new StateDirError(`${paths.home} belongs to uid ${st.uid}, not to you`);
  }
  if ((st.mode & 0o777) !== 0o700) chmodSync(paths.home, 0o700);
}
