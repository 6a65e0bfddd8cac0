import test from 'ava';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { RpcClient } from '../../src/client/rpc-client.js';
import { connectXsClient } from '../../src/client/xs-socket.js';
import { MIN_INTERVAL_MS, STATS_EVENT } from '../../src/protocol/stats.js';
import { encodeMessage, XsType } from '../../src/protocol/xs-wire.js';
import { startHost } from '../helpers/daemon.js';

/**
 * Issue 8's soak: a daemon with clients that never read (a watcher with 50 watches, a
 * `top` stopped with Ctrl-Z) while a writer does tens of thousands of writes. Nothing
 * here waits for time to pass: the load is a number of writes, and the subscribers'
 * share is measured in frames a reading subscriber has received meanwhile.
 */
const WRITES = 30_000;
const IN_FLIGHT = 1;
const WATCHES = 50;
const STUCK_SUBSCRIBERS = 20;
/** Frames the reading subscriber must see, so the stuck ones were pushed as many. */
const FRAMES = 30;
const RSS_SLACK_MB = 50;

function rssMB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

async function rawSocket(path: string): Promise<Socket> {
  const socket = connect(path);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => {});
  socket.pause();
  return socket;
}

test('clients that never read neither grow the daemon nor hold up a writer', async (t) => {
  const host = await startHost();
  const clients: Array<{ destroy(): void }> = [];
  t.teardown(async () => {
    for (const c of clients) c.destroy();
    await host.dispose();
  });
  const writer = await connectXsClient(host.paths.socket);
  clients.push({ destroy: () => writer.close() });
  const writeAll = async (count: number, prefix: string): Promise<number> => {
    let next = 0;
    let acked = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        for (let i = next++; i < count; i = next++) {
          await writer.write(`${prefix}/k${i % 1000}`, `value ${i}`);
          acked++;
        }
      }),
    );
    return acked;
  };
  // Warm up (code compiled, heap sized) before taking the starting figure.
  await writeAll(20_000, '/soak');

  const watcher = await rawSocket(host.paths.socket);
  clients.push(watcher);
  for (let i = 0; i < WATCHES; i++) watcher.write(encodeMessage(XsType.WATCH, i + 1, 0, `/soak\0w${i}\0`));
  for (let i = 0; i < STUCK_SUBSCRIBERS; i++) {
    const top = await rawSocket(host.paths.control);
    clients.push(top);
    top.write(`${JSON.stringify({ id: 1, method: 'stats.subscribe', params: { intervalMs: MIN_INTERVAL_MS, vcpuTimes: true } })}\n`);
  }
  const reader = await RpcClient.connect(host.paths.control);
  clients.push({ destroy: () => reader.close() });
  let frames = 0;
  reader.onEvent(STATS_EVENT, () => frames++);
  await reader.call('stats.subscribe', { intervalMs: MIN_INTERVAL_MS });
  const start = rssMB(host.pid());

  // Every write fires the watcher's 50 watches.
  let acked = await writeAll(WRITES, '/soak');
  while (frames < FRAMES) acked += await writeAll(1000, '/soak');
  const end = rssMB(host.pid());
  t.log(`daemon RSS ${start.toFixed(0)} MB -> ${end.toFixed(0)} MB after ${acked} writes (${acked * WATCHES} watch events for the stuck watcher) and ${frames} stats frames`);

  t.true(acked >= WRITES, 'every write was acknowledged');
  const log = readFileSync(host.paths.log, 'utf8');
  t.regex(log, /socket client A\d+: \d+ replies and watch events unread \(quota-maxoutstanding \+ quota-maxwatchevents = 2048\), closing/);
  t.true(end - start < RSS_SLACK_MB, `RSS grew from ${start.toFixed(0)} MB to ${end.toFixed(0)} MB`);
});
