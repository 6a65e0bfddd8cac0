import test from 'ava';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectXsClient } from '../../src/client/xs-socket.js';
import type { XsClient } from '../../src/protocol/xs-client.js';
import { fakeVbdBackend } from '../helpers/fake-vbd-backend.js';
import { assertXlBuilt, scratch, scratchFile, xlHost, type XlHost } from './helpers.js';

// xl block-attach / block-list / block-detach (tools/xl/xl_block.c) through both
// front doors, the shim and `xenemu`. The backend is played by the test (a driver
// domain created paused runs no kernel, so no real blkback competes): these tests are
// about the toolstack's side, what it writes and what it prints.

assertXlBuilt();

const dir = scratch('xe-blk-');

function image(name: string, mode = 0o644): string {
  const p = join(dir, name);
  writeFileSync(p, Buffer.alloc(8192));
  chmodSync(p, mode);
  return p;
}

interface Setup {
  h: XlHost;
  xs: XsClient;
  dd: number;
  g: number;
  stop: () => Promise<void>;
}

async function setup(t: { teardown(fn: () => Promise<void>): void }, backend: { initWait?: boolean; close?: boolean } = {}): Promise<Setup> {
  const h = await xlHost();
  t.teardown(() => h.dispose());
  for (const name of ['dd', 'g']) {
    const r = await h.xl('create', '-q', '-p', scratchFile(`${name}.yaml`, `name: ${name}\nmemory: 64\n`));
    if (r.code !== 0) throw new Error(r.stderr);
  }
  const c = await h.client();
  const dd = await c.domid('dd');
  const g = await c.domid('g');
  const xs = await connectXsClient(h.host.paths.socket);
  const stop = await fakeVbdBackend(xs, dd, backend);
  t.teardown(async () => {
    await stop().catch(() => {});
    xs.close();
  });
  return { h, xs, dd, g, stop };
}

const header = 'Vdev  BE  handle state evt-ch ring-ref BE-path                       \n';

test('attach, list (xl\'s columns byte for byte, from both front doors), detach', async (t) => {
  const { h, dd, g, xs } = await setup(t);
  const img = image('a.img');
  // xl -N: the libxl_device_disk xl would pass (libxl_device_disk_to_json), nothing attached.
  t.deepEqual(await h.xl('-N', 'block-attach', 'g', `vdev=xvdb,backend=dd,target=${img}`), {
    stdout: `disk: {\n    "backend_domname": "dd",\n    "pdev_path": "${img}",\n    "vdev": "xvdb",\n    "format": "raw",\n    "readwrite": 1\n}\n\n`,
    stderr: '',
    code: 0,
  });
  t.is((await h.xl('block-list', 'g')).stdout, header);
  const a = await h.xl('block-attach', 'g', `vdev=xvdb,access=rw,backend=dd,target=${img}`);
  t.deepEqual(a, { stdout: '', stderr: '', code: 0 });
  const row = `51728 ${String(dd).padEnd(3)} ${String(g).padEnd(6)} 1     -1     -1       /local/domain/${dd}/backend/vbd/${g}/51728\n`;
  t.deepEqual(await h.xl('block-list', 'g'), { stdout: header + row, stderr: '', code: 0 });
  t.deepEqual(await h.xenemu('block-list', String(g)), { stdout: header + row, stderr: '', code: 0 });
  // Once the frontend publishes its ring, the columns show it.
  await xs.write(`/local/domain/${g}/device/vbd/51728/event-channel`, '7');
  await xs.write(`/local/domain/${g}/device/vbd/51728/ring-ref`, '8');
  await xs.write(`/local/domain/${g}/device/vbd/51728/state`, '4');
  t.is((await h.xl('block-list', 'g')).stdout, header + `51728 ${String(dd).padEnd(3)} ${String(g).padEnd(6)} 4     7      8        /local/domain/${dd}/backend/vbd/${g}/51728\n`);
  // An unknown domain is named on stderr and skipped; the status stays 0, as xl's.
  t.deepEqual(await h.xl('block-list', 'nosuch', 'g'), { stdout: header + `51728 ${String(dd).padEnd(3)} ${String(g).padEnd(6)} 4     7      8        /local/domain/${dd}/backend/vbd/${g}/51728\n`, stderr: 'nosuch is an invalid domain identifier\n', code: 0 });

  const long = await h.xenemu('block-list', '-l', 'g');
  t.is(long.code, 0);
  t.regex(long.stdout, new RegExp(`^Dom +Vdev .*Target\\n${g} +xvdb +${dd} +4 +2 +rw .* ${img}\\n$`));
  const json = JSON.parse((await h.xenemu('block-list', '--json', 'g')).stdout) as Array<{ domid: number; disks: Array<{ vdev: string; target: string }> }>;
  t.like(json[0], { domid: g });
  t.like(json[0]!.disks[0], { vdev: 'xvdb', target: img });

  t.deepEqual(await h.xenemu('block-detach', 'g', 'xvdb'), { stdout: '', stderr: '', code: 0 });
  t.is((await h.xl('block-list', 'g')).stdout, header);
  t.deepEqual(await h.xl('block-detach', 'g', 'xvdb'), { stdout: '', stderr: 'Error: Device xvdb not connected.\n', code: 1 });
});

