/**
 * The guest kernel's writes reach log-dirty: with the mode on, the pages a block write
 * filled, the frame netfront put on its tx ring and the frame netback copied into the
 * other guest's rx buffer are each in the next CLEAN, holding those bytes. A path
 * that forgot to report its store would leave a migration's target with a stale page.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XEN_DOMCTL_SHADOW_OP as OP } from '../../src/abi/index.js';
import { Domctl } from '../../src/hypervisor/domctl.js';
import { dirtyFrames } from '../../src/toolstack/migrate/precopy.js';
import { bootMachine, until, yamlConfig, type TestMachine } from '../helpers/machine.js';

const dir = mkdtempSync(join(tmpdir(), 'xe-logdirty-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

/** The dirty pages of `domid` since the last clean, with their contents. */
function clean(tm: TestMachine, domctl: Domctl, domid: number): Map<number, Buffer> {
  const gfns = dirtyFrames(domctl.shadowControl(domid, OP.CLEAN)!.bitmap);
  return new Map(gfns.map((g) => [g, Buffer.from(domctl.readFrame(domid, g) ?? new Uint8Array(4096))]));
}

/** Whether some dirty page holds `bytes` at `offset`. */
function holds(pages: Map<number, Buffer>, bytes: Buffer, offset = 0): boolean {
  return [...pages.values()].some((p) => p.subarray(offset, offset + bytes.length).equals(bytes));
}

test('a block write: every page of the data is dirty in the writing guest', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const img = join(dir, 'd.img');
  writeFileSync(img, Buffer.alloc(1 << 20));
  const r = await tm.m.toolstack.create(yamlConfig(`name: w\nmemory: 64\ndisk:\n  - "vdev=xvda, access=rw, target=${img}"\n`));
  const k = tm.m.kernel(r.domid)!;
  await until(() => k.blocks?.find('xvda') !== undefined, 'xvda');
  const domctl = new Domctl(tm.m.hv);
  domctl.shadowControl(r.domid, OP.ENABLE_LOGDIRTY);
  const data = Buffer.alloc(16 * 4096);
  for (let p = 0; p < 16; p++) data.fill(p + 1, p * 4096, (p + 1) * 4096);
  await k.blocks.find('xvda')!.write(0, data);
  const dirty = clean(tm, domctl, r.domid);
  for (let p = 0; p < 16; p++) t.true(holds(dirty, data.subarray(p * 4096, (p + 1) * 4096)), `page ${p} of the write is dirty`);
});

test('a frame between two guests: dirty in the sender\'s tx buffer and in the receiver\'s rx buffer', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const ts = tm.m.toolstack;
  const ra = await ts.create(yamlConfig('name: na\nmemory: 64\nvif:\n  - "bridge=xenbr0"\n'));
  const rb = await ts.create(yamlConfig('name: nb\nmemory: 64\nvif:\n  - "bridge=xenbr0"\n'));
  const [a, b] = [ts.kernel(ra.domid)!, ts.kernel(rb.domid)!];
  await until(() => a.netfront?.nic(0) !== undefined && b.netfront?.nic(0) !== undefined, 'both NICs up');
  const domctl = new Domctl(tm.m.hv);
  domctl.shadowControl(ra.domid, OP.ENABLE_LOGDIRTY);
  domctl.shadowControl(rb.domid, OP.ENABLE_LOGDIRTY);
  const received = b.netfront.nic(0)!.stats().rxPackets;
  // A broadcast frame of a type nobody answers, with a payload to find.
  const payload = Buffer.alloc(600, 0x5a);
  const frame = Buffer.concat([Buffer.from('ffffffffffff', 'hex'), Buffer.from(a.netfront.nic(0)!.mac.split(':').map((h) => parseInt(h, 16))), Buffer.from([0x88, 0xb5]), payload]);
  t.true(a.netfront.nic(0)!.send(frame));
  await until(() => b.netfront.nic(0)!.stats().rxPackets > received, 'nb received it');
  t.true(holds(clean(tm, domctl, ra.domid), frame), 'the tx page netfront filled');
  const rx = clean(tm, domctl, rb.domid);
  t.true([...rx.values()].some((p) => p.includes(payload)), 'the rx page netback copied into');
});
