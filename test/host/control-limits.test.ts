import test from 'ava';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { reachDaemon } from '../../src/client/daemon.js';
import { RpcCallError, RpcClient } from '../../src/client/rpc-client.js';
import { MAX_RPC_LINE } from '../../src/protocol/control-rpc.js';
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
