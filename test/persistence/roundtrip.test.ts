import test from 'ava';
import fc from 'fast-check';
import { deepStrictEqual } from 'node:assert';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { StorePersistence } from '../../src/host/db/index.js';
import { XsType } from '../../src/protocol/xs-wire.js';
import { XenStored } from '../../src/xenstore/xenstored.js';
import type { NodeRecord } from '../../src/xenstore/database.js';
import type { Change } from '../../src/xenstore/store.js';
import { EngineClient, newEngine } from '../helpers/engine.js';
import { ALL_BYTES, inPathOrder, openStore, reload, tempDir } from './helpers.js';

test('a new state dir loads no records and starts journal.1', async (t) => {
  const dir = tempDir(t);
  const store = openStore(t, join(dir, 'fresh'));
  t.deepEqual([...store.loadRecords()], []);
  t.is(store.stats().journalSeq, 1);
  t.is(store.recovery.frames, 0);
  await store.close();
  t.deepEqual(readdirSync(join(dir, 'fresh')).sort(), ['journal.1', 'xenstore.db']);
});

test('records survive close and reopen byte for byte, binary values included', async (t) => {
  const dir = tempDir(t);
  const store = openStore(t, dir);
  const long = ALL_BYTES.repeat(16);
  store.append([
    { op: 'set', path: '/bin', value: ALL_BYTES, perms: 'n0' },
    { op: 'set', path: '/bin/nul', value: '\0', perms: 'n0,r5' },
    { op: 'set', path: '/bin/high', value: '\x80\xff\xfe', perms: 'b3,n0' },
    { op: 'set', path: '/bin/long', value: long, perms: 'n0' },
    { op: 'set', path: '/empty', value: '', perms: 'n0' },
  ]);
  store.flush();
  store.append([{ op: 'set', path: '/empty', value: 'now set', perms: 'r1' }]);
  store.append([{ op: 'set', path: '/gone', value: 'x', perms: 'n0' }]);
  store.append([{ op: 'rm', path: '/gone' }]);
  store.flush();
  await store.close();

  const { records } = await reload(dir);
  t.deepEqual(records, [
    { path: '/bin', value: ALL_BYTES, perms: 'n0' },
    { path: '/bin/high', value: '\x80\xff\xfe', perms: 'b3,n0' },
    { path: '/bin/long', value: long, perms: 'n0' },
    { path: '/bin/nul', value: '\0', perms: 'n0,r5' },
    { path: '/empty', value: 'now set', perms: 'r1' },
  ]);
});

test('appended changes that were never flushed by the caller are written by close', async (t) => {
  const dir = tempDir(t);
  const store = openStore(t, dir);
  store.append([{ op: 'set', path: '/late', value: 'v', perms: 'n0' }]);
  await store.close();
  t.deepEqual((await reload(dir)).records, [{ path: '/late', value: 'v', perms: 'n0' }]);
});

test('rm removes the subtree from SQLite but not siblings that share a prefix', async (t) => {
  const dir = tempDir(t);
  const store = openStore(t, dir);
  const paths = ['/a', '/a/b', '/a/b/c', '/a-b', '/a-b/c', '/a0', '/ab', '/b'];
  store.append(paths.map((path): Change => ({ op: 'set', path, value: path, perms: 'n0' })));
  store.flush();
  // Applied to SQLite before the rm, so the rm has rows to delete there.
  await store.sync();
  store.append([{ op: 'rm', path: '/a' }]);
  await store.close();
  t.deepEqual(
    (await reload(dir)).records.map((r) => r.path),
    ['/a-b', '/a-b/c', '/a0', '/ab', '/b'],
  );
});

test('meta settings survive reopen, and null deletes one', async (t) => {
  const dir = tempDir(t);
  const store = openStore(t, dir);
  store.setMeta('quota/5', '{"nodes":100}');
  store.setMeta('name', 'dom€');
  store.setMeta('drop', 'x');
  store.setMeta('drop', null);
  t.is(store.getMeta('name'), 'dom€');
  t.is(store.getMeta('drop'), undefined);
  await store.close();

  const again = openStore(t, dir);
  t.is(again.getMeta('quota/5'), '{"nodes":100}');
  t.is(again.getMeta('name'), 'dom€');
  t.is(again.getMeta('drop'), undefined);
});

