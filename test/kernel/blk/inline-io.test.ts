/**
 * blkback's inline calls: a read or write that is the disk's only one in flight, or
 * one of INLINE_SMALL_BYTES at most, is made on the kernel's thread (the store's
 * readvNow/writevNow) while the store has been answering fast; anything else, or a
 * store in its backoff, goes to libuv's pool.
 */
import { readFileSync } from 'node:fs';
import test, { type ExecutionContext } from 'ava';
import { openBackingStore, type BackingStore } from '../../../src/kernel/blk/backing-store.js';
import { INLINE_BACKOFF_MS, INLINE_SLOW_MS, INLINE_SMALL_BYTES, InlineGate, localFilesystem } from '../../../src/kernel/blk/inline-gate.js';
import { until } from '../../helpers/machine.js';
import { attachDisk, machineWithGuest, pattern, readFromDisk, scratchImage, writeToDisk } from './helpers.js';

const MiB = 1024 * 1024;

type Call = 'readv' | 'writev' | 'readvNow' | 'writevNow';

/**
 * An in-memory disk with inline calls. `inline.ok` says whether they accept; `held`
 * positions make readv wait until `release()`; `inline.fail` makes the next inline call throw.
 */
function inlineStore(size: number) {
  const disk = new Uint8Array(size);
  const calls: Array<[Call, number]> = [];
  const inline = { ok: true, fail: false };
  const held = new Map<number, () => void>();
  const holds = new Set<number>();
  const copyIn = (buffers: readonly Uint8Array[], position: number): void => readFromDisk(disk, buffers, position);
  const copyOut = (buffers: readonly Uint8Array[], position: number): void => writeToDisk(disk, buffers, position);
  const now = (op: Call, move: () => void, position: number): boolean => {
    if (!inline.ok) return false;
    calls.push([op, position]);
    if (inline.fail) {
      inline.fail = false;
      throw new Error('EIO on purpose');
    }
    move();
    return true;
  };
  const store: BackingStore = {
    path: '/inline',
    kind: 'file',
    sizeBytes: size,
    readOnly: false,
    async readv(buffers, position) {
      calls.push(['readv', position]);
      if (holds.has(position)) await new Promise<void>((resolve) => held.set(position, resolve));
      copyIn(buffers, position);
    },
    async writev(buffers, position) {
      calls.push(['writev', position]);
      copyOut(buffers, position);
    },
    readvNow: (buffers, position) => now('readvNow', () => copyIn(buffers, position), position),
    writevNow: (buffers, position) => now('writevNow', () => copyOut(buffers, position), position),
    flush: async () => {},
    close: async () => {},
  };
  return { store, disk, calls, inline, hold: (p: number) => holds.add(p), release: (p: number) => held.get(p)?.() };
}

/** A guest whose xvda is an inlineStore of 8 MiB, served by dom0's blkback. */
async function inlineDisk(t: ExecutionContext) {
  const { tm, domid, kernel } = await machineWithGuest();
  t.teardown(() => tm.dispose());
  const s = inlineStore(8 * MiB);
  tm.m.dom0.blkback.openStore = async () => s.store;
  const xvda = await attachDisk(tm, kernel, { frontDomid: domid, backDomid: 0, vdev: 51712, target: '/inline' }, 'xvda');
  return { tm, domid, kernel, s, xvda };
}

test('a lone read or write is made inline and answered; with inlineIo off it goes to the pool', async (t) => {
  const { tm, domid, kernel, s, xvda } = await inlineDisk(t);
  const { disk, calls } = s;
  const data = pattern(MiB, 3);
  await xvda.write(MiB, data);
  t.deepEqual(disk.subarray(MiB, 2 * MiB), data);
  t.deepEqual(await xvda.read(MiB, MiB), data);
  t.deepEqual(calls, [['writevNow', MiB], ['readvNow', MiB]], 'one inline call each way (8 requests merged)');
  t.like(xvda.info().stats, { reads: 8, writes: 8, errors: 0 });

  // A tunable, as the others: it applies to disks attached after the change.
  const { store: pooled, calls: poolCalls } = inlineStore(8 * MiB);
  tm.m.dom0.blkback.tunables = { ...tm.m.dom0.blkback.tunables, inlineIo: false };
  tm.m.dom0.blkback.openStore = async () => pooled;
  const xvdb = await attachDisk(tm, kernel, { frontDomid: domid, backDomid: 0, vdev: 51728, target: '/inline' }, 'xvdb');
  await xvdb.write(0, data);
  t.deepEqual(await xvdb.read(0, MiB), data);
  t.deepEqual(poolCalls, [['writev', 0], ['readv', 0]]);
});

test('with another call of the disk in flight, a call over INLINE_SMALL_BYTES goes to the pool and a small one does not; a declining store sends all to the pool', async (t) => {
  const { s, xvda } = await inlineDisk(t);
  const big = 4 * INLINE_SMALL_BYTES;
  // The store declines (its backoff): even a lone small read goes to the pool, and is held there.
  s.inline.ok = false;
  s.hold(0);
  const first = xvda.read(0, 4096);
  await until(() => s.calls.length === 1, 'the first read reaches the store');
  t.deepEqual(s.calls, [['readv', 0]]);
  // The store accepts again, but the first read is still in flight: the second is not alone.
  s.inline.ok = true;
  const second = xvda.read(MiB, big);
  await until(() => s.calls.length === 2, 'the second read reaches the store');
  t.deepEqual(s.calls[1], ['readv', MiB]);
  // A small one is cheaper made in place than handed over, alone or not.
  await xvda.read(3 * MiB, INLINE_SMALL_BYTES);
  t.deepEqual(s.calls[2], ['readvNow', 3 * MiB]);
  s.release(0);
  await Promise.all([first, second]);
  // Alone again: inline whatever its size.
  await xvda.read(2 * MiB, big);
  t.deepEqual(s.calls[3], ['readvNow', 2 * MiB]);
});

