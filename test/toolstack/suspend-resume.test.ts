import test from 'ava';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { machineSources } from '../../src/host/stats-service.js';
import type { SavedMemory } from '../../src/hypervisor/memory.js';
import type { DomainImage } from '../../src/toolstack/migrate/image.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { runPing } from '../../src/kernel/net/stack/ping.js';
import { parseIpv4 } from '../../src/kernel/net/stack/packet.js';
import { SHUTDOWN_ACK_TIMEOUT_NS } from '../../src/toolstack/toolstack.js';
import { bootMachine, bootPumpedMachine, until, yamlConfig, type TestMachine } from '../helpers/machine.js';
import { pattern } from '../kernel/blk/helpers.js';
import { bindings, guestWithDisk, image } from './helpers.js';

// Suspend and resume through the toolstack, against the real drivers: a checkpoint
// (the suspend is cancelled, the guest goes on in its domain) and a restore into a new
// domain (the guest's memory and kernel come back, its ports are new, its devices
// reconnect to the backends the config names).


/** Where each VIRQ and IPI is delivered, by source name: what a resume must keep. */
function percpuBindings(k: Kernel): Record<string, number> {
  const out: Record<string, number> = {};
  for (const src of k.intr.sources()) if (src.type === 'virq' || src.type === 'ipi') out[src.name] = src.cpu;
  return out;
}


function pageHashes(m: SavedMemory, skip: ReadonlySet<number>): Map<number, string> {
  const out = new Map<number, string>();
  m.pfns.forEach((pfn, i) => {
    if (!skip.has(pfn)) out.set(pfn, createHash('sha256').update(m.pages[i]!).digest('hex'));
  });
  return out;
}

test('a checkpoint with writes running: every write lands once, the guest goes on in its domain with the same interrupts', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const img = image('ckpt.img');
  const { domid, kernel } = await guestWithDisk(tm, 'ckpt', img);
  const before = bindings(kernel);
  const xvda = kernel.blocks.find('xvda')!;
  // 4 KiB writes 8 KiB apart: no two merge into one request.
  const N = 120;
  const chunk = (i: number) => pattern(4096, i + 1);
  let completed = 0;
  const writes = Array.from({ length: N }, (_, i) => xvda.write(i * 8192, chunk(i)).then(() => completed++));
  // xl save -c: suspended, the image taken, resumed in place.
  const image1 = await tm.m.toolstack.suspendDomain(domid);
  await tm.m.toolstack.resumeDomain(domid);
  await Promise.all(writes);
  t.is(completed, N, 'no write failed');
  const file = readFileSync(img);
  for (let i = 0; i < N; i++) t.deepEqual(new Uint8Array(file.subarray(i * 8192, i * 8192 + 4096)), chunk(i), `write ${i} landed`);
  t.is(machineSources(tm.m).devices(domid).vbds[0]!.wr, N, 'each write went to the backend once');
  t.is(image1.kernel.state, 'suspended');
  t.is(image1.hypervisor.shutdownReason, 'suspend');
  t.is(Buffer.from(image1.xenstore.find((n) => n.path === 'control/feature-suspend')!.value).toString(), '1');
  t.is(kernel.state, 'running');
  t.is(tm.m.hv.get(domid).shutdownReason, null);
  t.deepEqual(bindings(kernel), before, 'same sources, vCPUs and ports: a cancelled suspend rebinds nothing');
  const log = kernel.log.lines.join('\n');
  for (const line of ['xen:manage: Suspending (requested by the toolstack)', 'PM: freeze of devices complete', 'xen:manage: suspending xenstore...', 'suspend cancelled, resuming in the same domain', 'xvda: resuming on the same ring']) {
    t.true(log.includes(line), line);
  }
  // It goes on: a write after the checkpoint, and another checkpoint.
  await xvda.write(N * 8192, chunk(N));
  await tm.m.toolstack.suspendDomain(domid);
  await tm.m.toolstack.resumeDomain(domid);
  await xvda.write((N + 1) * 8192, chunk(N + 1));
  t.deepEqual(new Uint8Array(readFileSync(img).subarray((N + 1) * 8192, (N + 1) * 8192 + 4096)), chunk(N + 1));
});

