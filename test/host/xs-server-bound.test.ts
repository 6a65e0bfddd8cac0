import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectXsClient } from '../../src/client/xs-socket.js';
import { DurabilityBarrier } from '../../src/host/durability.js';
import { parseXenstoredConf } from '../../src/host/xenstored-conf.js';
import { XsSocketServer } from '../../src/host/xs-server.js';
import { encodeMessage, XsType } from '../../src/protocol/xs-wire.js';
import { queuedFrameLimit } from '../../src/xenstore/quota.js';
import { XenStored } from '../../src/xenstore/xenstored.js';

/**
 * A xenstored socket client that registers watches and then never reads: the daemon
 * must not hold every event for it (issue 8: 73 MB -> 2.1 GB after 20k writes).
 */
async function stuckWatcher(path: string, watches: number, under: string): Promise<Socket> {
  const socket = connect(path);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => {});
  socket.pause();
  for (let i = 0; i < watches; i++) socket.write(encodeMessage(XsType.WATCH, i + 1, 0, `${under}\0w${i}\0`));
  return socket;
}

test('a socket client that stops reading is closed once its unread frames pass the bound, and writers go on', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xe-bound-'));
  const log: string[] = [];
  const xs = new XenStored({ quota: { outstanding: 100, watchEvents: 100 } });
  xs.initialise('/tmp/xenstored');
  const server = new XsSocketServer(xs, new DurabilityBarrier(() => {}, { journalDir: dir, log: (line) => log.push(line) }), (line) => log.push(line));
  const sock = join(dir, 's');
  await server.listen(sock, false);
  const watcher = await stuckWatcher(sock, 50, '/data');
  const writer = await connectXsClient(sock);
  t.teardown(async () => {
    watcher.destroy();
    writer.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  // Each write fires 50 events at the watcher. The kernel's socket buffer takes the
  // first few thousand; past it only the bound (200 frames) may wait in the daemon.
  // 20k writes would queue a million events without it.
  let writes = 0;
  while (writes < 20_000 && !log.some((l) => l.includes('closing'))) {
    await writer.write(`/data/k${writes % 100}`, `v${writes}`);
    writes++;
  }
  t.true(
    log.some((l) => /socket client A\d+: \d+ replies and watch events unread \(quota-maxoutstanding \+ quota-maxwatchevents = 200\), closing/.test(l)),
    `no closing line after ${writes} writes: ${log.join('; ')}`,
  );
  t.true(writes < 20_000);
  t.is(server.connectionCount, 1, 'only the writer is left');
  t.is(xs.watches.size, 0, 'the watcher\'s watches went with it');
  // The writer was never held up: it goes on being answered.
  await writer.write('/data/after', 'x');
  t.is((await writer.read('/data/after')).toString(), 'x');
});

test('xenstored.conf sets the bound with oxenstored\'s keys', (t) => {
  const limits = parseXenstoredConf('quota-maxoutstanding = 64\nquota-maxwatchevents = 512 # per connection\n', 'xenstored.conf');
  t.deepEqual(limits, { outstanding: 64, watchEvents: 512 });
  const xs = new XenStored({ quota: limits });
  t.is(queuedFrameLimit(xs.quota, 0), 576);
  xs.quota.set(null, 'watchEvents', 0);
  t.is(queuedFrameLimit(xs.quota, 0), 0, '0 lifts the bound, as for every quota');
});