test('bad input: xl\'s messages and statuses, and nothing left in XenStore', async (t) => {
  const { h, g, xs } = await setup(t);
  const missing = join(dir, 'missing.img');
  t.deepEqual(await h.xl('block-attach', 'g', `vdev=xvdc,backend=dd,target=${missing}`), {
    stdout: '',
    stderr: `xenemu: Disk vdev=xvdc failed to stat: ${missing}: No such file or directory\nlibxl_device_disk_add failed.\n`,
    code: 1,
  });
  const ro = image('ro.img', 0o444);
  t.deepEqual(await h.xenemu('block-attach', 'g', `vdev=xvdc,access=rw,backend=dd,target=${ro}`), {
    stdout: '',
    stderr: `xenemu: File ${ro} is read-only, and so I will not mount it read-write in a guest domain.\nlibxl_device_disk_add failed.\n`,
    code: 1,
  });
  const bad = await h.xl('block-attach', 'g', 'vdev=xvdc,format=qcow7,target=/x');
  t.is(bad.code, 1);
  t.regex(bad.stderr, /^command line: config parsing error in disk specification: unknown value for format near "qcow7".* in `vdev=xvdc,format=qcow7,target=\/x'\n$/);
  const badVdev = await h.xl('block-attach', 'g', `vdev=xvz,target=${image('v.img')}`);
  t.is(badVdev.code, 1);
  t.regex(badVdev.stderr, /^command line: config parsing error in disk specification: "xvz" is not a virtual disk name/);
  t.deepEqual(await h.xl('block-attach', 'nosuch', `vdev=xvdc,target=${image('n.img')}`), { stdout: '', stderr: 'nosuch is an invalid domain identifier\n', code: 1 });
  t.deepEqual(await h.xl('block-detach', 'g', 'xvdq'), { stdout: '', stderr: 'Error: Device xvdq not connected.\n', code: 1 });
  t.false(await xs.read(`/libxl/${g}/device/vbd`).then(() => true, () => false));
  t.false(await xs.read(`/local/domain/${g}/device/vbd`).then(() => true, () => false));

  // A vdev in use.
  const img = image('b.img');
  t.is((await h.xl('block-attach', 'g', `vdev=xvdc,backend=dd,target=${img}`)).code, 0);
  const again = await h.xl('block-attach', 'g', 'vdev=xvdc', 'backend=dd', `target=${image('c.img')}`);
  t.is(again.code, 1);
  t.regex(again.stderr, /^xenemu: vdev xvdc \(device 51744\) of domain \d+ is already in use: device already exists in xenstore\nlibxl_device_disk_add failed.\n$/);
});

test('hotplug scripts: run with libxl\'s environment; a failure fails the attach with its hotplug-error', async (t) => {
  const { h, dd, g, xs } = await setup(t);
  const log = join(dir, 'env.log');
  const ok = join(dir, 'ok-script');
  writeFileSync(
    ok,
    `#!/bin/sh\necho "$1 script=$script XENBUS_TYPE=$XENBUS_TYPE XENBUS_PATH=$XENBUS_PATH XENBUS_BASE_PATH=$XENBUS_BASE_PATH" >> ${log}\nxenstore-write "$XENBUS_PATH/hotplug-status" connected\n`,
  );
  chmodSync(ok, 0o755);
  const fail = join(dir, 'fail-script');
  writeFileSync(fail, `#!/bin/sh\nxenstore-write "$XENBUS_PATH/hotplug-error" "no such iSCSI target" "$XENBUS_PATH/hotplug-status" error\nexit 1\n`);
  chmodSync(fail, 0o755);

  t.deepEqual(await h.xl('block-attach', 'g', `vdev=xvdd,backend=dd,script=${ok},target=iqn.2001-04.com.example:disk`), { stdout: '', stderr: '', code: 0 });
  const be = `/local/domain/${dd}/backend/vbd/${g}/51760`;
  t.is((await xs.read(`${be}/script`)).toString(), ok);
  t.is((await xs.read(`${be}/params`)).toString(), 'iqn.2001-04.com.example:disk');
  t.is((await xs.read(`${be}/hotplug-status`)).toString(), 'connected');
  t.is((await h.xl('block-detach', 'g', 'xvdd')).code, 0);
  const { readFileSync } = await import('node:fs');
  t.is(
    readFileSync(log, 'utf8'),
    `add script=${ok} XENBUS_TYPE=vbd XENBUS_PATH=${be} XENBUS_BASE_PATH=backend\n` + `remove script=${ok} XENBUS_TYPE=vbd XENBUS_PATH=${be} XENBUS_BASE_PATH=backend\n`,
  );

  const r = await h.xl('block-attach', 'g', `vdev=xvde,backend=dd,script=${fail},target=x`);
  t.is(r.code, 1);
  t.is(r.stderr, `xenemu: script: hotplug script ${fail} add failed for /local/domain/${dd}/backend/vbd/${g}/51776: no such iSCSI target\nlibxl_device_disk_add failed.\n`);
  t.false(await xs.read(`/libxl/${g}/device/vbd`).then(() => true, () => false));
  t.false(await xs.read(`/local/domain/${dd}/backend/vbd`).then(() => true, () => false));
});

