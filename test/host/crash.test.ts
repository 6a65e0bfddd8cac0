import test from 'ava';
import { fileURLToPath } from 'node:url';
import { DomainClient } from '../../src/client/domains.js';
import { XsRequestError } from '../../src/protocol/xs-client.js';
import { connectXsClient } from '../../src/client/xs-socket.js';
import { loadDomainConfig } from '../../src/toolstack/config/index.js';
import type { XlDomainRow } from '../../src/toolstack/libxl/rows.js';
import { startHost } from '../helpers/daemon.js';

/**
 * The durability promise end to end: a write storm (plain writes and transactions,
 * many in flight), kill -9 of the daemon in the middle of it, a restart, and every
 * write the daemon had acknowledged is there.
 */
test('every acknowledged write survives kill -9 of the daemon during a write storm', async (t) => {
  const host = await startHost();
  t.teardown(() => host.dispose());
  const xs = await connectXsClient(host.paths.socket);
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
  const again = await connectXsClient(host.paths.socket);
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

/**
 * The same promise for the control socket: each domain operation is acknowledged only
 * once its change (the toolstack's record, the domid counter, its XenStore nodes) is
 * in the journal, and the state it leaves (a pause, a pin, a memory target) is
 * recorded, so a kill -9 right after the answer loses none of it.
 */
test('every control-socket acknowledgement survives kill -9 right after it', async (t) => {
  const host = await startHost();
  t.teardown(() => host.dispose());
  const web = loadDomainConfig(fileURLToPath(new URL('../../configs/web.yaml', import.meta.url))).config;
  let client = await DomainClient.connect(host.paths, { start: false });
  t.teardown(() => client.close());

  /** Act, kill -9 as soon as the answer is in, restart, and hand back a fresh client. */
  const crashAfter = async (what: string, act: (c: DomainClient) => Promise<unknown>): Promise<DomainClient> => {
    await act(client);
    await host.kill();
    client.close();
    await host.restart();
    client = await DomainClient.connect(host.paths, { start: false });
    t.log(`killed after ${what}`);
    return client;
  };
  const row = async (name: string): Promise<XlDomainRow | undefined> => (await client.list()).find((r) => r.name === name);
  const xsRead = async (path: string): Promise<string> => {
    const xs = await connectXsClient(host.paths.socket);
    try {
      return (await xs.read(path)).toString();
    } finally {
      xs.close();
    }
  };

  await crashAfter('create web', (c) => c.create({ ...web, name: 'web', maxmem: 1024 }, { paused: false }));
  t.truthy(await row('web'), 'create');
  // Without web's vif: its MAC (derived from the name web when web.yaml was read) is web's, and a MAC in use is refused.
  await crashAfter('create -p db', (c) => c.create({ ...web, name: 'db', vif: [] }, { paused: true }));
  const db = await row('db');
  t.truthy(db, 'second create');
  t.true(db?.stateFlags.paused, 'created paused, still paused');
  t.not(db?.domid, (await row('web'))?.domid, 'the domid counter moved on');

  await crashAfter('rename', (c) => c.rename('web', 'www'));
  t.truthy(await row('www'), 'rename: new name');
  t.is(await row('web'), undefined, 'rename: old name');

  await crashAfter('mem-set', (c) => c.memSet('www', 262144));
  const www = (await row('www'))!;
  t.is(await xsRead(`/local/domain/${www.domid}/memory/target`), '262144', 'mem-set');

  await crashAfter('vcpu-set', (c) => c.vcpuSet('www', 1));
  t.is(await xsRead(`/local/domain/${www.domid}/cpu/1/availability`), 'offline', 'vcpu-set');

  await crashAfter('mem-max', (c) => c.memMax('www', 786432));
  t.is(await xsRead(`/local/domain/${www.domid}/memory/static-max`), '786432', 'mem-max');
  t.is(await xsRead(`/local/domain/${www.domid}/memory/target`), '262144', 'mem-set is still there');

  await crashAfter('vcpu-pin', (c) => c.vcpuPin({ ref: 'www', vcpu: 1, hard: [0], soft: null }));
  const vcpus = (await client.vcpuList(['www'])).rows;
  t.deepEqual(vcpus.find((v) => v.vcpuid === 1)?.hardAffinity, [0], 'vcpu-pin');

  await crashAfter('pause', (c) => c.pause('www'));
  t.true((await row('www'))?.stateFlags.paused, 'pause');
  await crashAfter('unpause', (c) => c.unpause('www'));
  t.false((await row('www'))?.stateFlags.paused, 'unpause');

  await crashAfter('destroy', (c) => c.destroy('db'));
  t.is(await row('db'), undefined, 'destroy');
  t.truthy(await row('www'), 'the other domain stays');
});
