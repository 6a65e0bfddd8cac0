import test from 'ava';
import { join } from 'node:path';
import { SqliteWriter } from '../../src/host/db/sqlite-writer.js';
import { tempDir } from './helpers.js';

test('a failing SQLite worker is reported, and close and sync reject with its error', async (t) => {
  const dir = tempDir(t);
  const errors: Error[] = [];
  const writer = new SqliteWriter({ database: join(dir, 'x.db'), journalDir: dir }, { seq: 1, offset: 16 }, (err) => errors.push(err));
  // A frame whose only entry has an unknown type: the worker must fail, not skip it.
  const frame = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 99]);
  const bytes = frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.length);
  writer.post({ bytes, length: frame.length, end: { seq: 1, offset: 16 + frame.length } });
  const err = await t.throwsAsync(writer.whenApplied(), { message: /unknown entry type 99/ });
  t.deepEqual(errors, [err]);
  t.is(writer.stats().error, err);
  await t.throwsAsync(writer.close(), { is: err });
});
