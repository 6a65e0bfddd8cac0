import test from 'ava';
import { bootMachine, until, yamlConfig } from '../helpers/machine.js';

const web = yamlConfig('name: web\ntype: pvh\nmemory: 256\nmaxmem: 512\nvcpus: 2\nmaxvcpus: 4\ncmdline: console=hvc0\n');

test('create builds, introduces and boots a guest; its home has libxl\'s layout and permissions', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const introduced: string[] = [];
  await tm.xs.watch('@introduceDomain', 'intro', (e) => introduced.push(e.path), 1); // depth 1: report the domid

  const r = await tm.m.toolstack.create(web);
  t.is(r.domid, 1);
  const kernel = tm.m.toolstack.kernel(1)!;
  await until(() => kernel.state === 'running', 'guest kernel running');
  t.true(kernel.xenHvmDomain, 'a PVH guest is an HVM container');
  t.false(kernel.xenPvDomain);

  const home = '/local/domain/1';
  const read = async (p: string) => (await tm.xs.read(p)).toString();
  t.is(await read(`${home}/name`), 'web');
  t.is(await read(`${home}/domid`), '1');
  t.is(await read(`${home}/vm`), `/vm/${r.uuid}`);
  t.is(await read(`${home}/memory/static-max`), String(512 * 1024));
  t.is(await read(`${home}/memory/target`), String(256 * 1024));
  t.deepEqual(await tm.xs.directory(`${home}/cpu`), ['0', '1', '2', '3']);
  t.is(await read(`${home}/cpu/1/availability`), 'online');
  t.is(await read(`${home}/cpu/2/availability`), 'offline');
  t.deepEqual(await tm.xs.getPerms(home), ['n0', 'r1']);
  t.deepEqual(await tm.xs.getPerms(`${home}/control/shutdown`), ['n1']);
  t.deepEqual(await tm.xs.getPerms(`${home}/data`), ['n1']);
  t.deepEqual(await tm.xs.getPerms(`/vm/${r.uuid}`), ['n0', 'r1']);
  t.deepEqual(await tm.xs.getPerms('/libxl/1'), ['n0']);
  t.is(await read('/libxl/1/type'), 'pvh');
  t.is(await read(`${home}/console/backend`), '/local/domain/0/backend/console/1/0');
  t.is(await read('/local/domain/0/backend/console/1/0/frontend'), `${home}/console`);
  // The guest's control driver announced what it can do, through its own ring.
  t.is(await read(`${home}/control/feature-poweroff`), '1');
  t.is(await read(`${home}/control/feature-reboot`), '1');
  // It suspends and resumes (Toolstack.suspendDomain / resumeDomain / restoreDomain).
  t.is(await read(`${home}/control/feature-suspend`), '1');
  // xenstored serves the guest: it is introduced, and a dom0 watcher heard of it.
  t.is((await tm.xs.request(17, '1\0')).toString(), 'T\0');
  await until(() => introduced.includes('@introduceDomain/1'), '@introduceDomain/1 event');
  t.true(kernel.log.lines.some((l) => l.includes('Hypervisor detected: Xen 4.17 at CPUID leaf 0x40000000')));
});

test('a guest writes to its own subtree and is refused dom0\'s nodes (it is an unprivileged domain)', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  await tm.m.toolstack.create(web);
  const guest = tm.m.toolstack.kernel(1)!;
  await until(() => guest.state === 'running', 'guest running');
  await guest.xs.write('data/greeting', 'hello from domU');
  t.is((await tm.xs.read('/local/domain/1/data/greeting')).toString(), 'hello from domU');
  t.deepEqual(await tm.xs.getPerms('/local/domain/1/data/greeting'), ['n1']);
  const denied = await t.throwsAsync(guest.xs.write('/local/domain/1/name', 'renamed'));
  t.is((denied as { errno?: string }).errno, 'EACCES');
  const hidden = await t.throwsAsync(guest.xs.read('/libxl/1/type'));
  t.is((hidden as { errno?: string }).errno, 'EACCES');
});

