/**
 * Live migration between two machines in one process, over an in-memory pipe pair:
 * xl's sender and receiver with the real toolstacks, drivers and stream codec. The
 * guest writes memory (memwrite --loop) and its disk while the rounds go; what
 * arrives is the source's memory at the suspend, page for page, and every write the
 * guest saw acknowledged is on the shared disk. Failures on the way leave the domain
 * running on the source.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Transform } from 'node:stream';
import { Domctl } from '../../src/hypervisor/domctl.js';
import type { SavedMemory } from '../../src/hypervisor/memory.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import type { DomainConfig } from '../../src/toolstack/config/index.js';
import { streamChannel } from '../../src/toolstack/migrate/channel.js';
import { LIBXC_REC } from '../../src/toolstack/migrate/stream-format.js';
import { toolstackSource, toolstackTarget } from '../../src/toolstack/migrate/ends.js';
import { migrateReceive, type ReceiveResult } from '../../src/toolstack/migrate/receiver.js';
import { migrateDomain, type MigrationReport } from '../../src/toolstack/migrate/sender.js';
import { bootMachine, until, yamlConfig, type TestMachine } from '../helpers/machine.js';
import { pattern } from '../kernel/blk/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'xe-migrate-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

function image(name: string, bytes = 4 << 20): string {
  const p = join(dir, name);
  writeFileSync(p, Buffer.alloc(bytes));
  return p;
}

async function twoHosts(t: { teardown(f: () => Promise<void>): void }): Promise<[TestMachine, TestMachine]> {
  const a = await bootMachine();
  const b = await bootMachine();
  t.teardown(async () => {
    await a.dispose();
    await b.dispose();
  });
  return [a, b];
}

async function guest(tm: TestMachine, name: string, img: string, extra = ''): Promise<{ domid: number; kernel: Kernel }> {
  const r = await tm.m.toolstack.create(yamlConfig(`name: ${name}\n${extra}memory: 64\nvcpus: 2\ndisk:\n  - "vdev=xvda, access=rw, target=${img}"\nvif:\n  - "bridge=xenbr0"\n`));
  const kernel = tm.m.kernel(r.domid)!;
  await until(() => kernel.blocks?.find('xvda') !== undefined, 'xvda in the guest');
  return { domid: r.domid, kernel };
}

/**
 * The pipes between the two ends; `damage` sits on the way from sender to receiver
 * (a Transform that may cut or corrupt the stream).
 */
function pipes(damage?: Transform) {
  const toTarget = new PassThrough();
  const toSource = new PassThrough();
  // Each chunk takes a turn of the event loop, as on a real pipe: the guest runs meanwhile.
  const wire = new Transform({ transform: (chunk: Buffer, _enc, done) => void setImmediate(() => done(null, chunk)) });
  const targetIn = toTarget.pipe(wire);
  const received = damage === undefined ? targetIn : targetIn.pipe(damage);
  // A receiver that is done or dead closes its end: the sender's next write fails (EPIPE).
  damage?.on('error', (err) => toTarget.destroy(err));
  toSource.on('finish', () => toTarget.destroy());
  return { source: streamChannel(toSource, toTarget), target: streamChannel(received, toSource) };
}

interface Run {
  sent: PromiseSettledResult<MigrationReport>;
  received: PromiseSettledResult<ReceiveResult>;
  lines: string[];
  /** The source's memory as it was once the domain suspended. */
  atSuspend: SavedMemory | null;
}

async function migrate(a: TestMachine, b: TestMachine, domid: number, o: { damage?: Transform; paused?: boolean; config?: DomainConfig; verify?: boolean; afterSuspend?: (domid: number) => Promise<void>; onLine?: (line: string) => void } = {}): Promise<Run> {
  const ch = pipes(o.damage);
  const lines: string[] = [];
  const say = (l: string) => {
    lines.push(l);
    o.onLine?.(l);
  };
  const src = toolstackSource(a.m.toolstack, new Domctl(a.m.hv), o.config);
  let atSuspend: SavedMemory | null = null;
  const suspend = src.suspend;
  src.suspend = async (id) => {
    const img = await suspend(id);
    atSuspend = a.m.hv.saveDomain(id).memory;
    await o.afterSuspend?.(id);
    return img;
  };
  const d = a.m.hv.get(domid);
  const [sent, received] = await Promise.allSettled([
    migrateDomain(src, ch.source, { domid, name: d.name, type: d.type, maxPages: d.memory.maxPages, configJson: null, rune: 'test pipe', verify: o.verify ?? false }, say),
    migrateReceive(toolstackTarget(b.m.toolstack), ch.target, { paused: o.paused ?? false }, say),
  ]);
  return { sent, received, lines, atSuspend };
}

