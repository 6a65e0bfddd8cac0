import test from 'ava';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { reachDaemon } from '../../src/client/daemon.js';
import { DomainClient } from '../../src/client/domains.js';
import { TypedClient } from '../../src/client/typed-client.js';
import { connectXsClient } from '../../src/client/xs-socket.js';
import { patternBytes } from '../../src/kernel/blk/block-io.js';
import type { BlkRpc } from '../../src/protocol/blk-rpc.js';
import type { DomainIntrStats } from '../../src/protocol/evtchn-rpc.js';
import { MAX_INTERVAL_MS, type StatsRpc } from '../../src/protocol/stats.js';
import type { StatePaths } from '../../src/state/state-dir.js';
import { startHost, tempHome } from '../helpers/daemon.js';
import { until, yamlConfig } from '../helpers/machine.js';

// The daemon's periodic checkpoints (host.yaml's checkpoint_interval_ms) are the
// host's business: the guest's dmesg, the hypervisor's, a watch on the guest's
// control/shutdown and its interrupt bindings show nothing of them, and a disk write
// running across them loses nothing and does nothing twice.

const DISK = 16 * 1024 * 1024;

/**
 * Which write of a domain's image file is there now (its inode and modification time:
 * each checkpoint writes a new file and renames it over the last), or null before the
 * first. The daemon logs only a domain's first checkpoint.
 */
function imageVersion(home: string, domid: number): string | null {
  try {
    const st = statSync(join(home, 'images', `${domid}.xl`), { bigint: true });
    return `${st.ino}:${st.mtimeNs}`;
  } catch {
    return null;
  }
}

/** Each interrupt source of a domain: kind, name, vCPU and port (the counts move on). */
async function intrRows(paths: StatePaths, ref: string): Promise<Array<[string, string, number | null, number | null]>> {
  const rpc = (await reachDaemon(paths))!;
  try {
    const stats = await rpc.call<DomainIntrStats>('intr.stats', { ref });
    return stats.rows.map((r) => [r.kind, r.name, r.vcpu, r.port]);
  } finally {
    rpc.close();
  }
}

/** The writes dom0's blkback has served for a domain's first disk. */
async function backendWrites(paths: StatePaths, domid: number): Promise<number> {
  const rpc = (await reachDaemon(paths))!;
  try {
    const stats = new TypedClient<StatsRpc>(rpc);
    const frame = await stats.call('stats.subscribe', { intervalMs: MAX_INTERVAL_MS });
    await stats.call('stats.unsubscribe', {});
    return frame.domains.find((d) => d.domid === domid)!.vbds[0]!.wr;
  } finally {
    rpc.close();
  }
}

test('periodic checkpoints are invisible to the guest, to xl dmesg and to watchers, and a write across them lands once', async (t) => {
  const home = tempHome();
  writeFileSync(join(home, 'host.yaml'), 'checkpoint_interval_ms: 200\n');
  const disk = join(home, 'disk.img');
  writeFileSync(disk, Buffer.alloc(DISK));
  const host = await startHost(home);
  t.teardown(() => host.dispose());
  const dc = await DomainClient.connect(host.paths);
  t.teardown(() => dc.close());
  const { domid } = await dc.create(yamlConfig(`name: g\nmemory: 64\nvcpus: 2\ndisk:\n  - "vdev=xvda, access=rw, target=${disk}"\n`), { paused: false });
  await until(async () => (await dc.dmesg('g')).some((l) => l.includes('reached the idle loop')) && (await dc.dmesg('g')).some((l) => /xvda: \d+ bytes/.test(l)), 'g booted with xvda', 1_000_000);
  await until(() => imageVersion(home, domid) !== null, 'a first checkpoint', 1_000_000);

  const xs = await connectXsClient(host.paths.socket);
  t.teardown(() => xs.close());
  const control = `/local/domain/${domid}/control/shutdown`;
  const marker = `/local/domain/${domid}/data/marker`;
  const seen: string[] = [];
  let marks = 0;
  await xs.watch(control, 'ctl', (ev) => void seen.push(ev.path));
  await xs.watch(marker, 'mark', () => void marks++);
  await until(() => seen.length === 1 && marks === 1, 'the watches fired on registration', 1_000_000);
  const guestLog = await dc.dmesg('g');
  const xenLog = await dc.dmesg();
  const intr = await intrRows(host.paths, 'g');
  const writesBefore = await backendWrites(host.paths, domid);

  // 256 KiB runs of 4 KiB writes on a slow disk (10 ms a request), one after the
  // other, until a checkpoint was written while a run was under way in three of them.
  const rpc = (await reachDaemon(host.paths))!;
  t.teardown(() => rpc.close());
  await rpc.call('fault.add', { kind: 'disk-slow', target: 'g', delayMs: 10 });
  const blk = new TypedClient<BlkRpc>(rpc);
  const RUN = 256 * 1024;
  let runs = 0;
  let during = 0;
  while (during < 3) {
    if ((runs + 1) * RUN > DISK) t.fail('the disk is full before three runs saw a checkpoint');
    const before = imageVersion(home, domid);
    const w = await blk.call('block.io', { ref: 'g', vdev: 'xvda', op: 'write', offset: runs * RUN, length: RUN, blockSize: 4096, queueDepth: 4, pattern: 'offset', seed: 1, flush: false });
    if (imageVersion(home, domid) !== before) during++;
    t.is(w.ios, RUN / 4096);
    runs++;
  }
  t.is((await backendWrites(host.paths, domid)) - writesBefore, (runs * RUN) / 4096, 'blkback served each write once');
  const v = await blk.call('block.io', { ref: 'g', vdev: 'xvda', op: 'verify', offset: 0, length: runs * RUN, blockSize: 65536, queueDepth: 4, pattern: 'offset', seed: 1, flush: false });
  t.is(v.mismatches, 0);
  t.deepEqual(new Uint8Array(readFileSync(disk).subarray(0, runs * RUN)), patternBytes('offset', 1, 0, runs * RUN));

  await xs.write(marker, 'after');
  await until(() => marks === 2, 'the marker event, behind any control/shutdown event', 1_000_000);
  t.deepEqual(seen, [control], 'control/shutdown never changed');
  t.deepEqual(await dc.dmesg('g'), guestLog, "nothing in the guest's dmesg");
  // The slow disk's fault logs each request it holds: those are the test's own.
  t.deepEqual(
    (await dc.dmesg()).filter((l) => !/^\(XEN\) fault \d+ \(disk-slow\)/.test(l)),
    xenLog,
    'nothing in xl dmesg',
  );
  t.deepEqual(await intrRows(host.paths, 'g'), intr, 'the same interrupt sources, on the same vCPUs and ports');
  t.log(`${runs} runs of ${RUN / 4096} writes, ${during} with a checkpoint during them; the daemon said: ${readFileSync(host.paths.log, 'utf8').split('\n').filter((l) => l.includes(' checkpointed ')).join(' | ')}`);
  rmSync(disk, { force: true });
});
