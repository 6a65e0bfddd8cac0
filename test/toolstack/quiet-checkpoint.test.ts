import test from 'ava';
import { readFileSync } from 'node:fs';
import { machineSources } from '../../src/host/stats-service.js';
import { bootMachine, bootPumpedMachine, until, type TestMachine } from '../helpers/machine.js';
import { pattern } from '../kernel/blk/helpers.js';
import { bindings, guestWithDisk, image } from './helpers.js';

// The host's own checkpoint (Toolstack.checkpointImage, what the daemon takes every
// checkpoint_interval_ms): the guest's devices quiesce and the domain is captured, but
// neither the guest nor anyone watching it sees it happen, and its image is one the
// restore path takes as a suspended guest's.



/**
 * Every watch event on the guest's control/shutdown after the watch's own first
 * event; `settle` makes sure any event already raised has arrived (a marker node is
 * written and its event, behind them on the same connection, waited for).
 */
async function watchControl(tm: TestMachine, domid: number): Promise<{ events: string[]; settle: () => Promise<void> }> {
  const events: string[] = [];
  const node = `/local/domain/${domid}/control/shutdown`;
  const marker = `/local/domain/${domid}/data/marker`;
  let marks = 0;
  let first = true;
  await tm.xs.watch(node, 'ctl', async () => {
    if (first) first = false;
    else events.push((await tm.xs.read(node).catch(() => Buffer.from('(gone)'))).toString());
  });
  await tm.xs.watch(marker, 'mark', () => void marks++);
  await until(() => !first && marks === 1, 'the watches fired once on registration');
  let n = 0;
  return {
    events,
    settle: async () => {
      const want = marks + 1;
      await tm.xs.write(marker, String(++n));
      await until(() => marks === want, 'the marker event');
    },
  };
}

test('host checkpoints with writes running: every write lands once, and no log, watch or binding shows them', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const img = image('quiet.img');
  const ts = tm.m.toolstack;
  const { domid, kernel } = await guestWithDisk(tm, 'quiet', img);
  const control = await watchControl(tm, domid);
  const guestLog = [...kernel.log.lines];
  const dom0Log = [...tm.m.kernel(0)!.log.lines];
  const xenLog = tm.m.hv.console.lines();
  const before = bindings(kernel);
  const xvda = kernel.blocks.find('xvda')!;
  // 4 KiB writes 8 KiB apart: no two merge into one request.
  const N = 120;
  const chunk = (i: number): Uint8Array => pattern(4096, i + 1);
  let completed = 0;
  const writes = Array.from({ length: N }, (_, i) => xvda.write(i * 8192, chunk(i)).then(() => completed++));
  const images = [];
  for (let i = 0; i < 3; i++) images.push(await ts.checkpointImage(domid));
  await Promise.all(writes);
  t.is(completed, N, 'no write failed');
  const file = readFileSync(img);
  for (let i = 0; i < N; i++) t.deepEqual(new Uint8Array(file.subarray(i * 8192, i * 8192 + 4096)), chunk(i), `write ${i} landed`);
  t.is(machineSources(tm.m).devices(domid).vbds[0]!.wr, N, 'each write went to the backend once');

  await control.settle();
  t.deepEqual(control.events, [], 'control/shutdown never changed');
  t.deepEqual(kernel.log.lines, guestLog, "nothing in the guest's dmesg");
  t.deepEqual(tm.m.kernel(0)!.log.lines, dom0Log, "nothing in dom0's dmesg");
  t.deepEqual(tm.m.hv.console.lines(), xenLog, 'nothing in xl dmesg');
  t.deepEqual(bindings(kernel), before, 'same sources, vCPUs and ports');
  t.is(kernel.state, 'running');
  const d = tm.m.hv.get(domid);
  t.is(d.shutdownReason, null);
  t.false(d.paused, 'unpaused again');

  // Each image is a suspended guest's, as suspendDomain would have taken it then.
  for (const im of images) {
    t.is(im.kernel.state, 'suspended');
    t.true((im.kernel.connections?.grantRefs.length ?? 0) > 0, "the disk's connection is in it, for a restore to release");
    t.is(im.hypervisor.shutdownReason, 'suspend');
    t.is(im.hypervisor.pauseCount, 0);
  }

  // The last one restores into a new domain: the guest resumes there, its disk as it was.
  await ts.destroy(domid);
  const newid = await ts.restoreDomain(images[2]!);
  const k2 = ts.kernel(newid)!;
  await until(() => k2.state === 'running' && k2.blocks?.find('xvda') !== undefined, 'the restored guest runs with xvda');
  t.true(k2.log.lines.some((l) => l.includes(`resuming in a new domain (${newid})`)));
  t.deepEqual(new Uint8Array(await k2.blocks.find('xvda')!.read(0, 4096)), chunk(0));
  await k2.blocks.find('xvda')!.write(N * 8192, chunk(N));
  t.deepEqual(new Uint8Array(readFileSync(img).subarray(N * 8192, N * 8192 + 4096)), chunk(N));
});

