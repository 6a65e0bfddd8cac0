import test from 'ava';
import { reachDaemon } from '../../src/client/daemon.js';
import { RpcCallError } from '../../src/client/rpc-client.js';
import { MAX_RPC_LINE } from '../../src/protocol/control-rpc.js';
import { startHost } from '../helpers/daemon.js';

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
