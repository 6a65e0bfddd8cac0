/**
 * Persistence benchmarks: `node --import tsx bench/persistence.ts [nodes]`.
 *
 *  - flush: the per-turn cost the daemon pays before replying (append of each
 *    request's change, then one flush), for 1, 16 and 256 requests per turn;
 *  - worker: how fast the SQLite worker applies a write storm (changes per second of
 *    its busy time, and wall time until SQLite caught up);
 *  - recovery: replaying a journal SQLite never saw, as after a kill -9;
 *  - load: open + loadRecords + Database.load of a big store (default 1,000,000
 *    nodes under /local/domain/<d>/data/<k>), and the RSS afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../src/host/db/journal.js';
import { StorePersistence, type Durability } from '../src/host/db/index.js';
import type { Change } from '../src/xenstore/store.js';
import { XenStored } from '../src/xenstore/xenstored.js';

const NODES = Number(process.argv[2] ?? 1_000_000);
const DOMAINS = 1000;
const rows: string[][] = [];

function row(...cells: Array<string | number>): void {
  rows.push(cells.map(String));
}

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

/** A request's worth of change, shaped like a frontend writing its state node. */
function change(i: number): Change {
  return { op: 'set', path: `/local/domain/${i % 64}/device/vif/${i % 8}/state`, value: String(i % 7), perms: `n${i % 64},r0` };
}

function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'xenemu-bench-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

async function benchFlush(durability: Durability, batch: number, turns: number): Promise<void> {
  await withDir(async (dir) => {
    const store = StorePersistence.open(dir, { durability });
    const changes = Array.from({ length: batch }, (_, i) => [change(i)]);
    const appendNs = new Float64Array(turns);
    const flushNs = new Float64Array(turns);
    for (let t = 0; t < turns; t++) {
      const a = process.hrtime.bigint();
      for (const c of changes) store.append(c);
      const f = process.hrtime.bigint();
      store.flush();
      const e = process.hrtime.bigint();
      appendNs[t] = Number(f - a);
      flushNs[t] = Number(e - f);
      // Let the hand-off timer and the worker run as they would between turns.
      if (t % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
    }
    await store.close();
    flushNs.sort();
    const mean = flushNs.reduce((s, x) => s + x, 0) / turns;
    const appendPer = appendNs.reduce((s, x) => s + x, 0) / turns / batch;
    row(
      `flush ${durability}`,
      `${batch} req/turn`,
      `${(mean / 1e3).toFixed(1)} µs/turn`,
      `p50 ${(percentile(flushNs, 0.5) / 1e3).toFixed(1)} µs, p99 ${(percentile(flushNs, 0.99) / 1e3).toFixed(1)} µs`,
      `append ${(appendPer / 1e3).toFixed(2)} µs/req`,
    );
  });
}

async function benchWorker(total: number, batch: number): Promise<void> {
  await withDir(async (dir) => {
    const store = StorePersistence.open(dir);
    const start = process.hrtime.bigint();
    for (let i = 0; i < total; i++) {
      store.append([{ op: 'set', path: `/local/domain/${i % DOMAINS}/data/${i % 5000}`, value: `v${i}`, perms: 'n0' }]);
      if (i % batch === batch - 1) {
        store.flush();
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    store.flush();
    const written = ms(start);
    await store.sync();
    const wall = ms(start);
    const s = store.stats();
    await store.close();
    row(
      'worker apply',
      `${total} changes`,
      `${Math.round(s.sqliteEntries / (s.sqliteBusyMs / 1e3))} changes/s busy`,
      `${s.sqliteTransactions} transactions, ${Math.round(s.sqliteBusyMs)} ms busy`,
      `caught up ${Math.round(wall - written)} ms after the last flush (${Math.round(wall)} ms total)`,
    );
  });
}

async function benchRecovery(total: number): Promise<void> {
  await withDir(async (dir) => {
    // The journal a daemon killed before its worker applied anything would leave: it
    // continues the (empty) database the first start made, from the file that start began.
    const first = StorePersistence.open(dir);
    await first.close();
    const journal = Journal.create(dir, 2, first.stats().journalBytes, 'write', first.recovery.storeId);
    for (let i = 0; i < total; i++) {
      journal.append([{ op: 'set', path: `/local/domain/${i % DOMAINS}/data/${i}`, value: `v${i}`, perms: 'n0' }]);
      if (i % 64 === 63) journal.flush();
    }
    journal.flush();
    journal.close();
    const start = process.hrtime.bigint();
    const store = StorePersistence.open(dir);
    const took = ms(start);
    await store.close();
    row('recovery replay', `${total} changes`, `${Math.round(took)} ms`, `${((took * 1e3) / total).toFixed(2)} µs/change`, '');
  });
}

async function benchLoad(nodes: number): Promise<void> {
  await withDir(async (dir) => {
    const perDomain = Math.ceil(nodes / DOMAINS);
    const build = process.hrtime.bigint();
    const writer = StorePersistence.open(dir, { rotateBytes: 64 * 1024 * 1024 });
    writer.append([{ op: 'set', path: '/local', value: '', perms: 'n0' }, { op: 'set', path: '/local/domain', value: '', perms: 'n0' }]);
    let count = 2;
    for (let d = 0; d < DOMAINS && count < nodes; d++) {
      const home = `/local/domain/${d}`;
      writer.append([{ op: 'set', path: home, value: '', perms: `n${d}` }, { op: 'set', path: `${home}/data`, value: '', perms: `n${d}` }]);
      count += 2;
      for (let k = 0; k < perDomain && count < nodes; k++, count++) {
        writer.append([{ op: 'set', path: `${home}/data/${k}`, value: `value ${k}`, perms: `n${d}` }]);
      }
      writer.flush();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await writer.close();
    const built = ms(build);

    const readStart = process.hrtime.bigint();
    const reader = StorePersistence.open(dir);
    let read = 0;
    for (const _record of reader.loadRecords()) read++;
    const readMs = ms(readStart);
    await reader.close();

    const start = process.hrtime.bigint();
    const store = StorePersistence.open(dir);
    const xs = new XenStored();
    xs.db.load(store.loadRecords());
    const loaded = ms(start);
    await store.close();
    (globalThis as { gc?: () => void }).gc?.();
    const rss = process.memoryUsage.rss();
    row(
      'load',
      `${xs.db.counts.total} nodes`,
      `${Math.round(loaded)} ms`,
      `SQLite read of ${read} records alone ${Math.round(readMs)} ms`,
      `RSS ${Math.round(rss / 1048576)} MiB after load; building the store took ${Math.round(built)} ms`,
    );
  });
}

for (const batch of [1, 16, 256]) await benchFlush('write', batch, batch === 256 ? 2000 : 20000);
for (const batch of [1, 16, 256]) await benchFlush('fsync', batch, 300);
await benchWorker(500_000, 256);
await benchWorker(200_000, 1);
await benchRecovery(200_000);
await benchLoad(NODES);

const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