test('restore into a new domain: same memory and home, VIRQs and IPIs on the same vCPUs, the disk back and usable', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const img = image('restore.img');
  const ts = tm.m.toolstack;
  const { domid, kernel } = await guestWithDisk(tm, 'mover', img);
  await kernel.blocks.find('xvda')!.write(0, pattern(8192, 7));
  await tm.xs.write(`/local/domain/${domid}/data/note`, 'kept');
  await tm.xs.setPerms(`/local/domain/${domid}/data/note`, [`n${domid}`, 'r0']);
  await ts.memSet(domid, 60 * 1024);
  await until(() => kernel.hc.currentPages() === 60 * 256, 'the balloon reached the target');
  const percpu = percpuBindings(kernel);

  const saved = await ts.suspendDomain(domid);
  t.is(kernel.state, 'suspended');
  t.is(tm.m.hv.get(domid).shutdownReason, 'suspend');
  await ts.destroySaved(domid);
  t.false(tm.m.hv.domains.has(domid));

  const newid = await ts.restoreDomain(saved, { paused: true });
  t.not(newid, domid);
  // Before the kernel runs, the memory is the saved memory, but for the three pages the
  // toolstack and the backends use: start_info (the toolstack writes the new ports there),
  // and the console and XenStore rings (top - 2, top - 1), which the console backend and
  // xenstored, told of the new domain, may already have read and answered on.
  const top = 64 * 256;
  const skip = new Set([top - 3, top - 2, top - 1]);
  t.deepEqual(pageHashes(tm.m.hv.saveDomain(newid).memory, skip), pageHashes(saved.hypervisor.memory, skip));
  t.is(tm.m.hv.saveDomain(newid).ageNs >= saved.hypervisor.ageNs, true, 'uptime goes on');
  await ts.unpause(newid);
  const k2 = ts.kernel(newid)!;
  await until(() => k2.state === 'running' && k2.blocks?.find('xvda') !== undefined, 'the restored guest runs with xvda');
  t.deepEqual(percpuBindings(k2), percpu, 'each VIRQ and IPI is bound again on the vCPU it was on');
  t.is(k2.hc.currentPages(), 60 * 256, 'the balloon kept its target');
  t.deepEqual(new Uint8Array(await k2.blocks.find('xvda')!.read(0, 8192)), pattern(8192, 7));
  await k2.blocks.find('xvda')!.write(16384, pattern(4096, 9));
  t.deepEqual(new Uint8Array(readFileSync(img).subarray(16384, 16384 + 4096)), pattern(4096, 9));
  // The home came back under the new domid, owned by it; the toolstack's nodes are the new domain's.
  t.is((await tm.xs.read(`/local/domain/${newid}/data/note`)).toString(), 'kept');
  t.deepEqual(await tm.xs.getPerms(`/local/domain/${newid}/data/note`), [`n${newid}`, 'r0']);
  t.is((await tm.xs.read(`/local/domain/${newid}/memory/target`)).toString(), String(60 * 1024), 'mem-set kept');
  t.is((await tm.xs.read(`/local/domain/${newid}/domid`)).toString(), String(newid));
  t.is((await tm.xs.read(`/local/domain/${newid}/device/vbd/51712/backend`)).toString(), `/local/domain/0/backend/vbd/${newid}/51712`);
  // It answers the toolstack through its new XenStore connection.
  const before = k2.hc.currentPages();
  await ts.memSet(newid, 56 * 1024);
  await until(() => k2.hc.currentPages() < before, 'the restored balloon deflates');
  const log = k2.log.lines.join('\n');
  for (const line of ['xen:manage: suspending xenstore...', `resuming in a new domain (${newid})`, 'xen:events: forgot every port', 'xbd: device/vbd/51712: resuming', 'PM: restore of devices complete']) {
    t.true(log.includes(line), line);
  }
});

test('a guest that never acknowledges the suspend: a clear error after 60 s, the request is taken back, the domain runs on', async (t) => {
  const { tm, clock } = await bootPumpedMachine(t);
  const { domid } = await tm.m.toolstack.create(yamlConfig('name: mute\ntype: pvh\nmemory: 64\n'));
  await until(() => tm.m.toolstack.kernel(domid)?.state === 'running', 'running');
  const fault = tm.m.faults.add({ probability: 1, count: null, durationMs: null, seed: 1, options: {}, kind: 'guest-unresponsive', target: { domid, name: 'mute' } });
  let outcome: { code?: string; message?: string } | null = null;
  const request = tm.m.toolstack.suspendDomain(domid).then(
    () => (outcome = { code: 'done' }),
    (err: { code?: string; message?: string }) => (outcome = err),
  );
  await until(() => fault.fired === 1, 'the guest ignored it');
  clock.advance(SHUTDOWN_ACK_TIMEOUT_NS);
  await request;
  t.like(outcome, { code: 'ETIMEDOUT', message: "guest didn't acknowledge suspend, request cancelled" });
  t.is((await tm.xs.read(`/local/domain/${domid}/control/shutdown`)).toString(), '', 'the request was taken back');
  t.is(tm.m.hv.get(domid).shutdownReason, null);
  t.is(tm.m.toolstack.kernel(domid)!.state, 'running');
});