test('shutdown: the guest acknowledges control/shutdown, powers off, and on_poweroff destroy removes it', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const released: string[] = [];
  await tm.xs.watch('@releaseDomain', 'rel', (e) => released.push(e.path));
  const r = await tm.m.toolstack.create(web);
  await until(() => tm.m.toolstack.kernel(1)?.state === 'running', 'guest running');
  const reason = await tm.m.toolstack.requestShutdown(r.domid, 'poweroff', true);
  t.is(reason, 'poweroff');
  await until(() => !tm.m.hv.domains.has(1), 'domain destroyed');
  t.false(await tm.xs.read('/local/domain/1').then(() => true, () => false));
  t.false(await tm.xs.read(`/vm/${r.uuid}`).then(() => true, () => false));
  t.false(await tm.xs.read('/libxl/1').then(() => true, () => false));
  t.is(tm.state.records.length, 0, 'no record of it is kept');
  t.true(released.filter((p) => p === '@releaseDomain').length >= 2, 'initial event, then the shutdown');
});

test('reboot: xl builds the domain again with the same name and UUID and a new domid', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const first = await tm.m.toolstack.create(web);
  await until(() => tm.m.toolstack.kernel(1)?.state === 'running', 'guest running');
  await tm.m.toolstack.requestShutdown(first.domid, 'reboot', true);
  await until(() => tm.m.toolstack.kernel(2)?.state === 'running', 'rebooted guest running');
  const second = tm.m.toolstack.record(2)!;
  t.is(second.name, 'web');
  t.is(second.uuid, first.uuid);
  t.false(tm.m.hv.domains.has(1));
});

test('reboot after mem-set, mem-max and vcpu-set: the new domain has the current memory and vCPUs, not the config\'s (libxl_retrieve_domain_configuration)', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  await tm.m.toolstack.create(web);
  await until(() => tm.m.toolstack.kernel(1)?.state === 'running', 'guest running');
  await tm.m.toolstack.memSet(1, 192 * 1024);
  await tm.m.toolstack.memMax(1, 448 * 1024);
  await tm.m.toolstack.vcpuSet(1, 3);
  t.is(tm.m.hv.get(1).targetKiB, 192 * 1024, 'mem-set moves the domain\'s target');
  await until(() => tm.m.hv.get(1).currentKiB === 192 * 1024, 'ballooned down');
  await tm.m.toolstack.requestShutdown(1, 'reboot', true);
  await until(() => tm.m.toolstack.kernel(2)?.state === 'running', 'rebooted guest running');
  const d = tm.m.hv.get(2);
  await until(() => d.currentKiB === 192 * 1024, 'the rebooted domain at the target mem-set gave');
  t.is((await tm.xs.read('/local/domain/2/memory/target')).toString(), String(192 * 1024));
  t.is((await tm.xs.read('/local/domain/2/memory/static-max')).toString(), String(448 * 1024));
  t.is((await tm.xs.read('/local/domain/2/cpu/2/availability')).toString(), 'online');
  // And the next reboot (or a daemon restart) keeps them: they are the new domain's record.
  t.like(tm.m.toolstack.record(2)!.changed, { targetKiB: 192 * 1024, maxKiB: 448 * 1024, onlineVcpus: 3 });
});

test('vcpu-list\'s CPU: vCPUs start spread over the pCPUs (sched_select_initial_cpu) and move inside a new hard affinity', async (t) => {
  const tm = await bootMachine(); // 4 pCPUs
  t.teardown(() => tm.dispose());
  await tm.m.toolstack.create(web);
  await until(() => tm.m.toolstack.kernel(1)?.state === 'running', 'guest running');
  const d = tm.m.hv.get(1);
  t.deepEqual(d.vcpus.map((v) => v.pcpu), [0, 1, 2, 3]);
  tm.m.toolstack.vcpuPin(1, 0, [2, 3], undefined);
  t.is(d.vcpus[0]!.pcpu, 2, 'moved to the first allowed pCPU after the one it was on');
  tm.m.toolstack.vcpuPin(1, 1, [1, 3], undefined);
  t.is(d.vcpus[1]!.pcpu, 1, 'already allowed: it stays');
  tm.m.toolstack.vcpuPin(1, null, null, [3]);
  t.deepEqual(d.vcpus.map((v) => v.pcpu), [3, 3, 3, 3], 'a soft affinity inside the hard one is preferred');
});

