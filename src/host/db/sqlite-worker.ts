import { unlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { journalPath, listJournals } from './journal.js';
import { SqliteStore } from './sqlite-store.js';
import type { AppliedMessage, StoreFiles, ToWorker } from './sqlite-writer.js';

/**
 * The SQLite writer thread: applies journal batches to the database, off the main
 * thread's request path.
 *
 * Batches are applied in the turn after they arrive, all of them in one transaction:
 * while a transaction runs, new batches queue up on the port, so the busier the
 * daemon, the more each transaction carries (a write storm becomes a few large
 * transactions, not one per flush).
 *
 * When the batches cross into a newer journal file, the older files are retired:
 * that transaction commits with an fsync first, because until then a power cut could
 * take it back and the journal would be the only copy of what it applied.
 */

type Batch = Extract<ToWorker, { type: 'batch' }>;

// Requests come first: on Linux a nice value belongs to a thread, and
// setpriority(PRIO_PROCESS, 0) (what os.setPriority() calls) changes only the calling
// one, so this lowers the SQLite writer alone. On a busy two-core host it then takes
// the CPU the request path leaves, instead of stretching reply latencies.
try {
  setPriority(19);
} catch {
  // not permitted here; the writer just runs at normal priority
}

const port = parentPort!;
const { database, journalDir } = workerData as StoreFiles;
const store = SqliteStore.open(database);
let appliedSeq = store.applied().seq;
let queue: Batch[] = [];
let closing = false;
let scheduled = false;

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'close') closing = true;
  else queue.push(msg);
  if (!scheduled) {
    scheduled = true;
    setImmediate(drain);
  }
});

function drain(): void {
  scheduled = false;
  if (queue.length > 0) applyQueued();
  if (closing) {
    store.close();
    port.close();
  }
}

function applyQueued(): void {
  const batches = queue;
  queue = [];
  const last = batches[batches.length - 1]!;
  const retiring = last.seq > appliedSeq;
  const started = performance.now();
  let entries = 0;
  let bytes = 0;
  store.transaction(retiring, () => {
    for (const b of batches) {
      entries += store.applyFrames(Buffer.from(b.bytes, 0, b.length));
      bytes += b.length;
    }
    store.setPosition(last);
  });
  if (retiring) {
    for (const seq of listJournals(journalDir)) if (seq < last.seq) unlinkSync(journalPath(journalDir, seq));
    appliedSeq = last.seq;
  }
  const msg: AppliedMessage = {
    type: 'applied',
    seq: last.seq,
    offset: last.offset,
    bytes,
    entries,
    busyMs: performance.now() - started,
  };
  port.postMessage(msg);
}
