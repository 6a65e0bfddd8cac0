import test from 'ava';
import { rmSync } from 'node:fs';
import { DomainClient } from '../../src/client/domains.js';
import { XsClient, XsRequestError } from '../../src/client/xs-client.js';
import { RpcCallError } from '../../src/client/rpc-client.js';
import { StorePersistence } from '../../src/host/db/index.js';
import { Host, type HostStatus } from '../../src/host/host.js';
import { ensureStateDir, statePaths } from '../../src/host/state-dir.js';
import { yamlConfig } from '../helpers/machine.js';
import { tempHome } from '../helpers/daemon.js';
import { FillableDisk, reload } from '../persistence/helpers.js';

/** Poll `check` every 10 ms, for at most 10 s (the barrier retries on a timer). */
async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never happened: ${what}`);
}

/**
 * A host whose journal's disk fills up and frees again (through the write seam, so
 * in-process and without a real disk; full-disk-tmpfs.test.ts does it for real).
 */
test('while the journal cannot be written: held answers wait, new changes are refused on both sockets, and the host recovers by itself', async (t) => {
  const home = tempHome();
  const paths = statePaths(home);
  ensureStateDir(paths);
  const disk = new FillableDisk();
  const log: string[] = [];
  const host = await Host.start({ paths, backend: StorePersistence.open(paths, { write: disk.write }), log: (line) => log.push(line) });
  let stopped = false;
  t.teardown(async () => {
    if (!stopped) await host.stop();
    rmSync(home, { recursive: true, force: true });
  });
  const writer = await XsClient.connect(paths.socket);
  const other = await XsClient.connect(paths.socket);
  const control = await DomainClient.connect(paths, { start: false });
  t.teardown(() => {
    writer.close();
    other.close();
    control.close();
  });
  const status = (): Promise<HostStatus> => control.rpc.call<HostStatus>('host.status');
  await writer.write('/before', 'acknowledged');

  disk.full = true;
  let held = false;
  const heldWrite = writer.write('/held', 'applied, waiting').then(() => (held = true));
  await eventually(async () => String((await status()).persistence.journal).startsWith('failing'), 'host status reports the failing journal');
  t.regex(String((await status()).persistence.journal), /no space left on device \(ENOSPC\) in .*journal/);

  // New changes are refused at once, with nothing changed; reads are still answered.
  const refused = await t.throwsAsync(other.write('/refused', 'x'), { instanceOf: XsRequestError });
  t.is(refused?.errno, 'ENOSPC');
  const tx = await other.transactionStart();
  await other.write('/in-tx', 'x', tx);
  t.is((await t.throwsAsync(other.transactionEnd(tx, true), { instanceOf: XsRequestError }))?.errno, 'ENOSPC');
  t.is((await other.read('/before')).toString(), 'acknowledged');
  const create = await t.throwsAsync(control.create(yamlConfig('name: full\n'), { paused: false }), { instanceOf: RpcCallError });
  t.is(create?.code, 'ENOSPC');
  t.regex(create?.message ?? '', /^cannot record the change: no space left on device \(ENOSPC\) in .+; nothing was changed$/);
  t.false((await control.list()).some((r) => r.name === 'full'), 'the refused create made nothing');
  t.false(held, 'the change that reached memory before the failure is not acknowledged');

  // It keeps retrying (without saying so each time); once space returns, it goes on.
  await eventually(() => disk.refused >= 3, 'retries');
  disk.full = false;
  await heldWrite;
  t.is((await status()).persistence.journal, 'ok');
  await writer.write('/after', 'acknowledged');
  const created = await control.create(yamlConfig('name: full\n'), { paused: false });
  t.is(created.name, 'full');
  t.is(log.filter((l) => l.startsWith('journal: cannot write')).length, 1, 'the failure is logged once');
  t.is(log.filter((l) => l.startsWith('journal: written again')).length, 1, 'the recovery is logged once');
  const absent = async (path: string): Promise<boolean> => other.read(path).then(() => false, (err: XsRequestError) => err.errno === 'ENOENT');
  t.true(await absent('/refused'));
  t.true(await absent('/in-tx'));

  writer.close();
  other.close();
  control.close();
  await host.stop();
  stopped = true;
  const values = new Map((await reload(paths)).records.map((r) => [r.path, r.value]));
  for (const path of ['/before', '/held', '/after']) t.true(values.has(path), path);
  t.false(values.has('/refused'));
});
