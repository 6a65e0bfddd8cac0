import { RpcClient } from '../../client/rpc-client.js';
import { connectXsClient } from '../../client/xs-socket.js';
import type { XsClient } from '../../protocol/xs-client.js';
import { resolveHome, statePaths } from '../../state/state-dir.js';
import type { CompletionSources } from './complete.js';

/** A Tab must not hang on a daemon that does not answer. */
const TIMEOUT_MS = 1000;
/** Beyond this many matches, no "has children" look-ups (the listing is what helps then). */
const MAX_PROBES = 64;

/** `work`'s answer, or `fallback` if it fails or takes longer than TIMEOUT_MS. */
async function quickly<T>(work: Promise<T>, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), TIMEOUT_MS)));
  try {
    return await Promise.race([work.catch(() => fallback), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The running host's domains and XenStore, asked over its sockets. Nothing is started:
 * with no daemon there is nothing to offer, and the answer is empty.
 */
export function liveSources(env: NodeJS.ProcessEnv = process.env): CompletionSources {
  const paths = statePaths(resolveHome(env));
  return {
    domains: () =>
      quickly(
        (async () => {
          const rpc = await RpcClient.connect(paths.control);
          try {
            const rows = (await rpc.call('domain.list', {})) as Array<{ name?: string | null }>;
            return rows.map((r) => r.name ?? '').filter((n) => n !== '');
          } finally {
            rpc.close();
          }
        })(),
        [],
      ),
    children: (dir, prefix) =>
      quickly(
        (async () => {
          // The socket the xenstore commands use: $XENSTORED_PATH, else the host's.
          const xs: XsClient = await connectXsClient(env.XENSTORED_PATH ?? paths.socket);
          try {
            const names = (await xs.directory(dir)).filter((n) => n.startsWith(prefix));
            const child = (n: string): string => (dir.endsWith('/') ? `${dir}${n}` : `${dir}/${n}`);
            const probe = names.length <= MAX_PROBES;
            return await Promise.all(
              names.map(async (name) => ({ name, hasChildren: probe && (await xs.directory(child(name)).catch(() => [])).length > 0 })),
            );
          } finally {
            xs.close();
          }
        })(),
        [],
      ),
  };
}
