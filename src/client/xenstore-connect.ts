import { statSync } from 'node:fs';
import { XsClient } from '../protocol/xs-client.js';
import { connectXsClient } from './xs-socket.js';
import { strerror } from './strerror.js';
import { XenemuError } from '../common/errors.js';

/** The xenstored socket could not be reached. */
export class XenstoredUnreachable extends XenemuError {
  constructor(
    readonly socketPath: string,
    /** errno name, as xs_open would have left it. */
    readonly errno: string,
    readonly fromEnv: boolean,
  ) {
    super(
      errno,
      fromEnv
        ? `cannot reach xenstored at ${socketPath} (XENSTORED_PATH): ${strerror(errno)}; unset XENSTORED_PATH to use the xenemu host`
        : `cannot reach the xenemu host's xenstored at ${socketPath}: ${strerror(errno)}`,
    );
  }

  /** What the C tools print (after their progname): err(1, "xs_open"). */
  get compatMessage(): string {
    return `xs_open: ${strerror(this.errno)}`;
  }
}

/**
 * Connect the way libxenstore's xs_open does, with xenemu's default: $XENSTORED_PATH
 * when it is set, even to "" (no auto-start: a script that names a daemon must not get
 * another one); otherwise the xenemu state dir's socket, starting the host daemon
 * when nothing answers there.
 */
export async function connectXenstored(env: NodeJS.ProcessEnv = process.env): Promise<XsClient> {
  const fromEnv = env.XENSTORED_PATH;
  if (fromEnv !== undefined) return connectOrExplain(fromEnv, true);
  // Loaded here, not at the top: the fast path should not pay for what it may not use.
  const { resolveHome, statePaths } = await import('../state/state-dir.js');
  const paths = statePaths(resolveHome(env));
  try {
    return await connectXsClient(paths.socket);
  } catch {
    const { ensureDaemon } = await import('./daemon.js');
    await ensureDaemon(paths);
    return connectOrExplain(paths.socket, false);
  }
}

async function connectOrExplain(path: string, fromEnv: boolean): Promise<XsClient> {
  if (path === '') throw new XenstoredUnreachable(path, 'ENOENT', fromEnv);
  try {
    return await connectXsClient(path);
  } catch (err) {
    throw new XenstoredUnreachable(path, openErrno(path, err), fromEnv);
  }
}

/**
 * libxenstore stats the path first and opens a non-socket as a device, so a missing
 * path reports the stat error and a directory reports EISDIR, where connect(2) would
 * say ECONNREFUSED.
 */
function openErrno(path: string, err: unknown): string {
  try {
    if (statSync(path).isDirectory()) return 'EISDIR';
  } catch (statErr) {
    return (statErr as NodeJS.ErrnoException).code ?? 'ENOENT';
  }
  return (err as NodeJS.ErrnoException).code ?? 'ECONNREFUSED';
}