test('on_crash preserve keeps a crashed domain in its shutdown state', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  await tm.m.toolstack.create(yamlConfig('name: crashy\non_crash: preserve\n'));
  await until(() => tm.m.toolstack.kernel(1)?.state === 'running', 'guest running');
  await tm.xs.write('/local/domain/1/control/sysrq', 'c');
  await until(() => tm.m.hv.domains.get(1)?.shutdownReason === 'crash', 'crashed');
  t.true(tm.m.hv.domains.has(1), 'preserved');
});

test('mem-set moves the balloon and the domain\'s memory follows; mem-set beyond static-max is refused', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  await tm.m.toolstack.create(web);
  await until(() => tm.m.toolstack.kernel(1)?.state === 'running', 'guest running');
  const d = tm.m.hv.get(1);
  await tm.m.toolstack.memSet(1, 128 * 1024);
  await until(() => d.currentKiB === 128 * 1024, 'ballooned down to 128 MiB');
  await tm.m.toolstack.memSet(1, 384 * 1024);
  await until(() => d.currentKiB === 384 * 1024, 'ballooned up to 384 MiB');
  t.is((await tm.xs.read(`/vm/${d.uuid}/memory`)).toString(), '384');
  await t.throwsAsync(tm.m.toolstack.memSet(1, 1024 * 1024), { message: /static_max/ });
});

test('the balloon keeps what the kernel needs: a target below its floor stops at the floor (FreeBSD\'s minimum_target)', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  await tm.m.toolstack.create(web);
  const kernel = tm.m.toolstack.kernel(1)!;
  await until(() => kernel.state === 'running', 'guest running');
  const d = tm.m.hv.get(1);
  await tm.m.toolstack.memSet(1, 100);
  // Booted with 256 MiB: 40 MiB plus a quarter of that.
  const floorKiB = (40 + 64) * 1024;
  await until(() => kernel.log.lines.some((l) => l.includes('xen:balloon: target')), 'the balloon reacted');
  t.is(d.currentKiB, floorKiB);
  t.true(kernel.log.lines.some((l) => l.includes(`xen:balloon: target ${floorKiB} KiB, now ${floorKiB} KiB`)), kernel.log.lines.join('\n'));
  // The toolstack's target stays what it wrote: the guest never rewrites it.
  t.is((await tm.xs.read('/local/domain/1/memory/target')).toString(), '100');
});

test('vcpu-set brings vCPUs up and down through cpu/N/availability', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  await tm.m.toolstack.create(web);
  await until(() => tm.m.toolstack.kernel(1)?.state === 'running', 'guest running');
  const d = tm.m.hv.get(1);
  t.is(d.onlineVcpus, 2);
  await tm.m.toolstack.vcpuSet(1, 4);
  await until(() => d.onlineVcpus === 4, '4 vCPUs online');
  await tm.m.toolstack.vcpuSet(1, 1);
  await until(() => d.onlineVcpus === 1, '1 vCPU online');
  await t.throwsAsync(tm.m.toolstack.vcpuSet(1, 5), { message: /4 vCPUs at most/ });
});

test('a taken name, too much memory or an unknown domain fail cleanly and leave nothing behind', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  await tm.m.toolstack.create(web);
  await t.throwsAsync(tm.m.toolstack.create(web), { message: "domain 'web' already exists with ID 1" });
  const big = yamlConfig('name: huge\nmemory: 900000\n');
  await t.throwsAsync(tm.m.toolstack.create(big), { message: /not enough free memory/ });
  t.deepEqual([...tm.m.hv.domains.keys()], [0, 1]);
  t.deepEqual(await tm.xs.directory('/local/domain'), ['0', '1']);
  t.throws(() => tm.m.toolstack.find('nosuch'), { message: "domain name 'nosuch' does not exist" });
});

