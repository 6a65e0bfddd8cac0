/**
 * `xenemu block-io` against a daemon: a guest's disk is attached the way libxl writes
 * it (here by the test, as the toolstack's block-attach is another change), then the
 * command writes, verifies, reads to a file and copies, and the bytes are in the images, a flushed write even after kill -9.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectXsClient } from '../../src/client/xs-socket.js';
import { DomainClient } from '../../src/client/domains.js';
import { patternBytes } from '../../src/kernel/blk/block-io.js';
import { startHost } from '../helpers/daemon.js';
import { until, yamlConfig } from '../helpers/machine.js';
import { runCommandSource } from '../helpers/run.js';
import { addVbd, runHotplug, scratchImage, readState, frontPath } from '../kernel/blk/helpers.js';

const MiB = 1024 * 1024;

test('block-io writes, verifies, reads to a file and copies through the guest\'s disks; --json gives the summary', async (t) => {
  const host = await startHost();
  const a = scratchImage(4 * MiB, 'a.img');
  const b = scratchImage(4 * MiB, 'b.img');
  t.teardown(async () => {
    await host.dispose();
    a.dispose();
    b.dispose();
  });
  process.env.XENEMU_HOME = host.paths.home;
  const dc = await DomainClient.connect(host.paths);
  const { domid } = await dc.create(yamlConfig('name: g\nmemory: 64\n'), { paused: false });
  dc.close();
  const xs = await connectXsClient(host.paths.socket);
  t.teardown(() => xs.close());
  const specA = { frontDomid: domid, backDomid: 0, vdev: 51712, target: a.path };
  const specB = { frontDomid: domid, backDomid: 0, vdev: 51728, target: b.path };
  for (const s of [specA, specB]) {
    await addVbd(xs, s);
    await runHotplug(xs, s);
    await until(async () => (await readState(xs, frontPath(s))) === 4, 'connected', 1_000_000);
  }

  const w = await runCommandSource('block-io.ts', ['g', 'xvda', 'write', '--length', '1m', '--bs', '64k', '--qd', '4', '--flush']);
  t.is(w.code, 0, w.stderr);
  t.regex(w.stdout, /^write xvda \(domain \d+ g\): 1\.0 MiB at offset 0 in 64\.0 KiB blocks, queue depth 4, pattern offset\n16 I\/Os in [0-9.]+ s: [0-9.]+ MB\/s, \d+ IOPS\nlatency \(usec\): p50 \d+, p99 \d+, max \d+\nflushed/);
  t.deepEqual(new Uint8Array(readFileSync(a.path).subarray(0, MiB)), patternBytes('offset', 1, 0, MiB));

  const v = await runCommandSource('block-io.ts', ['g', 'xvda', 'verify', '--length', '1m', '--json']);
  t.is(v.code, 0, v.stderr);
  t.like(JSON.parse(v.stdout), { op: 'verify', vdev: 'xvda', mismatches: 0, bytes: MiB, ios: 16 });
  const bad = await runCommandSource('block-io.ts', ['g', 'xvda', 'verify', '--offset', '1m', '--length', '64k']);
  // Never written: zeros, where the first word should hold 0x100000 (its third byte is 0x10).
  t.regex(bad.stdout, /verify: 1 block\(s\) differ, first at byte 1048578\n/);

  const to = join(a.dir, 'out.bin');
  const r = await runCommandSource('block-io.ts', ['g', '51712', 'read', '--offset', '8s', '--length', '4k', '--to', to]);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(new Uint8Array(readFileSync(to)), patternBytes('offset', 1, 4096, 4096));

  const c = await runCommandSource('block-io.ts', ['g', 'xvda', 'copy', '--dest', 'xvdb', '--length', '1m', '--bs', '256k', '--qd', '2']);
  t.is(c.code, 0, c.stderr);
  t.deepEqual(readFileSync(b.path).subarray(0, MiB), readFileSync(a.path).subarray(0, MiB));

  const none = await runCommandSource('block-io.ts', ['g', 'xvdc', 'read']);
  t.is(none.code, 1);
  t.regex(none.stderr, /domain \d+ has no disk xvdc connected \(it has xvda, xvdb\)/);
  const unaligned = await runCommandSource('block-io.ts', ['g', 'xvda', 'write', '--offset', '100', '--length', '512']);
  t.is(unaligned.code, 1);
  t.regex(unaligned.stderr, /not aligned to the 512-byte sector size/);

  // Acknowledged after a flush, then the daemon is killed: the bytes are in the file.
  const f = await runCommandSource('block-io.ts', ['g', 'xvdb', 'write', '--offset', '2m', '--length', '256k', '--pattern', 'random', '--seed', '9', '--flush']);
  t.is(f.code, 0, f.stderr);
  await host.kill();
  t.deepEqual(new Uint8Array(readFileSync(b.path).subarray(2 * MiB, 2 * MiB + 256 * 1024)), patternBytes('random', 9, 2 * MiB, 256 * 1024));
});
