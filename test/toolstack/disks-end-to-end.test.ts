import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineSources } from '../../src/host/stats-service.js';
import type { XsClient } from '../../src/protocol/xs-client.js';
import { bootMachine, until, yamlConfig, type TestMachine } from '../helpers/machine.js';

// The toolstack's disks against the real drivers: dom0's blkback and the guest's
// blkfront (src/kernel/blk) find each other through the nodes the toolstack wrote.

const dir = mkdtempSync(join(tmpdir(), 'xe-disk-e2e-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

function image(name: string, bytes = 1 << 20): string {
  const p = join(dir, name);
  writeFileSync(p, Buffer.alloc(bytes));
  return p;
}

const state = (xs: XsClient, p: string): Promise<string> => xs.read(`${p}/state`).then(
  (b) => b.toString(),
  () => 'gone',
);

async function connected(tm: TestMachine, domid: number, devid: number): Promise<void> {
  const fe = `/local/domain/${domid}/device/vbd/${devid}`;
  const be = `/local/domain/0/backend/vbd/${domid}/${devid}`;
  await until(async () => (await state(tm.xs, fe)) === '4' && (await state(tm.xs, be)) === '4', `${fe} and ${be} Connected`);
}

test('create with a disk: backend and frontend Connected, block-list shows it, the guest writes into the file, top counts it', async (t) => {
  const tm = await bootMachine();
  try {
    const img = image('root.img');
    const r = await tm.m.toolstack.create(yamlConfig(`name: g\nmemory: 64\ndisk:\n  - "vdev=xvda, access=rw, target=${img}"\n`));
    await connected(tm, r.domid, 51712);
    const [row] = await tm.m.toolstack.blockList(r.domid);
    t.like(row, { devid: 51712, backendId: 0, frontendId: r.domid, state: 4, backendState: 4, vdev: 'xvda' });
    t.true(row!.evtch > 0);

    const kernel = tm.m.kernel(r.domid)!;
    await until(() => kernel.blocks.find('xvda') !== undefined, 'xvda in the guest');
    const data = Buffer.alloc(8192, 0x5a);
    await kernel.blocks.find('xvda')!.write(4096, data);
    t.deepEqual(readFileSync(img).subarray(4096, 4096 + 8192), data);
    const vbds = machineSources(tm.m).devices(r.domid).vbds;
    t.is(vbds.length, 1);
    t.like(vbds[0], { backend: 'BlkBack', dev: 51712, wr: 1, wsect: 16 });
  } finally {
    await tm.dispose();
  }
});

test('hot attach and detach on a running guest, through the real drivers', async (t) => {
  const tm = await bootMachine();
  try {
    const r = await tm.m.toolstack.create(yamlConfig('name: g\nmemory: 64\n'));
    const ts = tm.m.toolstack;
    const disk = yamlConfig(`name: x\ndisk:\n  - "vdev=xvdb, access=rw, target=${image('hot.img')}"\n`).disk[0]!;
    await ts.blockAttach(r.domid, disk);
    await connected(tm, r.domid, 51728);
    const kernel = tm.m.kernel(r.domid)!;
    await until(() => kernel.blocks.find('xvdb') !== undefined, 'xvdb in the guest');
    await ts.blockDetach(r.domid, 'xvdb', false);
    t.deepEqual(await ts.blockList(r.domid), []);
    t.is(await state(tm.xs, `/local/domain/0/backend/vbd/${r.domid}/51728`), 'gone');
    await until(() => kernel.blocks.find('xvdb') === undefined, 'xvdb gone from the guest');
    t.deepEqual(ts.record(r.domid)!.config.disk, []);
  } finally {
    await tm.dispose();
  }
});

test('after a restart of the machine, a rebuilt guest has its disks (config and hot-attached) connected again', async (t) => {
  const first = await bootMachine();
  let domid: number;
  const imgA = image('a.img');
  const imgB = image('b.img');
  const gone = image('gone.img');
  try {
    const r = await first.m.toolstack.create(yamlConfig(`name: g\nmemory: 64\ndisk:\n  - "vdev=xvda, target=${imgA}"\n`));
    domid = r.domid;
    await connected(first, domid, 51712);
    await first.m.toolstack.blockAttach(domid, yamlConfig(`name: x\ndisk:\n  - "vdev=xvdb, target=${imgB}"\n`).disk[0]!);
    await first.m.toolstack.blockAttach(domid, yamlConfig(`name: x\ndisk:\n  - "vdev=xvdc, target=${gone}"\n`).disk[0]!);
    await connected(first, domid, 51728);
  } finally {
    await first.dispose();
  }
  // An image deleted while the host was down: the guest comes back without that disk.
  rmSync(gone);
  const again = await bootMachine({ state: first.state, machine: first.m });
  try {
    await connected(again, domid, 51712);
    await connected(again, domid, 51728);
    const rows = await again.m.toolstack.blockList(domid);
    t.deepEqual(
      rows.map((x) => x.vdev),
      ['xvda', 'xvdb'],
    );
    t.true(again.log.some((l) => l.includes('comes back without its disk xvdc') && l.includes('failed to stat')));
    // Dropped from the record too, as a restart drops other changes that no longer apply.
    t.deepEqual(
      again.m.toolstack.record(domid)!.config.disk.map((d) => d.vdev),
      ['xvda', 'xvdb'],
    );
  } finally {
    await again.dispose();
  }
});

test('destroying a guest with a connected disk takes its backend down too', async (t) => {
  const tm = await bootMachine();
  try {
    const r = await tm.m.toolstack.create(yamlConfig(`name: g\nmemory: 64\ndisk:\n  - "vdev=xvda, target=${image('d.img')}"\n`));
    await connected(tm, r.domid, 51712);
    t.is(tm.m.dom0.blkback.devices().filter((b) => b.frontendDomid === r.domid).length, 1);
    await tm.m.toolstack.destroy(r.domid);
    t.is(await state(tm.xs, `/local/domain/0/backend/vbd/${r.domid}/51712`), 'gone');
    t.false(await tm.xs.read(`/libxl/${r.domid}`).then(() => true, () => false));
    await until(() => tm.m.dom0.blkback.devices().every((b) => b.frontendDomid !== r.domid), "dom0's blkback lets go of the disk");
    t.deepEqual(machineSources(tm.m).devices(r.domid).vbds, []);
  } finally {
    await tm.dispose();
  }
});

test('backend= a running driver domain: its blkback serves the disk, dom0 only wrote the nodes', async (t) => {
  const tm = await bootMachine();
  try {
    const dd = (await tm.m.toolstack.create(yamlConfig('name: dd\nmemory: 64\ndriver_domain: true\n'))).domid;
    const img = image('dd.img');
    const g = (await tm.m.toolstack.create(yamlConfig(`name: g\nmemory: 64\ndisk:\n  - "vdev=xvdb, backend=dd, target=${img}"\n`))).domid;
    const fe = `/local/domain/${g}/device/vbd/51728`;
    const be = `/local/domain/${dd}/backend/vbd/${g}/51728`;
    await until(async () => (await state(tm.xs, fe)) === '4' && (await state(tm.xs, be)) === '4', 'Connected through the driver domain');
    t.is(tm.m.dom0.blkback.devices().length, 0);
    t.is(tm.m.kernel(dd)!.blkback.devices().length, 1);
    const [row] = await tm.m.toolstack.blockList(g);
    t.like(row, { backendId: dd, state: 4, backendPath: be });
    const kernel = tm.m.kernel(g)!;
    await until(() => kernel.blocks.find('xvdb') !== undefined, 'xvdb in the guest');
    await kernel.blocks.find('xvdb')!.write(0, Buffer.alloc(4096, 0x33));
    t.deepEqual(readFileSync(img).subarray(0, 4096), Buffer.alloc(4096, 0x33));
    // xentop counts dom0's backends only, as libxenstat reads dom0's sysfs.
    t.deepEqual(machineSources(tm.m).devices(g).vbds, []);
  } finally {
    await tm.dispose();
  }
});

test('destroying guests while their disks are still connecting: nothing throws out of the dying kernels (ava fails on any unhandled rejection)', async (t) => {
  const tm = await bootMachine();
  try {
    const img = image('race.img');
    for (let i = 0; i < 48; i++) {
      const r = await tm.m.toolstack.create(yamlConfig(`name: r${i}\nmemory: 64\ndisk:\n  - "vdev=xvda, target=${img}"\n  - "vdev=xvdb, access=ro, target=${img}"\n`));
      // Destroy at a different point of the handshake each time.
      for (let k = 0; k < i % 16; k++) await new Promise((res) => setImmediate(res));
      await tm.m.toolstack.destroy(r.domid);
    }
    await until(() => tm.m.dom0.blkback.devices().length === 0, "dom0's blkback lets go of every disk");
    // A backend's last Closed, written after the toolstack removed its folder, does not make the folder again.
    t.deepEqual(await tm.xs.directory('/local/domain/0/backend/vbd').catch(() => []), []);
  } finally {
    await tm.dispose();
  }
});
