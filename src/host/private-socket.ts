import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';

/**
 * Listen on the unix socket `path` for the daemon's own users: a stale socket a dead
 * daemon left there is replaced, and the new one is 0600 (the state dir is 0700 too,
 * so the moment between listen and chmod exposes nothing).
 */
export async function listenPrivate(path: string, onConnection: (socket: Socket) => void): Promise<Server> {
  try {
    unlinkSync(path);
  } catch {
    // nothing there
  }
  const server = createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  try {
    chmodSync(path, 0o600);
  } catch (err) {
    // A socket that cannot be made private is not left listening.
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw err;
  }
  return server;
}