function pageHashes(m: SavedMemory, skip: ReadonlySet<number>): Map<number, string> {
  const out = new Map<number, string>();
  m.pfns.forEach((pfn, i) => {
    if (!skip.has(pfn)) out.set(pfn, createHash('sha256').update(m.pages[i]!).digest('hex'));
  });
  return out;
}

/** The source kept the domain: running, not suspended, not renamed, log-dirty off. */
function keptAtSource(t: { is: (a: unknown, b: unknown, m?: string) => void }, a: TestMachine, domid: number, name: string): void {
  const d = a.m.hv.get(domid);
  t.is(d.shutdownReason, null, 'not shut down');
  t.is(d.name, name, 'its own name');
  t.is(d.memory.logDirty, false, 'log-dirty off');
  t.is(a.m.toolstack.kernel(domid)!.state, 'running', 'its kernel runs');
}

test('under memory and disk writes: the target gets the memory as it was at the suspend and the disk with every acknowledged write; the source domain goes', async (t) => {
  const [a, b] = await twoHosts(t);
  const img = image('live.img');
  const { domid, kernel } = await guest(a, 'mover', img);
  const xvda = kernel.blocks.find('xvda')!;
  for (let i = 0; i < 16; i++) await xvda.write(i * 4096, pattern(4096, i + 1));
  // The guest keeps rewriting 2 MiB while the rounds go, and writes its disk.
  kernel.shell.input(Buffer.from('memwrite --loop 2M\r'));
  const writes = Array.from({ length: 64 }, (_, i) => xvda.write((64 + i) * 8192, pattern(4096, 100 + i)).then(() => i));

  // With --debug's verify pass: every page again after the last round, compared at the target.
  const run = await migrate(a, b, domid, { paused: true, verify: true });
  t.is(run.sent.status, 'fulfilled', run.lines.join('\n'));
  t.is(run.received.status, 'fulfilled', run.lines.join('\n'));
  const report = (run.sent as PromiseFulfilledResult<MigrationReport>).value;
  const got = (run.received as PromiseFulfilledResult<ReceiveResult>).value;
  t.true(got.started);
  t.is(got.name, 'mover');
  t.true(report.rounds.length >= 3, `rounds: ${report.rounds.map((r) => r.pages).join(', ')}`);
  t.true(report.rounds.at(-1)!.final);
  t.true(report.rounds[1]!.pages > 0, 'the guest dirtied pages during round 0, which round 1 sent');
  t.false(a.m.hv.domains.has(domid), 'gone from the source');
  t.true(run.lines.some((l) => /^migration target: verify: \d+ pages compared, 0 differ$/.test(l)), run.lines.join('\n'));

  // Paused on the target (-p), its memory is the source's at the suspend. Aside: start_info
  // (the target's ports are new there) and the XenStore and console rings, which the
  // target's xenstored and xenconsoled take up at once (the output the source's console
  // had not read yet is read here, moving the ring's out_cons).
  const top = 64 * 256;
  const ring = async (key: string) => Number((await b.xs.read(`/local/domain/${got.domid}/${key}/ring-ref`)).toString());
  const skip = new Set([top - 3, await ring('store'), await ring('console')]);
  t.is(skip.size, 3);
  t.deepEqual(pageHashes(b.m.hv.saveDomain(got.domid).memory, skip), pageHashes(run.atSuspend!, skip));

  // Every write the guest saw acknowledged is on the disk both hosts reach; the others failed whole.
  const results = await Promise.allSettled(writes);
  const file = readFileSync(img);
  for (let i = 0; i < 16; i++) t.deepEqual(new Uint8Array(file.subarray(i * 4096, (i + 1) * 4096)), pattern(4096, i + 1));
  results.forEach((r, i) => {
    const landed = new Uint8Array(file.subarray((64 + i) * 8192, (64 + i) * 8192 + 4096));
    if (r.status === 'fulfilled') t.deepEqual(landed, pattern(4096, 100 + i), `write ${i} acknowledged and on disk`);
    else t.deepEqual(landed, new Uint8Array(4096), `write ${i} failed (${(r.reason as Error).message}) and never reached the disk`);
  });

  // It runs on the target: the disk reads back, the NIC is on the target's xenbr0.
  await b.m.toolstack.unpause(got.domid);
  const k2 = b.m.toolstack.kernel(got.domid)!;
  await until(() => k2.state === 'running' && k2.blocks?.find('xvda') !== undefined, 'the guest runs on the target with xvda');
  t.deepEqual(new Uint8Array(await k2.blocks.find('xvda')!.read(0, 4096)), pattern(4096, 1));
  t.deepEqual(run.lines.filter((l) => l.startsWith('migration sender')), [
    'migration sender: Target has acknowledged transfer.',
    'migration sender: Giving target permission to start.',
    'migration sender: Target reports successful startup.',
  ]);
});

