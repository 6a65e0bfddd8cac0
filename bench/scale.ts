/**
 * A store of 1,000,000 nodes: how long xenemu takes to come back after a restart, how
 * much memory it holds, and READ / DIRECTORY latency at that size, beside the real
 * oxenstored holding the same tree (filled the same way, over its socket).
 *
 *   node --import tsx bench/scale.ts [--domains 1000] [--keys 1000] [--samples 20000]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { XsClient } from '../src/protocol/xs-client.js';
import { connectXsClient } from '../src/client/xs-socket.js';
import { startPeer } from './lib/peer.js';
import { machine, median, percentile, table } from './lib/stats.js';
import { startXenemu, stopXenemu } from './lib/xenemu-host.js';

const { values } = parseArgs({
  options: {
    domains: { type: 'string', default: '1000' },
    keys: { type: 'string', default: '1000' },
    samples: { type: 'string', default: '20000' },
  },
});
const domains = Number(values.domains);
const keys = Number(values.keys);
const samples = Number(values.samples);

/** Fill /local/domain/<d>/data/<k> with up to `window` writes in flight. */
async function fill(socket: string): Promise<number> {
  const xs = await connectXsClient(socket);
  const start = process.hrtime.bigint();
  const window = 256;
  let next = 0;
  const total = domains * keys;
  await Promise.all(
    Array.from({ length: window }, async () => {
      for (let i = next++; i < total; i = next++) {
        const d = Math.floor(i / keys);
        await xs.write(`/local/domain/${d}/data/${i % keys}`, `value of ${i}`);
      }
    }),
  );
  xs.close();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Round-trip latencies in µs of sequential requests. */
async function latencies(socket: string, op: (xs: XsClient, rand: () => number) => Promise<unknown>): Promise<number[]> {
  const xs = await connectXsClient(socket);
  const rand = lcg(7);
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = process.hrtime.bigint();
    await op(xs, rand);
    out.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  xs.close();
  return out;
}

const read = (xs: XsClient, rand: () => number) =>
  xs.read(`/local/domain/${Math.floor(rand() * domains)}/data/${Math.floor(rand() * keys)}`);
const dirSmall = (xs: XsClient, rand: () => number) => xs.directory(`/local/domain/${Math.floor(rand() * domains)}`);
const dirLarge = (xs: XsClient, rand: () => number) => xs.directory(`/local/domain/${Math.floor(rand() * domains)}/data`);

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

const peer = startPeer('xenemu-scale');
const xenemu = await startXenemu();
try {
  const nodes = domains * keys;
  const fillXe = await fill(xenemu.paths.socket);
  const fillOx = await fill(peer.socket);

  await xenemu.stop();
  const t0 = process.hrtime.bigint();
  await xenemu.restart();
  const loadSeconds = Number(process.hrtime.bigint() - t0) / 1e9;

  const rows: Array<Array<string | number>> = [];
  for (const [name, op] of [
    ['READ', read],
    ['DIRECTORY (3 children)', dirSmall],
    [`DIRECTORY (${keys} children)`, dirLarge],
  ] as const) {
    const ox = await latencies(peer.socket, op);
    const xe = await latencies(xenemu.paths.socket, op);
    rows.push([name, median(ox).toFixed(1), median(xe).toFixed(1), percentile(ox, 99).toFixed(1), percentile(xe, 99).toFixed(1), (median(xe) / median(ox)).toFixed(2)]);
  }
  console.log(`scale: ${nodes.toLocaleString('en')} nodes under /local/domain/<0..${domains - 1}>/data/<0..${keys - 1}>`);
  console.log(`machine: ${machine()}`);
  console.log(`fill over the socket (256 writes in flight): xenemu ${fillXe.toFixed(1)} s, oxenstored ${fillOx.toFixed(1)} s`);
  console.log(`xenemu restart to serving (recovery + load): ${loadSeconds.toFixed(2)} s`);
  console.log(`RSS: xenemu ${(rssOf(xenemu.pid()) / 2 ** 20).toFixed(0)} MiB, oxenstored ${(rssOf(peer.pid()) / 2 ** 20).toFixed(0)} MiB`);
  console.log(table(['request (latency µs)', 'ox median', 'xe median', 'ox p99', 'xe p99', 'ratio'], rows));
} finally {
  await stopXenemu(xenemu);
  peer.stop();
}