test('save without -c while writes wait: those the backend completed landed, those still waiting fail with ENODEV, none is half done', async (t) => {
  const { tm, clock } = await bootPumpedMachine(t);
  const img = image('gone.img');
  const { domid, kernel } = await guestWithDisk(tm, 'gone', img);
  // The backend holds every call for 1 s of the machine's virtual clock: the writes that
  // found a queue slot are in flight when the guest freezes its disk, the others wait
  // for a slot. (Not a race against the suspend: a fast path would otherwise finish all
  // of them first.)
  tm.m.faults.add({ probability: 1, count: null, durationMs: null, seed: 1, options: { delayMs: 1000 }, kind: 'disk-slow', target: { domid, name: 'gone' } });
  const xvda = kernel.blocks.find('xvda')!;
  const depth = xvda.info().queueDepth;
  const N = 200;
  t.true(depth < N);
  const writes = Array.from({ length: N }, (_, i) => xvda.write(i * 8192, pattern(4096, i + 1)));
  const suspending = tm.m.toolstack.suspendDomain(domid);
  await until(() => kernel.log.lines.some((l) => l.includes('PM: freezing devices')), 'the guest took the request');
  t.true(xvda.info().stats.queued > 0, 'writes wait for a queue slot');
  clock.advance(1e9);
  await suspending;
  await tm.m.toolstack.destroySaved(domid);
  const results = await Promise.allSettled(writes);
  const file = readFileSync(img);
  let done = 0;
  results.forEach((r, i) => {
    const landed = new Uint8Array(file.subarray(i * 8192, i * 8192 + 4096));
    if (r.status === 'fulfilled') {
      done++;
      t.deepEqual(landed, pattern(4096, i + 1), `write ${i} acknowledged and on disk`);
    } else {
      t.is((r.reason as { code?: string }).code, 'ENODEV', (r.reason as Error).message);
      t.deepEqual(landed, new Uint8Array(4096), `write ${i} failed and never reached the disk`);
    }
  });
  t.is(done, depth, 'the writes in flight when the guest froze its disk completed, those waiting for a queue slot did not');
});

/** Two guests on xenbr0 with addresses; b's is what a pings. */
async function pingPair(tm: TestMachine): Promise<{ a: Kernel; b: number }> {
  const ts = tm.m.toolstack;
  const ra = await ts.create(yamlConfig('name: pa\nmemory: 64\nvif:\n  - "bridge=xenbr0,ip=10.0.0.1"\n'));
  const rb = await ts.create(yamlConfig('name: pb\nmemory: 64\nvcpus: 2\nvif:\n  - "bridge=xenbr0,ip=10.0.0.2"\n'));
  const a = ts.kernel(ra.domid)!;
  await until(() => a.net?.route() !== undefined && ts.kernel(rb.domid)?.net?.route() !== undefined, 'both NICs up with addresses');
  return { a, b: rb.domid };
}

test('ping running across a checkpoint of the pinged guest and after its restore into a new domain: no request lost', async (t) => {
  const tm = await bootMachine();
  // The real clock's timers do not hold the event loop open (the daemon's sockets do): between two requests nothing else would.
  const alive = setInterval(() => {}, 1000);
  t.teardown(() => {
    clearInterval(alive);
    return tm.dispose();
  });
  const ts = tm.m.toolstack;
  const { a, b } = await pingPair(tm);
  const dst = parseIpv4('10.0.0.2')!;
  const pinging = runPing(a.net.route()!, dst, { count: 20, size: 56, intervalNs: 5e6 }, a.clock);
  await until(() => tm.m.vifs.get(b, 0)!.stats().rxPackets > 2, 'a few requests reached b');
  await ts.suspendDomain(b);
  await ts.resumeDomain(b);
  const r1 = await pinging;
  t.is(r1.transmitted, 20);
  t.is(r1.received, 20, 'every request answered');

  const saved = await ts.suspendDomain(b);
  await ts.destroySaved(b);
  const nb = await ts.restoreDomain(saved);
  const kb = ts.kernel(nb)!;
  // The NIC is up in the guest, and its new vif is on the bridge (netback tells the registry as it connects).
  await until(() => kb.netfront.nic(0) !== undefined && tm.m.vifs.get(nb, 0) !== undefined, 'the restored NIC up and on the bridge');
  t.true(kb.log.lines.some((l) => l.includes('netfront: device/vif/0: resuming')));
  // A first answer (the bridge learns the restored vif's MAC), then nothing lost.
  for (let i = 0; i < 20 && (await runPing(a.net.route()!, dst, { count: 1, size: 56, intervalNs: 5e6 }, a.clock)).received === 0; i++);
  const r2 = await runPing(a.net.route()!, dst, { count: 5, size: 56, intervalNs: 5e6 }, a.clock);
  t.is(r2.received, 5, 'the restored guest answers on its new vif');
});

