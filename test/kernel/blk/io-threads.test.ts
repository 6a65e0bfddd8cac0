/**
 * blkback's I/O threads (src/kernel/blk/io-pool.ts): they make the vectored calls
 * straight into guest pages (shared memory), but only into pages the backend mapped:
 * persistent mappings from map() to unmap(), a request's own mappings for the call
 * that carries them. A backend's threads start with its first ring and stop with its
 * last, or with its domain.
 */
import test from 'ava';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { IoPool } from '../../../src/kernel/blk/io-pool.js';
import { until, yamlConfig } from '../../helpers/machine.js';
import { attachDisk, machineWithGuest, pattern, removeVbd, scratchImage } from './helpers.js';

const PAGE = 4096;

/** Two pages of one shared buffer (as guest memory chunks are), a file of known bytes, and a pool. */
function fixture(t: import('ava').ExecutionContext) {
  const img = scratchImage(pattern(4 * PAGE, 9));
  const fd = openSync(img.path, 'r+');
  const pool = new IoPool(2);
  t.teardown(async () => {
    await pool.close();
    closeSync(fd);
    img.dispose();
  });
  const chunk = new SharedArrayBuffer(4 * PAGE);
  const [a, b] = [new Uint8Array(chunk, 0, PAGE), new Uint8Array(chunk, PAGE, PAGE)];
  return { img, fd, pool, a, b, file: () => new Uint8Array(readFileSync(img.path)) };
}

test('a thread reads and writes only pages the backend mapped: another page of the same buffer is refused (EFAULT) and no byte moves', async (t) => {
  const { fd, pool, a, b, file } = fixture(t);
  const before = file();
  await t.throwsAsync(pool.submit('read', fd, [a], 0), { code: 'EFAULT', message: /no such buffer/ }, 'nothing mapped yet');
  pool.map([a]);
  await t.throwsAsync(pool.submit('read', fd, [b], 0), { code: 'EFAULT', message: /page 1 of buffer \d+ is not mapped for this backend/ });
  t.is(await pool.submit('read', fd, [a], PAGE), PAGE);
  t.deepEqual(a, before.subarray(PAGE, 2 * PAGE), 'a mapped page gets the file\'s bytes');
  // A vector that runs from a mapped page into one that is not: all refused, the mapped part untouched too.
  a.fill(0);
  await t.throwsAsync(pool.submit('read', fd, [new Uint8Array(a.buffer, 0, 2 * PAGE)], 0), { code: 'EFAULT', message: /page 1 of buffer/ });
  t.true(a.every((x) => x === 0));
  b.fill(0x77);
  await t.throwsAsync(pool.submit('write', fd, [a, b], 0), { code: 'EFAULT' });
  t.deepEqual(file(), before, 'a write with one page not mapped writes nothing');
  pool.unmap([a]);
  await t.throwsAsync(pool.submit('read', fd, [a], 0), { code: 'EFAULT' }, 'unmapped: refused again');
  await t.throwsAsync(pool.submit('read', fd, [new Uint8Array(PAGE)], 0), { code: 'EFAULT', message: /no such buffer/ }, 'memory that is not shared guest memory');
});

test('a request\'s own mappings are the thread\'s for that call only', async (t) => {
  const { fd, pool, b, file } = fixture(t);
  b.fill(0x5a);
  t.is(await pool.submit('write', fd, [b], 2 * PAGE, [b]), PAGE);
  t.true(file().subarray(2 * PAGE, 3 * PAGE).every((x) => x === 0x5a));
  await t.throwsAsync(pool.submit('write', fd, [b], 0), { code: 'EFAULT' }, 'the next call without the mapping is refused');
  t.is(await pool.submit('sync', fd, [], 0), 0, 'fdatasync');
});

test('a stopped pool has no thread and fails every call', async (t) => {
  const { fd, pool, a } = fixture(t);
  pool.map([a]);
  t.is(pool.threads, 2);
  await pool.close();
  t.is(pool.threads, 0);
  await t.throwsAsync(pool.submit('read', fd, [a], 0), { code: 'EIO', message: /I\/O threads are stopped/ });
});

test('a disk\'s I/O runs on its backend\'s threads, which start with its ring and stop at the unplug', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  const img = scratchImage(4 * 1024 * 1024);
  t.teardown(async () => {
    await tm.dispose();
    img.dispose();
  });
  const threads = tm.m.dom0.blkback.threads;
  t.is(threads.running, 0, 'no disk, no thread');
  const calls: string[] = [];
  const submit = IoPool.prototype.submit;
  IoPool.prototype.submit = function (this: IoPool, ...args) {
    calls.push(args[0]);
    return submit.apply(this, args);
  };
  t.teardown(() => {
    IoPool.prototype.submit = submit;
  });
  const spec = { frontDomid: domid, backDomid: 0, vdev: 51712, target: img.path };
  const xvda = await attachDisk(tm, kernel, spec, 'xvda');
  t.is(threads.running, threads.size);
  const data = pattern(256 * 1024, 4);
  await xvda.write(4096, data);
  await xvda.flush();
  t.deepEqual(await xvda.read(4096, data.length), data);
  t.deepEqual(new Uint8Array(readFileSync(img.path).subarray(4096, 4096 + data.length)), data);
  t.deepEqual([...new Set(calls)].sort(), ['read', 'sync', 'write'], 'every call went through the threads');
  await removeVbd(tm.xs, spec);
  await until(() => threads.running === 0, 'the threads stopped with the last ring');
  t.is(threads.running, 0);
});

test('a driver domain destroyed while it serves a disk leaves no I/O thread behind', async (t) => {
  const { tm, domid: guest, kernel } = await machineWithGuest();
  const img = scratchImage(2 * 1024 * 1024);
  t.teardown(async () => {
    await tm.dispose();
    img.dispose();
  });
  const dd = await tm.m.toolstack.create(yamlConfig('name: dd\nmemory: 64\n'));
  await until(() => tm.m.toolstack.kernel(dd.domid)?.state === 'running', 'driver domain running');
  const threads = tm.m.toolstack.kernel(dd.domid)!.blkback.threads;
  const xvda = await attachDisk(tm, kernel, { frontDomid: guest, backDomid: dd.domid, vdev: 51712, target: img.path }, 'xvda');
  await xvda.write(0, pattern(64 * 1024, 2));
  t.is(threads.running, threads.size);
  t.is(tm.m.dom0.blkback.threads.running, 0, 'dom0 serves nothing and runs no thread');
  await tm.m.toolstack.destroy(dd.domid);
  t.is(threads.running, 0, 'the driver domain\'s threads stopped with it');
});
