import test from 'ava';
import { XsClient, XsRequestError } from '../../src/client/xs-client.js';
import { startHost } from '../helpers/daemon.js';

/**
 * The durability promise end to end: a write storm (plain writes and transactions,
 * many in flight), kill -9 of the daemon in the middle of it, a restart, and every
 * write the daemon had acknowledged is there.
 */
test('every acknowledged write survives kill -9 of the daemon during a write storm', async (t) => {
  const host = await startHost();
  t.teardown(() => host.dispose());
  const xs = await XsClient.connect(host.paths.socket);
  const acked: number[] = [];
  const ackedTx: number[] = [];
  const KILL_AFTER = 3000;
  const WINDOW = 64;
  let killed: Promise<void> | null = null;

  const writer = async (lane: number): Promise<void> => {
    for (let i = lane; ; i += WINDOW) {
      try {
        if (i % 10 === 0) {
          await xs.transaction(async (tx) => {
            await xs.write(`/storm/tx${i}/a`, `${i}`, tx);
            await xs.write(`/storm/tx${i}/b`, `${i}`, tx);
          });
          ackedTx.push(i);
        } else {
          await xs.write(`/storm/k${i}`, `${i}`);
          acked.push(i);
        }
      } catch (err) {
        if (err instanceof XsRequestError) throw err;
        return; // the daemon is gone
      }
      if (acked.length + ackedTx.length >= KILL_AFTER && killed === null) killed = host.kill();
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, (_, lane) => writer(lane)));
  await killed;
  xs.close();
  t.true(acked.length + ackedTx.length >= KILL_AFTER);

  await host.restart();
  const again = await XsClient.connect(host.paths.socket);
  const missing: string[] = [];
  for (const i of acked) {
    const v = await again.read(`/storm/k${i}`).catch(() => null);
    if (v?.toString() !== `${i}`) missing.push(`k${i}`);
  }
  for (const i of ackedTx) {
    for (const leaf of ['a', 'b']) {
      const v = await again.read(`/storm/tx${i}/${leaf}`).catch(() => null);
      if (v?.toString() !== `${i}`) missing.push(`tx${i}/${leaf}`);
    }
  }
  // Transactions are atomic across the crash too: no half-written one.
  for (const name of await again.directory('/storm')) {
    if (!name.startsWith('tx')) continue;
    t.deepEqual(await again.directory(`/storm/${name}`), ['a', 'b'], name);
  }
  again.close();
  t.deepEqual(missing, []);
});