test('after a restart the same domains come back with the same ids, names and UUIDs, and boot again', async (t) => {
  const first = await bootMachine();
  await first.m.toolstack.create(web);
  await first.m.toolstack.create(yamlConfig('name: db\ntype: pv\nvcpus: 4\n'));
  await first.m.toolstack.destroy(1);
  await first.m.toolstack.create(yamlConfig('name: cache\n'));
  const before = first.state.records.map((r) => [r.domid, r.name, r.uuid]);
  // The machine stops (the daemon exits); a new one starts on the same store and state.
  const second = await bootMachine({ state: first.state, machine: first.m });
  await first.dispose();
  t.teardown(() => second.dispose());
  const after = [...second.m.hv.domains.values()].filter((d) => d.domid !== 0).map((d) => [d.domid, d.name, d.uuid]);
  t.deepEqual(after.sort(), before.sort());
  t.deepEqual(before.map((r) => r[0]).sort(), [2, 3]);
  await until(() => second.m.toolstack.kernel(3)?.state === 'running', 'rebuilt guest running');
  // domids keep increasing across the restart: no reuse of 1..3.
  const next = await second.m.toolstack.create(yamlConfig('name: later\n'));
  t.is(next.domid, 4);
});

test('an HVM guest with Viridian finds Hyper-V at 0x40000000 and Xen at 0x40000100', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  await tm.m.toolstack.create(yamlConfig('name: win\ntype: hvm\nviridian: true\n'));
  const kernel = tm.m.toolstack.kernel(1)!;
  await until(() => kernel.state === 'running', 'guest running');
  t.is(kernel.xenLeaf, 0x40000100);
  t.true(kernel.log.lines.some((l) => l.includes('Hypervisor signature "Microsoft Hv" at CPUID leaf 0x40000000')));
  t.true(kernel.log.lines.some((l) => l.includes('Xen 4.17 at CPUID leaf 0x40000100')));
  t.true(kernel.xenHvmDomain);
});

test('a 128-vCPU guest boots with vcpu_info for vCPUs 32-127 in its own pages', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  await tm.m.toolstack.create(yamlConfig('name: wide\ntype: pvh\nvcpus: 128\nmemory: 1024\n'));
  const kernel = tm.m.toolstack.kernel(1)!;
  await until(() => kernel.state === 'running', 'guest running');
  const d = tm.m.hv.get(1);
  t.deepEqual(d.vcpus[31]!.vcpuInfo, { kind: 'shared_info', slot: 31 });
  const places = d.vcpus.slice(32).map((v) => v.vcpuInfo);
  t.true(places.every((p) => p.kind === 'registered' && p.gfn >= 0));
  // 64 vcpu_info structures fit in one page: vCPUs 32-95 share a frame, 96-127 the next.
  const gfns = new Set(places.map((p) => (p.kind === 'registered' ? p.gfn : -1)));
  t.is(gfns.size, 2);
  t.is(d.onlineVcpus, 128);
});

test('a stored domain whose config a create would refuse is not built again at restart, and says why', async (t) => {
  const first = await bootMachine();
  await first.m.toolstack.create(yamlConfig('name: good\n'));
  // What an older xenemu let through the control socket and kept: {"name": 5}.
  first.state.saveDomains([...first.state.records, { domid: 7, uuid: '5b0b7f04-2d6c-4d3e-9c1a-0c2f5e8a9d11', name: 5, config: { name: 5 } } as never]);
  const second = await bootMachine({ state: first.state, machine: first.m });
  await first.dispose();
  t.teardown(() => second.dispose());
  t.deepEqual([...second.m.hv.domains.values()].map((d) => d.name).sort(), ['Domain-0', 'good']);
  t.true(second.log.some((l) => l.startsWith("could not rebuild domain 7 '5': its config is invalid: name: expected a string, got 5")), second.log.join('\n'));
  t.deepEqual(second.state.records.map((r) => r.name), ['good']);
});
