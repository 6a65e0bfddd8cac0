import test from 'ava';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../../src/hypervisor/clock.js';
import type { XsClient } from '../../src/protocol/xs-client.js';
import type { DiskSpec } from '../../src/toolstack/config/index.js';
import { bootMachine, pumpClock, until, yamlConfig, type TestMachine } from '../helpers/machine.js';
import { fakeVbdBackend } from '../helpers/fake-vbd-backend.js';

const dir = mkdtempSync(join(tmpdir(), 'xe-vbd-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

function image(name: string, mode = 0o644): string {
  const p = join(dir, name);
  writeFileSync(p, Buffer.alloc(4096));
  chmodSync(p, mode);
  return p;
}

/** One disk spec, read as a config's disk list reads it. */
function disk(spec: string): DiskSpec {
  return yamlConfig(`name: x\ndisk:\n  - ${JSON.stringify(spec)}\n`).disk[0]!;
}

/** Every node below `path` with its value and permissions, as `xenstore-ls -p` shows them. */
async function tree(xs: XsClient, path: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (p: string): Promise<void> => {
    const value = (await xs.read(p)).toString('latin1');
    out[p] = `${value} (${(await xs.getPerms(p)).join(',')})`;
    for (const c of await xs.directory(p)) await walk(`${p}/${c}`);
  };
  await walk(path);
  return out;
}

const exists = (xs: XsClient, p: string): Promise<boolean> => xs.read(p).then(
  () => true,
  () => false,
);

/** A guest and a driver domain, both paused: no kernel runs a backend, the test plays it. */
async function setup(clock?: VirtualClock): Promise<{ tm: TestMachine; guest: number; dd: number }> {
  const tm = await bootMachine(clock ? { clock } : {});
  const dd = (await tm.m.toolstack.create(yamlConfig('name: dd\nmemory: 64\n'), { paused: true })).domid;
  const guest = (await tm.m.toolstack.create(yamlConfig('name: g\nmemory: 64\n'), { paused: true })).domid;
  return { tm, guest, dd };
}

test('block-attach writes the vbd nodes libxl writes, key by key, with libxl\'s permissions', async (t) => {
  const { tm, guest, dd } = await setup();
  const stop = await fakeVbdBackend(tm.xs, dd);
  try {
    const img = image('a.img');
    await tm.m.toolstack.blockAttach(guest, disk(`vdev=xvdb, access=rw, backend=dd, target=${img}`));
    const fe = `/local/domain/${guest}/device/vbd/51728`;
    const be = `/local/domain/${dd}/backend/vbd/${guest}/51728`;
    const front = await tree(tm.xs, fe);
    t.deepEqual(front, {
      [fe]: ` (n${guest},r${dd})`,
      [`${fe}/backend`]: `${be} (n${guest},r${dd})`,
      [`${fe}/backend-id`]: `${dd} (n${guest},r${dd})`,
      [`${fe}/state`]: `1 (n${guest},r${dd})`,
      [`${fe}/virtual-device`]: `51728 (n${guest},r${dd})`,
      [`${fe}/device-type`]: `disk (n${guest},r${dd})`,
      [`${fe}/trusted`]: `1 (n${guest},r${dd})`,
      [`${fe}/protocol`]: `x86_64-abi (n${guest},r${dd})`,
    });
    const bp = `(n${dd},r${guest})`;
    const backKeys: Array<[string, string]> = [
      ['frontend', fe],
      ['params', img],
      ['script', '/etc/xen/scripts/block'],
      ['frontend-id', String(guest)],
      ['online', '1'],
      ['removable', '0'],
      ['bootable', '1'],
      ['state', '2'],
      ['dev', 'xvdb'],
      ['type', 'phy'],
      ['mode', 'w'],
      ['device-type', 'disk'],
      ['discard-enable', '1'],
      ['specification', 'xen'],
      // Xen's default block script, done in-process once the backend is in InitWait.
      ['hotplug-status', 'connected'],
    ];
    t.deepEqual(await tree(tm.xs, be), { [be]: ` ${bp}`, ...Object.fromEntries(backKeys.map(([k, v]) => [`${be}/${k}`, `${v} ${bp}`])) });
    // The /libxl copy: both paths, then every backend key as written (state stays 1).
    const lx = `/libxl/${guest}/device/vbd/51728`;
    const copy = await tree(tm.xs, lx);
    t.is(copy[`${lx}/frontend`], `${fe} (n0)`);
    t.is(copy[`${lx}/backend`], `${be} (n0)`);
    t.is(copy[`${lx}/state`], '1 (n0)');
    t.is(copy[`${lx}/params`], `${img} (n0)`);
    t.is(Object.keys(copy).length, 1 + 2 + backKeys.length - 2);

    const [row] = await tm.m.toolstack.blockList(guest);
    t.like(row, { devid: 51728, backendId: dd, frontendId: guest, state: 1, evtch: -1, rref: -1, backendPath: be, vdev: 'xvdb' });
    // The record keeps it: a restart or reboot brings it back.
    t.deepEqual(
      tm.m.toolstack.record(guest)!.config.disk.map((d) => d.vdev),
      ['xvdb'],
    );
  } finally {
    await stop();
    await tm.dispose();
  }
});

test('a read-only disk, a cdrom and an HVM guest: mode r, removable, device-type cdrom, no protocol', async (t) => {
  const tm = await bootMachine();
  try {
    const dd = (await tm.m.toolstack.create(yamlConfig('name: dd\nmemory: 64\n'), { paused: true })).domid;
    const h = (await tm.m.toolstack.create(yamlConfig('name: h\ntype: hvm\nmemory: 64\n'), { paused: true })).domid;
    const stop = await fakeVbdBackend(tm.xs, dd);
    const ro = image('ro.img', 0o444);
    await tm.m.toolstack.blockAttach(h, disk(`vdev=hdc, devtype=cdrom, backend=dd, target=${ro}`));
    const be = `/local/domain/${dd}/backend/vbd/${h}/5632`;
    t.is((await tm.xs.read(`${be}/mode`)).toString(), 'r');
    t.is((await tm.xs.read(`${be}/removable`)).toString(), '1');
    t.is((await tm.xs.read(`${be}/device-type`)).toString(), 'cdrom');
    t.is((await tm.xs.read(`${be}/discard-enable`)).toString(), '0');
    t.false(await exists(tm.xs, `/local/domain/${h}/device/vbd/5632/protocol`));
    await stop();
  } finally {
    await tm.dispose();
  }
});

test('bad disks fail with the reason and leave no node behind', async (t) => {
  const { tm, guest, dd } = await setup();
  const stop = await fakeVbdBackend(tm.xs, dd);
  try {
    const ts = tm.m.toolstack;
    const before = await tree(tm.xs, `/local/domain/${guest}`);
    const missing = join(dir, 'nope.img');
    await t.throwsAsync(ts.blockAttach(guest, disk(`vdev=xvdb, backend=dd, target=${missing}`)), { message: `Disk vdev=xvdb failed to stat: ${missing}: No such file or directory` });
    const ro = image('ro2.img', 0o444);
    await t.throwsAsync(ts.blockAttach(guest, disk(`vdev=xvdb, access=rw, backend=dd, target=${ro}`)), {
      message: `File ${ro} is read-only, and so I will not mount it read-write in a guest domain.`,
    });
    await t.throwsAsync(ts.blockAttach(guest, disk('vdev=xvdb, backend=dd, target=rel.img')), { message: 'Disk vdev=xvdb: the target "rel.img" is a relative path; give an absolute one' });
    await t.throwsAsync(ts.blockAttach(guest, disk(`vdev=xvdb, backend=dd, target=${dir}`)), { message: `Disk vdev=xvdb: ${dir} is not a regular file or a block device` });
    await t.throwsAsync(ts.blockAttach(guest, disk(`vdev=xvdb, format=qcow2, backend=dd, target=${image('q.img')}`)), { message: /no suitable backend for disk xvdb/ });
    await t.throwsAsync(ts.blockAttach(guest, disk(`vdev=xvdb, backend=nosuch, target=${image('n.img')}`)), { message: "Disk vdev=xvdb: backend domain 'nosuch' does not exist" });
    t.deepEqual(await tree(tm.xs, `/local/domain/${guest}`), before);
    t.false(await exists(tm.xs, `/libxl/${guest}/device/vbd`));
    t.false(await exists(tm.xs, `/local/domain/${dd}/backend`));

    // A vdev in use: refused, and the disk that has it is untouched.
    const img = image('b.img');
    await ts.blockAttach(guest, disk(`vdev=xvdb, backend=dd, target=${img}`));
    const held = await tree(tm.xs, `/local/domain/${dd}/backend/vbd/${guest}/51728`);
    await t.throwsAsync(ts.blockAttach(guest, disk(`vdev=51728, backend=dd, target=${image('c.img')}`)), { message: /already in use/ });
    t.deepEqual(await tree(tm.xs, `/local/domain/${dd}/backend/vbd/${guest}/51728`), held);
  } finally {
    await stop();
    await tm.dispose();
  }
});

test('block-detach: online=0 and Closing, then both folders and the /libxl copy go once the backend is Closed', async (t) => {
  const { tm, guest, dd } = await setup();
  const stop = await fakeVbdBackend(tm.xs, dd);
  try {
    const ts = tm.m.toolstack;
    await ts.blockAttach(guest, disk(`vdev=xvdc, backend=dd, target=${image('d.img')}`));
    const seen: string[] = [];
    const be = `/local/domain/${dd}/backend/vbd/${guest}/51744`;
    await tm.xs.watch(`${be}/state`, 'seen', () => void tm.xs.read(`${be}/state`).then((v) => seen.push(`state=${v.toString()}`), () => {}));
    await ts.blockDetach(guest, 'xvdc', false);
    await tm.xs.unwatch(`${be}/state`, 'seen');
    t.true(seen.includes('state=5'));
    for (const p of [`/local/domain/${guest}/device/vbd`, `/libxl/${guest}/device/vbd`, `/local/domain/${dd}/backend`]) t.false(await exists(tm.xs, p), p);
    // The guest's device/ folder itself is libxl's skeleton and stays.
    t.true(await exists(tm.xs, `/local/domain/${guest}/device`));
    t.deepEqual(ts.record(guest)!.config.disk, []);
    await t.throwsAsync(ts.blockDetach(guest, 'xvdc', false), { code: 'ENODEV', message: 'Device xvdc not connected.' } as never);
    await t.throwsAsync(ts.blockDetach(guest, 'bogus', false), { message: 'Device bogus not connected.' });
  } finally {
    await stop();
    await tm.dispose();
  }
});

test('a backend that never reaches InitWait fails the attach after 10 s (virtual) and its nodes go', async (t) => {
  const clock = new VirtualClock();
  const stopPump = pumpClock(clock);
  const { tm, guest, dd } = await setup(clock);
  try {
    const attach = tm.m.toolstack.blockAttach(guest, disk(`vdev=xvdb, backend=dd, target=${image('e.img')}`));
    const failed = t.throwsAsync(attach, { code: 'ETIMEDOUT', message: /unable to initialize device .*timed out after 10 s/ } as never);
    await until(() => exists(tm.xs, `/local/domain/${dd}/backend/vbd/${guest}/51728/state`), 'the backend folder');
    clock.advance(9.9e9);
    t.true(await exists(tm.xs, `/libxl/${guest}/device/vbd/51728`));
    clock.advance(0.2e9);
    await failed;
    t.false(await exists(tm.xs, `/libxl/${guest}/device/vbd/51728`));
    t.false(await exists(tm.xs, `/local/domain/${guest}/device/vbd/51728`));
    t.false(await exists(tm.xs, `/local/domain/${dd}/backend`));
  } finally {
    stopPump();
    await tm.dispose();
  }
});

test('a safe detach that the backend never closes fails and keeps the device; --force removes it anyway', async (t) => {
  const clock = new VirtualClock();
  const stopPump = pumpClock(clock);
  const { tm, guest, dd } = await setup(clock);
  const stop = await fakeVbdBackend(tm.xs, dd, { close: false });
  try {
    const ts = tm.m.toolstack;
    await ts.blockAttach(guest, disk(`vdev=xvdb, backend=dd, target=${image('f.img')}`));
    const be = `/local/domain/${dd}/backend/vbd/${guest}/51728`;
    const safe = t.throwsAsync(ts.blockDetach(guest, 'xvdb', false), { code: 'ETIMEDOUT' } as never);
    await until(async () => (await tm.xs.read(`${be}/state`)).toString() === '5', 'Closing');
    t.is((await tm.xs.read(`${be}/online`)).toString(), '0');
    clock.advance(10.1e9);
    await safe;
    t.true(await exists(tm.xs, be));
    t.is(ts.record(guest)!.config.disk.length, 1);

    const forced = t.throwsAsync(ts.blockDetach(guest, '51728', true), { code: 'ETIMEDOUT' } as never);
    // The frontend goes at once; the rest after the wait, whatever the backend did.
    await until(async () => !(await exists(tm.xs, `/local/domain/${guest}/device/vbd/51728`)), 'frontend removed');
    clock.advance(10.1e9);
    await forced;
    t.false(await exists(tm.xs, be));
    t.false(await exists(tm.xs, `/libxl/${guest}/device/vbd`));
    t.deepEqual(ts.record(guest)!.config.disk, []);
  } finally {
    await stop();
    stopPump();
    await tm.dispose();
  }
});

test('hotplug scripts that hang, say nothing or cannot run fail the attach, and its nodes go', async (t) => {
  const clock = new VirtualClock();
  const stopPump = pumpClock(clock);
  const { tm, guest, dd } = await setup(clock);
  const stop = await fakeVbdBackend(tm.xs, dd);
  const script = (name: string, body: string): string => {
    const p = join(dir, name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  };
  try {
    const ts = tm.m.toolstack;
    const started = join(dir, 'hang-started');
    const hang = script('hang', `touch ${started}; exec sleep 1000`);
    const attach = t.throwsAsync(ts.blockAttach(guest, disk(`vdev=xvdb, backend=dd, script=${hang}, target=x`)), {
      message: `script: hotplug script ${hang} add failed for /local/domain/${dd}/backend/vbd/${guest}/51728: timed out after 40 s`,
    });
    // LIBXL_HOTPLUG_TIMEOUT, on the machine's clock, from when the script started.
    for (let i = 0; i < 1000 && !existsSync(started); i++) await new Promise((r) => setTimeout(r, 10));
    t.true(existsSync(started), 'the script started');
    clock.advance(39e9);
    t.true(await exists(tm.xs, `/libxl/${guest}/device/vbd/51728`));
    clock.advance(2e9);
    await attach;
    const silent = script('silent', 'exit 0');
    await t.throwsAsync(ts.blockAttach(guest, disk(`vdev=xvdb, backend=dd, script=${silent}, target=x`)), {
      message: /add failed for .*: it exited without writing hotplug-status "connected"/,
    });
    const missing = join(dir, 'no-such-script');
    await t.throwsAsync(ts.blockAttach(guest, disk(`vdev=xvdb, backend=dd, script=${missing}, target=x`)), { message: /add failed for .*: cannot run it: spawn .*ENOENT/ });
    t.false(await exists(tm.xs, `/libxl/${guest}/device/vbd`));
    t.false(await exists(tm.xs, `/local/domain/${dd}/backend/vbd`));
  } finally {
    await stop();
    stopPump();
    await tm.dispose();
  }
});
