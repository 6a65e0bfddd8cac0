import test from 'ava';
import { engineTransport } from '../../src/kernel/engine-transport.js';
import { XsClient, type WatchEvent } from '../../src/protocol/xs-client.js';
import { XenStored } from '../../src/xenstore/xenstored.js';

/** A client on an in-process xenstored: every reply and event arrives synchronously. */
function client(): XsClient {
  return new XsClient(engineTransport(new XenStored()));
}

test('a watch\'s callback receives only its own events', async (t) => {
  const xs = client();
  const a: WatchEvent[] = [];
  const b: WatchEvent[] = [];
  await xs.watch('/a', 'ta', (e) => a.push(e));
  await xs.watch('/b', 'tb', (e) => b.push(e));
  await xs.write('/a/x', '1');
  await xs.write('/b/y', '2');
  t.deepEqual(a, [
    { path: '/a', token: 'ta' },
    { path: '/a/x', token: 'ta' },
  ]);
  t.deepEqual(b, [
    { path: '/b', token: 'tb' },
    { path: '/b/y', token: 'tb' },
  ]);
});

test('unwatch stops a watch\'s events and leaves the others', async (t) => {
  const xs = client();
  const a: string[] = [];
  const b: string[] = [];
  await xs.watch('/a', 'ta', (e) => a.push(e.path));
  await xs.watch('/b', 'tb', (e) => b.push(e.path));
  await xs.unwatch('/a', 'ta');
  await xs.write('/a/x', '1');
  await xs.write('/b/y', '2');
  t.deepEqual(a, ['/a']);
  t.deepEqual(b, ['/b', '/b/y']);
});

test('a token already naming another watch is refused, and a refused WATCH leaves no callback', async (t) => {
  const xs = client();
  await xs.watch('/a', 'tok', () => {});
  const err = await t.throwsAsync(xs.watch('/b', 'tok', () => {}));
  t.is((err as { errno?: string }).errno, 'EEXIST');
  const heard: string[] = [];
  await t.throwsAsync(xs.watch('not a path', 'bad', (e) => heard.push(e.path)));
  // The same token may now be used for a valid watch: the refused one left nothing behind.
  await xs.watch('/c', 'bad', (e) => heard.push(e.path));
  t.deepEqual(heard, ['/c']);
});

test('a depth-limited watch hears only its levels', async (t) => {
  const xs = client();
  const heard: string[] = [];
  await xs.watch('/d', 'td', (e) => heard.push(e.path), 1);
  await xs.write('/d/one', '1');
  await xs.write('/d/one/two', '2');
  t.deepEqual(heard, ['/d', '/d/one']);
});