test('an inline call that fails answers its requests with an error, and the disk goes on', async (t) => {
  const { tm, s, xvda } = await inlineDisk(t);
  s.inline.fail = true;
  await t.throwsAsync(xvda.read(0, 256 * 1024), { message: /BLKIF_RSP_ERROR/ });
  t.is(tm.m.dom0.blkback.devices()[0]!.stats.errors, 2, 'both requests of the merged call failed');
  t.true(tm.m.dom0.log.lines.some((l) => l.includes('EIO on purpose')), 'the backend logs why');
  await xvda.write(0, pattern(4096, 1));
  t.deepEqual(await xvda.read(0, 4096), pattern(4096, 1));
});

test('the gate: a fast call keeps calls inline; a slow one sends them to the pool for a backoff that doubles while they stay slow', (t) => {
  let clock = 0;
  let callTakes = 0;
  const gate = new InlineGate(() => clock);
  const call = (): void => {
    clock += callTakes;
  };
  t.true(gate.attempt(call), 'inline at first');
  t.true(gate.attempt(call), 'a fast call keeps it inline');
  callTakes = INLINE_SLOW_MS + 1;
  t.true(gate.attempt(call), 'a slow call is still made (it cannot be known beforehand)');
  callTakes = 0;
  t.false(gate.attempt(call), 'then the pool');
  clock += INLINE_BACKOFF_MS - 1;
  t.false(gate.attempt(call), 'for the whole backoff');
  clock += 1;
  callTakes = INLINE_SLOW_MS + 1;
  t.true(gate.attempt(call), 'tried again after it');
  callTakes = 0;
  clock += 2 * INLINE_BACKOFF_MS - 1;
  t.false(gate.attempt(call), 'slow again: the backoff doubled');
  clock += 1;
  t.true(gate.attempt(call), 'after twice as long, inline again; the call is fast');
  callTakes = INLINE_SLOW_MS + 1;
  t.true(gate.attempt(call));
  callTakes = 0;
  clock += INLINE_BACKOFF_MS;
  t.true(gate.attempt(call), 'a fast call reset the backoff to its first length');
  t.throws(() => gate.attempt(() => {
    clock += INLINE_SLOW_MS + 1;
    throw new Error('boom');
  }), { message: 'boom' });
  t.false(gate.attempt(call), 'a slow call that failed counts too');
});

test('a file store reads and writes inline, fails a short read as the pool call does, and declines in its backoff', async (t) => {
  const img = scratchImage(MiB);
  t.teardown(() => img.dispose());
  let clock = 0;
  let step = 0;
  const store = await openBackingStore(img.path, false, () => (clock += step));
  t.teardown(() => store.close());
  const data = pattern(3 * 4096, 9);
  const parts = [data.subarray(0, 4096), data.subarray(4096)];
  t.true(store.writevNow!(parts, 8192));
  t.deepEqual(new Uint8Array(readFileSync(img.path).subarray(8192, 8192 + data.length)), data);
  const back = [new Uint8Array(8192), new Uint8Array(4096)];
  t.true(store.readvNow!(back, 8192));
  t.deepEqual(Buffer.concat(back), Buffer.from(data));
  const past = [new Uint8Array(8192)];
  t.throws(() => store.readvNow!(past, MiB - 4096), { code: 'EIO', message: /short read at 1044480: 4096 of 8192 bytes/ });
  await t.throwsAsync(store.readv(past, MiB - 4096), { code: 'EIO', message: /short read at 1044480: 4096 of 8192 bytes/ });
  // A slow call (each clock reading INLINE_SLOW_MS + 1 later): then the caller must use the pool.
  step = INLINE_SLOW_MS + 1;
  t.true(store.readvNow!(back, 0));
  step = 0;
  t.false(store.readvNow!(back, 0));
  t.false(store.writevNow!(parts, 0));
});

test('only files on a local filesystem go inline: a hung NFS, SMB, FUSE or 9p call would wedge the daemon', (t) => {
  for (const [name, type] of [['ext4', 0xef53], ['xfs', 0x58465342], ['btrfs', 0x9123683e], ['tmpfs', 0x01021994], ['overlayfs', 0x794c7630], ['zfs', 0x2fc12fc1]] as const) t.true(localFilesystem(type), name);
  for (const [name, type] of [['nfs', 0x6969], ['smb2', 0xfe534d42], ['cifs', 0xff534d42], ['fuse', 0x65735546], ['9p', 0x01021997], ['ceph', 0x00c36400], ['unknown', 0]] as const) t.false(localFilesystem(type), name);
});

test('a file store\'s close waits for its calls still on the pool, and refuses calls after it', async (t) => {
  const img = scratchImage(pattern(MiB, 4));
  t.teardown(() => img.dispose());
  const store = await openBackingStore(img.path, false);
  const bufs = Array.from({ length: 16 }, () => [new Uint8Array(64 * 1024)]);
  const reads = bufs.map((b, i) => store.readv(b, i * 64 * 1024));
  const closed = store.close();
  // The descriptor is closed only after every queued preadv ran: none of them fails with EBADF.
  await Promise.all(reads);
  await closed;
  t.deepEqual(Buffer.concat(bufs.map((b) => b[0]!)), Buffer.from(pattern(MiB, 4)));
  await t.throwsAsync(store.readv([new Uint8Array(512)], 0), { code: 'EBADF' });
  await t.throwsAsync(store.writev([new Uint8Array(512)], 0), { code: 'EBADF' });
  t.false(store.readvNow!([new Uint8Array(512)], 0), 'nor inline');
  await store.close();
});
