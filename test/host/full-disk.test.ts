import test from 'ava';
import { rmSync } from 'node:fs';
import { DomainClient } from '../../src/client/domains.js';
import { XsRequestError } from '../../src/protocol/xs-client.js';
import { connectXsClient } from '../../src/client/xs-socket.js';
import { RpcCallError } from '../../src/client/rpc-client.js';
import { StorePersistence } from '../../src/host/db/index.js';
import { Host } from '../../src/host/host.js';
import type { HostStatus } from '../../src/protocol/host-rpc.js';
import { ensureStateDir, statePaths } from '../../src/state/state-dir.js';
import { XsType, type XsMessage } from '../../src/protocol/xs-wire.js';
import { changesStore } from '../../src/xenstore/xenstored.js';
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
  const writer = await connectXsClient(paths.socket);
  const other = await connectXsClient(paths.socket);
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

test('the xs requests a full journal refuses are exactly those that can change the store', (t) => {
  const msg = (type: number, payload: string, txId = 0): XsMessage => ({ type, reqId: 1, txId, payload: Buffer.from(payload, 'latin1') });
  const rows: Array<[string, XsMessage, boolean]> = [
    ['WRITE', msg(XsType.WRITE, '/a\0v'), true],
    ['MKDIR', msg(XsType.MKDIR, '/a\0'), true],
    ['RM', msg(XsType.RM, '/a\0'), true],
    ['SET_PERMS', msg(XsType.SET_PERMS, '/a\0n0\0'), true],
    ['WRITE in a transaction (reaches the store at commit)', msg(XsType.WRITE, '/a\0v', 7), false],
    ['TRANSACTION_END commit', msg(XsType.TRANSACTION_END, 'T\0', 7), true],
    ['TRANSACTION_END abort', msg(XsType.TRANSACTION_END, 'F\0', 7), false],
    ['INTRODUCE', msg(XsType.INTRODUCE, ['5', '100', '3', ''].join('\0')), true],
    ['RELEASE', msg(XsType.RELEASE, '5\0'), true],
    ['RESUME', msg(XsType.RESUME, '5\0'), true],
    ['SET_TARGET', msg(XsType.SET_TARGET, '5\0' + '1\0'), true],
    ['SET_QUOTA', msg(XsType.SET_QUOTA, 'quota-maxentity\0' + '5\0'), true],
    ['SET_FEATURE', msg(XsType.SET_FEATURE, '5\0' + '1\0'), true],
    ['READ', msg(XsType.READ, '/a\0'), false],
    ['DIRECTORY', msg(XsType.DIRECTORY, '/\0'), false],
    ['WATCH', msg(XsType.WATCH, '/a\0tok\0'), false],
    ['TRANSACTION_START', msg(XsType.TRANSACTION_START, '\0'), false],
    ['CONTROL', msg(XsType.CONTROL, 'quota\0'), false],
  ];
  for (const [name, m, refused] of rows) t.is(changesStore(m), refused, name);
});

test('stopping while the journal cannot be written still closes everything, and says what was not written', async (t) => {
  const home = tempHome();
  const paths = statePaths(home);
  ensureStateDir(paths);
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  const disk = new FillableDisk();
  const log: string[] = [];
  const host = await Host.start({ paths, backend: StorePersistence.open(paths, { write: disk.write }), log: (line) => log.push(line) });
  const xs = await connectXsClient(paths.socket);
  await xs.write('/kept', 'acknowledged');
  disk.full = true;
  const held = xs.write('/lost', 'never acknowledged').then(
    () => 'answered',
    () => 'connection closed',
  );
  await eventually(() => log.some((l) => l.startsWith('journal: cannot write')), 'the failure');
  await t.notThrowsAsync(host.stop());
  t.is(await held, 'connection closed', 'the held write was never acknowledged');
  xs.close();
  t.true(log.some((l) => /^stopping without writing the last unacknowledged changes: ENOSPC/.test(l)));
  const values = new Map((await reload(paths)).records.map((r) => [r.path, r.value]));
  t.is(values.get('/kept'), 'acknowledged');
  t.false(values.has('/lost'));
});
