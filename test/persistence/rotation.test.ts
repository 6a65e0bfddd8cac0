import test from 'ava';
import { listJournals } from '../../src/host/db/journal.js';
import type { NodeRecord } from '../../src/xenstore/database.js';
import { inPathOrder, openStore, reload, tempDir } from './helpers.js';

test('the journal rotates past its size limit, applied files are deleted, and the store reloads equal', async (t) => {
  const dir = tempDir(t);
  const store = openStore(t, dir, { rotateBytes: 4096, handOffBytes: 1024 });
  const model = new Map<string, NodeRecord>();
  for (let i = 0; i < 2000; i++) {
    const path = `/local/domain/${i % 7}/data/${i % 300}`;
    if (i % 50 === 49) {
      store.append([{ op: 'rm', path: `/local/domain/${i % 7}/data` }]);
      for (const p of model.keys()) if (p.startsWith(`/local/domain/${i % 7}/data/`)) model.delete(p);
    } else {
      const record = { path, value: `${i}\xff\0`, perms: `n${i % 7}` };
      store.append([{ op: 'set', ...record }]);
      model.set(path, record);
    }
    if (i % 10 === 9) store.flush();
  }
  store.flush();
  const seq = store.stats().journalSeq;
  t.true(seq > 10, `rotated to journal.${seq}`);

  await store.sync();
  t.deepEqual(listJournals(dir), [seq], 'files SQLite applied are gone');
  await store.close();

  const { records } = await reload(dir);
  t.deepEqual(records, inPathOrder(model.values()));
});

test('a store closed in the middle of rotated, unapplied journals reloads equal', async (t) => {
  // handOffMs is long and handOffBytes large, so only rotation hands bytes over: the
  // worker lags behind by whole files until close.
  const dir = tempDir(t);
  const store = openStore(t, dir, { rotateBytes: 2048, handOffBytes: 1 << 30, handOffMs: 60_000 });
  const expected: NodeRecord[] = [{ path: '/r', value: '', perms: 'n0' }];
  store.append([{ op: 'set', ...expected[0]! }]);
  for (let i = 0; i < 500; i++) {
    const record = { path: `/r/${String(i).padStart(4, '0')}`, value: 'x'.repeat(i % 40), perms: 'n0' };
    store.append([{ op: 'set', ...record }]);
    expected.push(record);
    store.flush();
  }
  await store.close();
  const { records } = await reload(dir);
  t.deepEqual(records, expected);
});
