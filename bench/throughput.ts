/**
 * Throughput with concurrent socket clients doing a read/write mix, xenemu against the
 * real oxenstored in the same run (alternating rounds). The load comes from a C client
 * (bench/tools/xs-load.c) forking one process per connection, each with one request in
 * flight as libxenstore users have, so the load generator costs less than the daemons.
 *
 *   node --import tsx bench/throughput.ts [--clients 16] [--ops 5000] [--rounds 7] [--writes 20] [--keys 1000]
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { connectXsClient } from '../src/client/xs-socket.js';
import { cTool } from './lib/c-tools.js';
import { startPeer } from './lib/peer.js';
import { machine, median, table } from './lib/stats.js';
import { startXenemu, stopXenemu } from './lib/xenemu-host.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '16' },
    ops: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '7' },
    writes: { type: 'string', default: '20' },
    keys: { type: 'string', default: '1000' },
  },
});
const [clients, ops, rounds, writes, keys] = [values.clients!, values.ops!, values.rounds!, values.writes!, values.keys!];
const load = cTool('xs-load');

async function prepare(socket: string): Promise<void> {
  const xs = await connectXsClient(socket);
  await xs.rm('/bench').catch(() => {});
  await Promise.all(Array.from({ length: Number(keys) }, (_, i) => xs.write(`/bench/k${i}`, `value-${i}`)));
  xs.close();
}

function round(socket: string): number {
  return Number(execFileSync(load, [socket, clients, ops, keys, writes], { encoding: 'utf8' }).trim());
}

const peer = startPeer();
const xenemu = await startXenemu();
try {
  await prepare(peer.socket);
  await prepare(xenemu.paths.socket);
  round(xenemu.paths.socket); // warm up the JIT; oxenstored is compiled ahead of time
  const ox: number[] = [];
  const xe: number[] = [];
  for (let r = 0; r < Number(rounds); r++) {
    if (r % 2 === 0) {
      ox.push(round(peer.socket));
      xe.push(round(xenemu.paths.socket));
    } else {
      xe.push(round(xenemu.paths.socket));
      ox.push(round(peer.socket));
    }
  }
  console.log(`throughput: ${clients} clients x ${ops} requests, ${100 - Number(writes)}% READ / ${writes}% WRITE over ${keys} keys, ${rounds} alternating rounds`);
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
