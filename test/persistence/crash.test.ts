import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { XenStored } from '../../src/xenstore/xenstored.js';
import { reload, tempDir } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STORM = fileURLToPath(new URL('./fixtures/write-storm.ts', import.meta.url));

/**
 * Run the write storm from `first` on, SIGKILL it once `count` acknowledgements have
 * been read, and return them. The kill lands wherever the child is by then: in a
 * flush, between turns, with the SQLite worker behind or mid-transaction.
 */
async function stormUntilKilled(t: ExecutionContext, dir: string, first: number, count: number): Promise<number[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', STORM, dir, String(first)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = once(child, 'exit');
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const acked: number[] = [];
  for await (const line of createInterface({ input: child.stdout })) {
    acked.push(Number(line));
    if (acked.length === count) {
      child.kill('SIGKILL');
      break;
    }
  }
  const [, signal] = await exited;
  t.is(signal, 'SIGKILL', `the storm ended by itself: ${stderr}`);
  return acked;
}

test('every acknowledged write survives kill -9 of the writer, twice in a row', async (t) => {
  const dir = tempDir(t);
  const acked = await stormUntilKilled(t, dir, 0, 4000);
  // The second run recovers the first one's journal, then dies in its own storm.
  acked.push(...(await stormUntilKilled(t, dir, 1_000_000, 4000)));

  const { records } = await reload(dir);
  const stored = new Map(records.map((r) => [r.path, r.value]));
  const missing = acked.filter((n) => stored.get(`/storm/${n}`) !== String(n));
  t.deepEqual(missing, [], 'acknowledged but lost');

  // Transactions come back whole: a pair exactly when its odd node.
  for (const r of records) {
    const m = /^\/storm\/([0-9]+)$/.exec(r.path);
    if (m === null) continue;
    const n = Number(m[1]);
    if (stored.has(`${r.path}/pair`) !== (n % 2 === 1)) t.fail(`transaction ${n} came back torn`);
  }
  // And the records form a tree the engine can load.
  t.notThrows(() => new XenStored().db.load(records));
});
