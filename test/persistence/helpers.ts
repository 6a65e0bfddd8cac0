import type { ExecutionContext } from 'ava';
import { mkdtempSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StorePersistence, type JournalWrite, type PersistenceOptions, type StoreFiles } from '../../src/host/db/index.js';
import type { NodeRecord } from '../../src/xenstore/database.js';

/** A fresh directory, removed when the test ends. Register it before anything that uses it. */
export function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'xenemu-persist-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Open a store that is closed when the test ends, if the test did not close it. */
export function openStore(t: ExecutionContext, where: string | StoreFiles, options?: PersistenceOptions): StorePersistence {
  const store = StorePersistence.open(where, options);
  t.teardown(() => store.close());
  return store;
}

/** Open, read every record, close: what a restarted daemon would load. */
export async function reload(where: string | StoreFiles): Promise<{ records: NodeRecord[]; store: StorePersistence }> {
  const store = StorePersistence.open(where);
  try {
    return { records: [...store.loadRecords()], store };
  } finally {
    await store.close();
  }
}

/** Records in path (byte) order, the order the store loads them in. */
export function inPathOrder(records: Iterable<NodeRecord>): NodeRecord[] {
  return [...records].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Every byte value, NUL and 0x80-0xff included, as a latin1 string. */
export const ALL_BYTES = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));

/** A journal write path whose disk can be made full (ENOSPC) and freed again. */
export class FillableDisk {
  /** While true, every write fails as write(2) on a full disk does. */
  full = false;
  /** Also fail the writes this picks (by length), whether full or not. */
  refuseIf: ((length: number) => boolean) | null = null;
  /** Writes refused so far. */
  refused = 0;

  readonly write: JournalWrite = (fd, buffer, offset, length) => {
    if (!this.full && this.refuseIf?.(length) !== true) return writeSync(fd, buffer, offset, length);
    this.refused++;
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
  };
}
