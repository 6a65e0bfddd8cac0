import test from 'ava';
import { rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { listenPrivate } from '../../src/host/private-socket.js';
import { tempHome } from '../helpers/daemon.js';

/** Whether something accepts connections on `path`. */
function accepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

test('the socket is 0600, and replaces one a dead daemon left', async (t) => {
  const home = tempHome();
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  const path = join(home, 'sock');
  const first = await listenPrivate(path, (s) => s.destroy());
  await new Promise<void>((r) => first.close(() => r()));
  const server = await listenPrivate(path, (s) => s.destroy());
  t.teardown(() => server.close());
  t.is(statSync(path).mode & 0o777, 0o600);
  t.true(await accepts(path));
});

test('a socket that cannot be made private is not left listening', async (t) => {
  // An abstract-namespace name: listen works, but there is no file to chmod.
  const name = `\0xenemu-private-socket-test-${process.pid}`;
  await t.throwsAsync(listenPrivate(name, (s) => s.destroy()));
  t.false(await accepts(name));
});
