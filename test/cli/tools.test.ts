import test from 'ava';
import { chmodKey, readKeys, rmKeys, writePairs } from '../../src/client/xenstore-tools.js';
import { XsClient, XsRequestError } from '../../src/protocol/xs-client.js';
import { connectXsClient } from '../../src/client/xs-socket.js';
import { startTarget, type XenstoredTarget } from '../helpers/xenstored-target.js';

// The tool layer in-process: transactions, the EAGAIN retry, and all-or-nothing.

let target: XenstoredTarget;
let client: XsClient;
let other: XsClient;

test.before(async () => {
  target = await startTarget('tools');
  client = await connectXsClient(target.socket);
  other = await connectXsClient(target.socket);
  await client.rm('/xr').catch(() => {});
});

test.after.always(async () => {
  client?.close();
  other?.close();
  await target?.dispose();
});

/**
 * A client whose first commit loses a race: another connection writes `path`, and
 * the commit answers EAGAIN (daemons differ in what they call a conflict, oxenstored
 * lets read-only transactions through, so the answer is made here). Counts the
 * transactions started.
 */
function racingClient(path: string): { c: XsClient; starts: () => number } {
  let starts = 0;
  let raced = false;
  const c = Object.create(client) as XsClient;
  c.transactionStart = async () => {
    starts++;
    return client.transactionStart();
  };
  c.transactionEnd = async (tx, commit) => {
    if (commit && !raced) {
      raced = true;
      await other.write(path, 'from the other side');
      await client.transactionEnd(tx, false);
      throw new XsRequestError('EAGAIN', 'TRANSACTION_END');
    }
    return client.transactionEnd(tx, commit);
  };
  return { c, starts: () => starts };
}

test.serial('a write of several pairs that loses a race is done again (EAGAIN)', async (t) => {
  const { c, starts } = racingClient('/xr/w/a');
  const r = await writePairs(c, [
    ['/xr/w/a', Buffer.from('1')],
    ['/xr/w/b', Buffer.from('2')],
  ]);
  t.deepEqual(r, { written: [{ path: '/xr/w/a', bytes: 1 }, { path: '/xr/w/b', bytes: 1 }] });
  t.is(starts(), 2);
  t.is((await client.read('/xr/w/a')).toString(), '1');
});

test.serial('a read of several keys that loses a race reports the values of the retry', async (t) => {
  await client.write('/xr/r/a', 'before');
  await client.write('/xr/r/b', 'b');
  const { c, starts } = racingClient('/xr/r/a');
  const r = await readKeys(c, ['/xr/r/a', '/xr/r/b']);
  t.is(starts(), 2);
  t.deepEqual(
    r.entries.map((e) => e.value),
    ['from the other side', 'b'],
  );
});

test.serial('one bad pair writes nothing: the transaction is aborted', async (t) => {
  const r = await writePairs(client, [
    ['/xr/ab/ok', Buffer.from('1')],
    ['/xr/ab/bad key', Buffer.from('2')],
  ]);
  t.deepEqual(r.error, { message: 'could not write path /xr/ab/bad key', path: '/xr/ab/bad key', errno: 'EINVAL' });
  t.is(await client.read('/xr/ab/ok').catch(() => null), null);
});

test.serial('chmod -u that fails half way leaves every node as it was', async (t) => {
  await client.write('/local/domain/0/xr/c/d', '1');
  const r = await chmodKey(client, 'xr/c/d', ['n7'], { upto: true, recurse: false });
  t.deepEqual(r.changed, ['xr/c/d', 'xr/c', 'xr']);
  t.is(r.error?.message, "Unable to locate path separator '/' in 'xr'");
  t.deepEqual(await client.getPerms('/local/domain/0/xr/c/d'), ['n0']);
  await client.rm('/local/domain/0/xr');
});

test.serial('rm -t stops at a parent with a value or other children', async (t) => {
  await client.write('/xr/t/a/b/c', '1');
  await client.write('/xr/t/v', 'kept');
  const r = await rmKeys(client, ['/xr/t/a/b/c'], true);
  t.deepEqual(r, { removed: ['/xr/t/a/b/c', '/xr/t/a/b', '/xr/t/a'] });
  t.deepEqual(await client.directory('/xr/t'), ['v']);
});
