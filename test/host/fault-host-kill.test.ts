import test from 'ava';
import { join } from 'node:path';
import { connectXsClient } from '../../src/client/xs-socket.js';
import { assertXlBuilt, CONFIGS, RUN_JS, runNode } from '../cli-xl/helpers.js';
import { processGone, startHost } from '../helpers/daemon.js';

// host-kill for real: the daemon SIGKILLs itself where asked, and what it acknowledged survives.

test('host-kill --at flush: the daemon dies at the 5th journal write, and every write acknowledged before it is there after a restart', async (t) => {
  assertXlBuilt();
  const host = await startHost();
  t.teardown(() => host.dispose());
  const add = await runNode(RUN_JS, ['fault', 'add', 'host-kill', '--at', 'flush', '--after', '5'], host.env);
  t.is(add.code, 0, add.stderr);
  const pid = host.pid();
  const xs = await connectXsClient(host.paths.socket);
  const acked: string[] = [];
  let lost: Error | null = null;
  for (let i = 0; i < 100 && lost === null; i++) {
    await xs.write(`/kill/${i}`, String(i)).then(
      () => acked.push(`/kill/${i}`),
      (err: Error) => (lost = err),
    );
  }
  xs.close();
  t.not(lost, null, 'the connection went with the daemon');
  t.true(await processGone(pid, 60_000), 'the daemon is gone');
  t.true(acked.length >= 1 && acked.length < 5, `${acked.length} writes acknowledged before the 5th journal write`);
  await host.restart();
  const again = await connectXsClient(host.paths.socket);
  for (const path of acked) t.is((await again.read(path)).toString(), path.slice('/kill/'.length), path);
  again.close();
  const list = await runNode(RUN_JS, ['fault', 'list'], host.env);
  t.is(list.stdout, 'no faults\n', 'a fault added by hand does not outlive the daemon');
});

test('host-kill --at create: killed half-way through a create it never acknowledged, the restarted host has nothing of the domain, and the create can be done again', async (t) => {
  assertXlBuilt();
  const host = await startHost();
  t.teardown(() => host.dispose());
  t.is((await runNode(RUN_JS, ['fault', 'add', 'host-kill', '--at', 'create'], host.env)).code, 0);
  const pid = host.pid();
  const create = await runNode(RUN_JS, ['create', join(CONFIGS, 'web.yaml')], host.env);
  t.not(create.code, 0, 'the create was not acknowledged');
  t.true(await processGone(pid, 60_000));
  await host.restart();
  t.is((await runNode(RUN_JS, ['list', 'web'], host.env)).code, 1, 'no web');
  const xs = await connectXsClient(host.paths.socket);
  t.deepEqual(await xs.directory('/local/domain'), ['0'], 'no guest home');
  t.false(await xs.read('/vm').then(() => true, () => false), 'no /vm');
  t.false(await xs.read('/libxl').then(() => true, () => false), 'no /libxl');
  xs.close();
  const again = await runNode(RUN_JS, ['create', join(CONFIGS, 'web.yaml')], host.env);
  t.is(again.code, 0, again.stderr);
});
