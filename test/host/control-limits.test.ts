import test from 'ava';
import { readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { reachDaemon } from '../../src/client/daemon.js';
import { RpcCallError, RpcClient } from '../../src/client/rpc-client.js';
import { MAX_RPC_LINE } from '../../src/protocol/control-rpc.js';
import { request, sendRaw } from '../helpers/control-raw.js';
import { startHost, tempHome } from '../helpers/daemon.js';

test('a control request longer than the daemon reads is refused by the client (E2BIG), and the connection stays usable', async (t) => {
  const host = await startHost();
  t.teardown(() => host.dispose());
  const rpc = (await reachDaemon(host.paths))!;
  t.teardown(() => rpc.close());
  const err = await t.throwsAsync(rpc.call('domain.create', { config: { name: 'big', cmdline: 'c'.repeat(MAX_RPC_LINE) } }), { instanceOf: RpcCallError });
  t.is(err.code, 'E2BIG');
  t.regex(err.message, /^the domain\.create request is 1048\d{3} bytes; the daemon reads requests of at most 1048576 bytes$/);
  t.deepEqual(await rpc.call('ping'), { pong: true });
});

test('a reply line that is not JSON fails the waiting and later calls instead of throwing out of the reader', async (t) => {
  const dir = tempHome();
  const path = join(dir, 'control.sock');
  const server = createServer((s) => s.on('data', () => s.write('not json\n{"id":1,"result":"late"}\n')));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  t.teardown(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const rpc = await RpcClient.connect(path);
  await t.throwsAsync(rpc.call('ping'), { message: 'the xenemu daemon sent a malformed reply: "not json"' });
  await t.throwsAsync(rpc.call('ping'), { message: /malformed reply/ });
});

test('a request line over the limit that arrives whole is answered E2BIG and its connection ends; the daemon goes on', async (t) => {
  const host = await startHost();
  t.teardown(() => host.dispose());
  // Just over the limit, newline included in the same write: no partial line ever
  // passes the limit, so only the check of complete lines can catch it.
  const line = request('ping', { pad: 'x'.repeat(MAX_RPC_LINE) });
  const answer = await sendRaw(host.paths.control, line, { timeoutMs: 60_000 });
  t.is(answer.kind, 'answer');
  if (answer.kind === 'answer') t.is(answer.msg.error?.code, 'E2BIG');
  t.regex(readFileSync(host.paths.log, 'utf8'), /control: a request line of \d+\+ characters is over the limit/);
  const rpc = (await reachDaemon(host.paths))!;
  t.teardown(() => rpc.close());
  t.deepEqual(await rpc.call('ping'), { pong: true });
});

test('a client that sends requests and never reads the answers is closed once they pass the bound', async (t) => {
  const host = await startHost();
  t.teardown(() => host.dispose());
  const socket = connect(host.paths.control);
  t.teardown(() => socket.destroy());
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.pause();
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  // host.status answers with about a kilobyte: 64k of them are twice the bound.
  const batch = `${request('host.status', {})}\n`.repeat(1024);
  let sent = 0;
  const send = (): void => {
    while (sent < 64 && !socket.destroyed) {
      sent++;
      if (!socket.write(batch)) return void socket.once('drain', send);
    }
  };
  send();
  await closed;
  t.regex(readFileSync(host.paths.log, 'utf8'), /control: \d+ bytes of answers unread, closing the connection/);
  const rpc = (await reachDaemon(host.paths))!;
  t.teardown(() => rpc.close());
  t.deepEqual(await rpc.call('ping'), { pong: true });
});