test('a paused guest is checkpointed in place and stays paused; a suspend asked meanwhile still happens', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const ts = tm.m.toolstack;
  const { domid, kernel } = await guestWithDisk(tm, 'still', image('still.img'));
  ts.pause(domid);
  const guestLog = [...kernel.log.lines];
  const im = await ts.checkpointImage(domid);
  t.is(im.kernel.state, 'suspended');
  t.is(im.hypervisor.pauseCount, 1, "the user's pause");
  t.is(tm.m.hv.get(domid).pauseCount, 1, 'still paused, once');
  t.deepEqual(kernel.log.lines, guestLog);
  await ts.unpause(domid);

  // xl save -c while a host checkpoint is under way: the guest's suspend waits for it, then is its own.
  const host = ts.checkpointImage(domid);
  const user = ts.suspendDomain(domid).then(async (image) => {
    await ts.resumeDomain(domid);
    return image;
  });
  await host;
  const saved = await user;
  t.is(saved.kernel.state, 'suspended');
  t.is(kernel.state, 'running');
  t.true(kernel.log.lines.some((l) => l.includes('suspend cancelled, resuming in the same domain')), 'the user-asked one is seen, as on Xen');
});

test('a paused guest with a disk request in flight is not checkpointed (only its interrupt could finish it): it stays paused, the write completes once it runs', async (t) => {
  const { tm, clock } = await bootPumpedMachine(t);
  const ts = tm.m.toolstack;
  const img = image('held.img');
  const { domid, kernel } = await guestWithDisk(tm, 'held', img);
  const slow = tm.m.faults.add({ probability: 1, count: null, durationMs: null, seed: 1, options: { delayMs: 10_000 }, kind: 'disk-slow', target: { domid, name: 'held' } });
  let written = false;
  const write = kernel.blocks
    .find('xvda')!
    .write(0, pattern(4096, 3))
    .then(() => (written = true));
  await until(() => slow.fired === 1, 'the backend holds the write');
  ts.pause(domid);
  const guestLog = [...kernel.log.lines];
  await t.throwsAsync(ts.checkpointImage(domid), { message: /xvda: 1 requests in flight, and the domain is paused/ });
  t.is(tm.m.hv.get(domid).pauseCount, 1, 'still paused, once');
  t.deepEqual(kernel.log.lines, guestLog);
  await ts.unpause(domid);
  clock.advance(10e9);
  await write;
  t.true(written);
  tm.m.faults.clear(slow.id);
  t.is((await ts.checkpointImage(domid)).kernel.state, 'suspended', 'with nothing in flight it is checkpointed');
  t.deepEqual(new Uint8Array(readFileSync(img).subarray(0, 4096)), pattern(4096, 3));
});
