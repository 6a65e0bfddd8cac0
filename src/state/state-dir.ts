import { chmodSync, lstatSync, mkdirSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { strerror } from '../common/errno.js';
import { XenemuError } from '../common/errors.js';

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
  /** The last start's recovery report, or why it refused the store (see LastStart). */
  lastStart: string;
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
    lastStart: join(home, 'last-start.json'),
    database: join(home, 'state.db'),
    journalDir: join(home, 'journal'),
    xenstoredConf: join(home, 'xenstored.conf'),
    hostConfig: join(home, 'host.yaml'),
    shimDir: join(home, 'bin'),
  };
}

/**
 * The unix socket on which domain `domid`'s kernel serves its xenbus device (xenemu
 * exec). In the state dir itself: its 0700 mode keeps other users out.
 */
export function domainXenbusSocket(home: string, domid: number): string {
  return join(home, `xenbus-${domid}.sock`);
}

export class StateDirError extends XenemuError {
  constructor(message: string) {
    super('EINVAL', message);
  }
}

/**
 * Create the state directory 0700 (every file inside 0600, journal/ 0700), or tighten
 * an existing one we own. A directory owned by someone else is refused: its sockets
 * would be theirs to replace. So is a symbolic link: whoever can change the link
 * decides where the sockets and the store go.
 */
export function ensureStateDir(paths: StatePaths): void {
  if (Buffer.byteLength(paths.control) > SUN_PATH_MAX) {
    throw new StateDirError(`state dir ${paths.home} is too long for unix sockets (max ${SUN_PATH_MAX - 13} bytes); set XENEMU_HOME to a shorter path`);
  }
  const existing = lstatOrNull(paths.home);
  if (existing?.isSymbolicLink()) {
    throw new StateDirError(`${paths.home} is a symbolic link (to ${readlinkSync(paths.home)}), not a directory; set XENEMU_HOME to the directory itself`);
  }
  if (existing !== null && !existing.isDirectory()) {
    throw new StateDirError(`${paths.home} is ${existing.isFile() ? 'a regular file' : 'not a directory'}; set XENEMU_HOME to a directory (it is made if missing)`);
  }
  try {
    mkdirSync(paths.home, { recursive: true, mode: 0o700 });
  } catch (err) {
    // A parent that is a file (ENOTDIR), or one we may not write (EACCES, EROFS).
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw new StateDirError(`cannot make the state dir ${paths.home}: ${strerror(code)}; set XENEMU_HOME to a directory you can write`);
  }
  const st = lstatSync(paths.home);
  if (!st.isDirectory()) throw new StateDirError(`${paths.home} is not a directory`);
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    throw new StateDirError(`${paths.home} belongs to uid ${st.uid}, not to you`);
  }
  tighten(paths.home, st, 0o700);
  // State dirs made by older versions have a 0755 journal/ and 0644 files.
  const journal = lstatOrNull(paths.journalDir);
  if (journal?.isDirectory()) tighten(paths.journalDir, journal, 0o700);
  for (const dir of [paths.home, paths.journalDir]) {
    for (const entry of readdirOrEmpty(dir)) {
      const file = join(dir, entry);
      const fst = lstatOrNull(file);
      if (fst?.isFile()) tighten(file, fst, 0o600);
    }
  }
}

/**
 * Refuse to start when something that is not a socket sits where the daemon listens:
 * listen() would fail with a bare EADDRINUSE. A socket there is stale (the caller
 * holds the daemon lock, so no live daemon owns it) and is replaced.
 */
export function checkSocketPaths(paths: StatePaths): void {
  for (const path of [paths.socket, paths.socketRo, paths.control]) {
    const st = lstatOrNull(path);
    if (st === null || st.isSocket()) continue;
    const what = st.isDirectory() ? 'a directory' : st.isSymbolicLink() ? 'a symbolic link' : st.isFile() ? 'a regular file' : 'not a socket';
    throw new StateDirError(`${path} is ${what}, in the way of the daemon's socket; move it away and start again`);
  }
}

function tighten(path: string, st: Stats, mode: number): void {
  if ((st.mode & 0o777) !== mode) chmodSync(path, mode);
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    // Nothing there, or a file where a parent directory should be.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}

function readdirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