test('the database and the journal may live in different directories', async (t) => {
  const dir = tempDir(t);
  const files = { database: join(dir, 'state.db'), journalDir: join(dir, 'journal') };
  const store = openStore(t, files);
  store.append([{ op: 'set', path: '/x', value: '1', perms: 'n0' }]);
  await store.close();
  t.deepEqual(readdirSync(join(dir, 'journal')), ['journal.1']);
  t.deepEqual((await reload(files)).records, [{ path: '/x', value: '1', perms: 'n0' }]);
});

test('stats report the journal and how far SQLite got', async (t) => {
  const dir = tempDir(t);
  const store = openStore(t, dir);
  store.append([{ op: 'set', path: '/s', value: 'v', perms: 'n0' }]);
  store.flush();
  const before = store.stats();
  t.true(before.unappliedBytes > 0);
  const pos = await store.sync();
  const after = store.stats();
  t.deepEqual({ seq: after.appliedSeq, offset: after.appliedOffset }, pos);
  t.is(after.appliedOffset, after.journalBytes);
  t.is(after.unappliedBytes, 0);
  t.is(after.sqliteEntries, 1);
  t.is(after.writer, 'running');
  await store.close();
  t.is(store.stats().writer, 'closed');
});

/** The store's nodes in path order (dump() follows insertion order, which is not state). */
function nodes(xs: XenStored): NodeRecord[] {
  return inPathOrder(xs.db.dump());
}

/** Persist everything an engine does, reload it into a fresh engine, and compare the stores. */
async function engineRoundTrip(dir: string, drive: (c: EngineClient) => void): Promise<{ before: XenStored; after: XenStored }> {
  const store = StorePersistence.open(dir);
  let before: XenStored;
  try {
    before = newEngine({ onChanges: (changes) => store.append(changes) });
    drive(new EngineClient(before));
  } finally {
    await store.close();
  }
  const after = new XenStored();
  after.db.load((await reload(dir)).records);
  return { before, after };
}

test('a store built by the engine reloads identically, transactions and permissions included', async (t) => {
  const dir = tempDir(t);
  const { before, after } = await engineRoundTrip(dir, (c) => {
    c.write('/local/domain/1/name', 'guest');
    c.write('/local/domain/1/data/blob', ALL_BYTES);
    c.ask(XsType.SET_PERMS, '/local/domain/1\0n1\0r0\0');
    c.ask(XsType.MKDIR, '/local/domain/1/device/vbd/51712\0');
    const tx = c.start();
    c.write('/local/domain/1/device/vbd/51712/state', '1', tx);
    c.write('/local/domain/1/device/vbd/51712/backend', '/local/domain/0/backend/vbd/1/51712', tx);
    c.end(tx);
    c.write('/tmp/a/b', 'x');
    c.ask(XsType.RM, '/tmp\0');
    c.ask(XsType.SET_PERMS, '/\0n0\0r3\0');
  });
  t.deepEqual(nodes(after), nodes(before));
  t.true(after.db.verifyCounts());
});

test('any sequence of engine requests reloads identically', async (t) => {
  const dir = tempDir(t);
  const name = fc.constantFrom('a', 'b', 'a-b', 'a0');
  const path = fc.array(name, { minLength: 1, maxLength: 3 }).map((names) => `/${names.join('/')}`);
  const request = fc.oneof(
    fc.record({ kind: fc.constant('write' as const), path, value: fc.string({ maxLength: 8 }).map((s) => s + '\xff\0') }),
    fc.record({ kind: fc.constant('rm' as const), path }),
    fc.record({ kind: fc.constant('perms' as const), path, perms: fc.constantFrom('n0\0', 'r0\0b1\0', 'n2\0r1\0') }),
  );
  let run = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(request, { maxLength: 30 }), async (requests) => {
      const { before, after } = await engineRoundTrip(join(dir, `run${run++}`), (c) => {
        for (const r of requests) {
          if (r.kind === 'write') c.write(r.path, r.value);
          else if (r.kind === 'rm') c.ask(XsType.RM, `${r.path}\0`);
          else c.ask(XsType.SET_PERMS, `${r.path}\0${r.perms}`);
        }
      });
      deepStrictEqual(nodes(after), nodes(before));
    }),
    { numRuns: 12 },
  );
  t.pass();
});