test('a target that goes away half way through the stream: the source resumes the domain, the target has nothing', async (t) => {
  const [a, b] = await twoHosts(t);
  const { domid, kernel } = await guest(a, 'stay', image('cut.img'));
  kernel.shell.input(Buffer.from('memwrite 1M\r'));
  await until(() => kernel.log.lines.length > 0 && a.m.hv.get(domid).memory.backedPages > 256, '1 MiB written');
  let passed = 0;
  const cut = new Transform({
    transform(chunk: Buffer, _enc, done) {
      passed += chunk.length;
      // Half a megabyte in, the receiver's pipe breaks.
      if (passed > 512 * 1024) done(new Error('EPIPE: the target died'));
      else done(null, chunk);
    },
  });
  const run = await migrate(a, b, domid, { damage: cut });
  t.is(run.sent.status, 'rejected');
  t.regex((run.sent as PromiseRejectedResult).reason.message as string, /Migration failed, resuming at sender\./);
  t.is(run.received.status, 'rejected');
  t.regex((run.received as PromiseRejectedResult).reason.message as string, /Domain creation failed/);
  keptAtSource(t, a, domid, 'stay');
  t.deepEqual([...b.m.hv.domains.keys()], [0], 'no domain at the target');
});

test('a pipe that breaks after the suspend, on the final records: the source resumes the suspended domain', async (t) => {
  const [a, b] = await twoHosts(t);
  const { domid } = await guest(a, 'late', image('late.img'));
  // The stream's final records go in one write that starts with X86_TSC_INFO: the pipe breaks there.
  const cut = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (chunk.length >= 4 && chunk.readUInt32LE(0) === LIBXC_REC.X86_TSC_INFO) done(new Error('EPIPE: the target died'));
      else done(null, chunk);
    },
  });
  const run = await migrate(a, b, domid, { damage: cut });
  t.is(run.sent.status, 'rejected', run.lines.join('\n'));
  t.not(run.atSuspend, null, 'the domain had suspended');
  keptAtSource(t, a, domid, 'late');
  t.deepEqual([...b.m.hv.domains.keys()], [0]);
});

test('a target that refuses (a domain of that name is there): the sender resumes its copy under its name', async (t) => {
  const [a, b] = await twoHosts(t);
  const { domid } = await guest(a, 'twin', image('twin-a.img'));
  // Another domain of that name (its own uuid: restore refuses a uuid the host has, before any rename).
  await guest(b, 'twin', image('twin-b.img'), 'uuid: 5b0b7f04-2d6c-4d3e-9c1a-0c2f5e8a9d11\n');
  const run = await migrate(a, b, domid);
  t.is(run.sent.status, 'rejected');
  t.regex((run.sent as PromiseRejectedResult).reason.message as string, /Migration failed due to problems at target\./);
  t.true(run.lines.includes('migration sender: Target reports startup failure (status code 6).'), run.lines.join('\n'));
  t.true(run.lines.includes('migration sender: Resumed OK.'));
  t.like((run.received as PromiseFulfilledResult<ReceiveResult>).value, { started: false });
  keptAtSource(t, a, domid, 'twin');
  t.deepEqual(
    [...b.m.hv.domains.values()].map((d) => d.name),
    ['Domain-0', 'twin'],
    'the target destroyed its copy and kept its own twin',
  );
});