test('a disk from the config, served by dom0\'s blkback: Connected, in top -b -x, and connected again after kill -9 and a restart', async (t) => {
  const h = await xlHost();
  t.teardown(() => h.dispose());
  const img = image('cfg.img', 0o644);
  const cfg = scratchFile('d.yaml', `name: d\nmemory: 64\ndisk:\n  - "vdev=xvda, access=rw, target=${img}"\n`);
  t.is((await h.xl('create', '-q', cfg)).code, 0);
  const domid = await (await h.client()).domid('d');
  const row = `51712 0   ${String(domid).padEnd(6)} 4     `;
  const connected = async (): Promise<string> => {
    for (let i = 0; i < 500; i++) {
      const out = (await h.xl('block-list', 'd')).stdout;
      if (out.includes(row)) return out;
    }
    throw new Error('never Connected');
  };
  const before = await connected();
  t.regex(before, new RegExp(`^${header}${row}\\d+ +-1 +/local/domain/0/backend/vbd/${domid}/51712 *\\n$`));
  const top = await h.xenemu('top', '-b', '-i', '1', '-x');
  t.is(top.code, 0, top.stderr);
  // -l: both ends Connected, and blkback's counters where -l without a backend shows "-".
  const long = await h.xenemu('block-list', '-l', 'd');
  t.regex(long.stdout, new RegExp(`\\n${domid} +xvda +0 +4 +4 +rw +\\d+ +\\d+ +\\d+ +\\d+ +0 +0 ${img}\\n$`));
  t.regex(top.stdout, /VBD BlkBack 51712 \[ca: 0\] {2}OO: +0 {3}RD: +\d+ {3}WR: +\d+ {3}RSECT: +\d+ {3}WSECT: +\d+\n/);

  await h.host.kill();
  await h.host.restart();
  const after = await connected();
  t.regex(after, new RegExp(`^${header}${row}\\d+ +-1 +/local/domain/0/backend/vbd/${domid}/51712 *\\n$`));
});
