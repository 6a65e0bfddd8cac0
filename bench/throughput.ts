/**
 * Throughput with concurrent socket clients doing a read/write mix, xenemu against the
 * real oxenstored in the same run (alternating rounds), each client with one request
 * in flight at a time as libxenstore users have.
 *
 *   node --import tsx bench/throughput.ts [--clients 16] [--ops 4000] [--rounds 5] [--writes 20]
 */
import { parseArgs } from 'node:util';
import { XsClient } from '../src/client/xs-client.js';
import { startPeer } from './lib/peer.js';
import { machine, median, table } from './lib/stats.js';
import { startXenemu, stopXenemu } from './lib/xenemu-host.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '16' },
    ops: { type: 'string', default: '4000' },
    rounds: { type: 'string', default: '5' },
    writes: { type: 'string', default: '20' },
    keys: { type: 'string', default: '1000' },
  },
});
const clients = Number(values.clients);
const opsPerClient = Number(values.ops);
const rounds = Number(values.rounds);
const writePercent = Number(values.writes);
const keys = Number(values.keys);

/** A deterministic generator, so both daemons get the very same request sequence. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

async function prepare(socket: string): Promise<void> {
  const xs = await XsClient.connect(socket);
  await xs.rm('/bench').catch(() => {});
  await Promise.all(Array.from({ length: keys }, (_, i) => xs.write(`/bench/k${i}`, `value-${i}`)));
  xs.close();
}

/** Requests per second over all clients. */
async function round(socket: string): Promise<number> {
  const conns = await Promise.all(Array.from({ length: clients }, () => XsClient.connect(socket)));
  const start = process.hrtime.bigint();
  await Promise.all(
    conns.map(async (xs, c) => {
      const rand = lcg(c + 1);
      for (let i = 0; i < opsPerClient; i++) {
        const key = `/bench/k${Math.floor(rand() * keys)}`;
        if (rand() * 100 < writePercent) await xs.write(key, `w${i}`);
        else await xs.read(key);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  for (const xs of conns) xs.close();
  return (clients * opsPerClient) / seconds;
}

const peer = startPeer();
const xenemu = await startXenemu();
try {
  await prepare(peer.socket);
  await prepare(xenemu.paths.socket);
  const ox: number[] = [];
  const xe: number[] = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      ox.push(await round(peer.socket));
      xe.push(await round(xenemu.paths.socket));
    } else {
      xe.push(await round(xenemu.paths.socket));
      ox.push(await round(peer.socket));
    }
  }
  console.log(`throughput: ${clients} clients x ${opsPerClient} requests, ${100 - writePercent}% READ / ${writePercent}% WRITE over ${keys} keys, ${rounds} alternating rounds`);
  console.log(`machine: ${machine()}`);
  console.log(
    table(
      ['daemon', 'median req/s', 'min', 'max'],
      [
        ['oxenstored', Math.round(median(ox)), Math.round(Math.min(...ox)), Math.round(Math.max(...ox))],
        ['xenemu', Math.round(median(xe)), Math.round(Math.min(...xe)), Math.round(Math.max(...xe))],
      ],
    ),
  );
  console.log(`ratio xenemu/oxenstored: ${(median(xe) / median(ox)).toFixed(2)} (target >= 1.00)`);
} finally {
  await stopXenemu(xenemu);
  peer.stop();
}