test('a stream the target cannot read (corrupted on the way) is refused; the source keeps the domain running', async (t) => {
  const [a, b] = await twoHosts(t);
  const { domid } = await guest(a, 'garbled', image('garbled.img'));
  let first = true;
  const corrupt = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (first) {
        first = false;
        const c = Buffer.from(chunk);
        c[0]! ^= 0xff; // the xl header's magic
        done(null, c);
      } else done(null, chunk);
    },
  });
  const run = await migrate(a, b, domid, { damage: corrupt });
  t.is(run.sent.status, 'rejected');
  t.regex((run.received as PromiseRejectedResult).reason.message as string, /Domain creation failed/);
  t.true(run.lines.some((l) => /xl header/.test(l)), run.lines.join('\n'));
  keptAtSource(t, a, domid, 'garbled');
  t.deepEqual([...b.m.hv.domains.keys()], [0]);
});

test('-C: the target builds the domain from the config sent instead of the one it was created from', async (t) => {
  const [a, b] = await twoHosts(t);
  const img = image('other.img');
  const { domid } = await guest(a, 'recast', img);
  // As if created from an xl.cfg that spelled out on_crash: list -l would print it.
  a.m.toolstack.record(domid)!.given = { keys: ['on_crash'], disk: [], vif: [] };
  const config = { ...a.m.toolstack.record(domid)!.config, on_crash: 'preserve' as const };
  const run = await migrate(a, b, domid, { config });
  t.is(run.sent.status, 'fulfilled', run.lines.join('\n'));
  const got = (run.received as PromiseFulfilledResult<ReceiveResult>).value;
  t.is(b.m.toolstack.record(got.domid)!.config.on_crash, 'preserve');
  t.is(b.m.toolstack.record(got.domid)!.given, undefined, 'what the old config spelled out did not come with the new one');
  t.is(a.m.toolstack.record(domid), undefined);
});

test('a domain something else resumed during the last round (a racing checkpoint) does not start at the target; it runs on here', async (t) => {
  const [a, b] = await twoHosts(t);
  const { domid } = await guest(a, 'raced', image('raced.img'));
  const run = await migrate(a, b, domid, { afterSuspend: (id) => a.m.toolstack.resumeDomain(id) });
  t.is(run.sent.status, 'rejected');
  t.regex((run.sent as PromiseRejectedResult).reason.message as string, /Migration failed, resuming at sender\./);
  t.true(run.lines.some((l) => l.includes('the domain ran again during the last round')), run.lines.join('\n'));
  keptAtSource(t, a, domid, 'raced');
  t.deepEqual([...b.m.hv.domains.keys()], [0]);
});

test('a domain resumed after the last round, before the "go": no go, the target destroys its copy, the domain runs on here', async (t) => {
  const [a, b] = await twoHosts(t);
  const { domid } = await guest(a, 'late2', image('late2.img'));
  const run = await migrate(a, b, domid, {
    onLine: (l) => {
      if (l.startsWith('migration target: Transfer complete')) void a.m.toolstack.resumeDomain(domid);
    },
  });
  t.is(run.sent.status, 'rejected');
  t.true(run.lines.some((l) => l.includes('the domain ran again after the last round')), run.lines.join('\n'));
  t.regex((run.received as PromiseRejectedResult).reason.message as string, /no permission to start the domain came; our copy is destroyed/);
  keptAtSource(t, a, domid, 'late2');
  t.deepEqual([...b.m.hv.domains.keys()], [0], 'no NAME--incoming left behind');
});

test('a target whose NIC cannot come up (no such bridge there): it says so at the "go", destroys its copy, and the source resumes the domain', async (t) => {
  const a = await bootMachine();
  const b = await bootMachine({ bridges: [] });
  t.teardown(async () => {
    await a.dispose();
    await b.dispose();
  });
  const { domid } = await guest(a, 'nobridge', image('nobridge.img'));
  const run = await migrate(a, b, domid);
  t.is(run.sent.status, 'rejected', run.lines.join('\n'));
  t.true(run.lines.some((l) => l.startsWith('migration target:') && l.includes('xenbr0')), run.lines.join('\n'));
  // The target said ready before its backends were up (they came up during the "go"): the failure comes with the start.
  t.true(run.lines.includes('migration sender: Target reports startup failure (status code 3).'), run.lines.join('\n'));
  t.true(run.lines.includes('migration sender: Resumed OK.'));
  keptAtSource(t, a, domid, 'nobridge');
  t.deepEqual([...b.m.hv.domains.keys()], [0], 'nothing left at the target');
  t.deepEqual(
    (await b.xs.directory('/local/domain/0/backend/vif').catch(() => [])).length + (await b.xs.directory('/local/domain/0/backend/vbd').catch(() => [])).length,
    0,
    'no backend nodes left at the target',
  );
});