for (const [what, cfg] of [
  ['PVH', 'type: pvh\nvcpus: 3\n'],
  ['HVM with the INTx callback and a synthetic source', 'type: hvm\nvcpus: 2\nxenemu:\n  callback: pci-intx\n  events:\n    - name=xn0,rate=1000,handler=ithread\n'],
] as const) {
  test(`${what}: restored into a new domain, its VIRQs and IPIs are on their vCPUs again and it answers the toolstack`, async (t) => {
    const tm = await bootMachine();
    t.teardown(() => tm.dispose());
    const ts = tm.m.toolstack;
    const r = await ts.create(yamlConfig(`name: h\nmemory: 64\n${cfg}`));
    const k = ts.kernel(r.domid)!;
    await until(() => k.state === 'running', 'running');
    const percpu = percpuBindings(k);
    const saved = await ts.suspendDomain(r.domid);
    await ts.destroySaved(r.domid);
    const nid = await ts.restoreDomain(saved);
    const k2 = ts.kernel(nid)!;
    t.is(k2.state, 'running');
    t.deepEqual(percpuBindings(k2), percpu);
    if (k2.synthetic !== null) t.is(k2.synthetic.sources.length, 1, 'the synthetic source attached again');
    const before = k2.hc.currentPages();
    await ts.memSet(nid, 60 * 1024);
    await until(() => k2.hc.currentPages() < before, 'the balloon deflates');
    // Its console reconnected: what it prints reaches the console backend's log.
    k2.log.print('after the restore');
    await until(() => tm.m.consoles.tail(nid).some((l) => l.includes('after the restore')), 'the line on the console backend');
  });
}

test('a disk whose backend holds a request past 30 s fails the guest\'s suspend: the disk thaws, the toolstack times out at 60 s, the domain runs on', async (t) => {
  const { tm, clock } = await bootPumpedMachine(t);
  const img = image('stuck.img');
  const { domid, kernel } = await guestWithDisk(tm, 'stuck', img);
  const slow = tm.m.faults.add({ probability: 1, count: null, durationMs: null, seed: 1, options: { delayMs: 45_000 }, kind: 'disk-slow', target: { domid, name: 'stuck' } });
  const xvda = kernel.blocks.find('xvda')!;
  let written = false;
  const write = xvda.write(0, pattern(4096, 1)).then(() => (written = true));
  let outcome: { code?: string; message?: string } | null = null;
  const suspending = tm.m.toolstack.suspendDomain(domid).then(
    () => (outcome = { code: 'done' }),
    (err: { code?: string; message?: string }) => (outcome = err),
  );
  await until(() => kernel.log.lines.some((l) => l.includes('PM: freezing devices')), 'the guest took the request');
  clock.advance(30e9);
  await until(() => kernel.log.lines.some((l) => l.includes('do_suspend: freeze of devices failed: xenbusb_front: device/vbd/51712: cannot suspend: xvda: 1 requests still in flight after 30 s')), 'the freeze gave up');
  clock.advance(15e9);
  await write;
  t.true(written, 'the held write completed once the backend let it go');
  clock.advance(15e9);
  await suspending;
  t.like(outcome, { code: 'ETIMEDOUT' });
  t.regex(outcome!.message!, /guest did not suspend, timed out/);
  t.is(kernel.state, 'running');
  t.is(tm.m.hv.get(domid).shutdownReason, null);
  tm.m.faults.clear(slow.id);
  await xvda.write(8192, pattern(4096, 2));
  t.deepEqual(new Uint8Array(readFileSync(img).subarray(8192, 8192 + 4096)), pattern(4096, 2), 'the thawed disk takes new writes');
});

test('restores give back what the old connections held: the guest has as many free frames and grant references after three as before', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const ts = tm.m.toolstack;
  const img = image('again.img');
  const r = await ts.create(yamlConfig(`name: again\nmemory: 64\nvif:\n  - "bridge=xenbr0"\ndisk:\n  - "vdev=xvda, access=rw, target=${img}"\n`));
  let domid = r.domid;
  let k = ts.kernel(domid)!;
  const ready = async (): Promise<void> => {
    await until(() => k.state === 'running' && k.blocks?.find('xvda') !== undefined && k.netfront?.nic(0) !== undefined, 'disk and NIC connected');
    await k.blocks.find('xvda')!.write(0, pattern(65536, domid));
  };
  await ready();
  const free = { frames: k.pageAllocator.free, grants: k.gnttab.refs.free };
  for (let i = 0; i < 3; i++) {
    const saved = await ts.suspendDomain(domid);
    t.true(saved.kernel.connections!.frames.length > 0 && saved.kernel.connections!.grantRefs.length > 0);
    await ts.destroySaved(domid);
    domid = await ts.restoreDomain(saved);
    k = ts.kernel(domid)!;
    await ready();
    t.deepEqual({ frames: k.pageAllocator.free, grants: k.gnttab.refs.free }, free, `after restore ${i + 1}`);
  }
  t.true(k.log.lines.some((l) => l.includes('xen:manage: released') && l.includes('of the connections the old domain had')));
});

test('a guest that suspends after the toolstack gave up is resumed, not left suspended with nobody to take its image', async (t) => {
  const { tm, clock } = await bootPumpedMachine(t);
  const { domid, kernel } = await guestWithDisk(tm, 'late', image('late.img'));
  const slow = tm.m.faults.add({ probability: 1, count: null, durationMs: null, seed: 1, options: { delayMs: 8000 }, kind: 'disk-slow', target: { domid, name: 'late' } });
  const write = kernel.blocks.find('xvda')!.write(0, pattern(4096, 1));
  let outcome: { code?: string; message?: string } | null = null;
  const suspending = tm.m.toolstack.suspendDomain(domid, { timeoutNs: 5e9 }).then(
    () => (outcome = { code: 'done' }),
    (err: { code?: string; message?: string }) => (outcome = err),
  );
  await until(() => kernel.log.lines.some((l) => l.includes('PM: freezing devices')), 'the guest took the request');
  clock.advance(5e9);
  await suspending;
  t.like(outcome, { code: 'ETIMEDOUT' });
  tm.m.faults.clear(slow.id);
  clock.advance(3e9);
  await write;
  await until(() => kernel.log.lines.some((l) => l.includes('suspend cancelled, resuming in the same domain')), 'resumed once it suspended');
  t.is(kernel.state, 'running');
  t.is(tm.m.hv.get(domid).shutdownReason, null);
  t.true(tm.log.some((l) => l.includes('suspended after the toolstack gave up: resumed')));
});

test('a host bringing its domains back resumes each from its image under its domid, and boots one whose image does not resume', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const ts = tm.m.toolstack;
  const a = await ts.create(yamlConfig('name: ra\nmemory: 64\nvcpus: 2\n'));
  const b = await ts.create(yamlConfig('name: rb\nmemory: 64\n'));
  await until(() => ts.kernel(a.domid)?.state === 'running' && ts.kernel(b.domid)?.state === 'running', 'both running');
  const images = new Map([a, b].map((r) => [r.domid, null as DomainImage | null]));
  for (const r of [a, b]) {
    images.set(r.domid, await ts.suspendDomain(r.domid));
    await ts.destroySaved(r.domid);
  }
  // b's kernel state is for another number of vCPUs: its interrupt layer refuses it.
  images.get(b.domid)!.kernel.intr.nrVcpus = 7;
  await ts.rebuildAfterRestart([a, b], async (r) => images.get(r.domid) ?? null);
  const ka = ts.kernel(a.domid)!;
  const kb = ts.kernel(b.domid)!;
  await until(() => ka.state === 'running' && kb.state === 'running', 'both back');
  t.is(ka.log.lines.filter((l) => l.includes('Booting ra')).length, 1, 'ra resumed: its log goes on');
  t.true(ka.log.lines.some((l) => l.includes(`resumed in domain ${a.domid}`)));
  t.false(kb.log.lines.some((l) => l.includes('resumed in domain')), 'rb booted afresh');
  t.true(tm.log.some((l) => l.includes(`domain ${b.domid} 'rb' could not resume from its image`)));
});
