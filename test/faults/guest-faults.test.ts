import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../../src/hypervisor/clock.js';
import { SHUTDOWN_ACK_TIMEOUT_NS } from '../../src/toolstack/toolstack.js';
import { bootMachine, bootPumpedMachine, pumpClock, until, yamlConfig } from '../helpers/machine.js';

const web = yamlConfig('name: web\ntype: pvh\nmemory: 256\nvcpus: 1\n');
const MS = 1e6;

async function machineWithWeb() {
  const clock = new VirtualClock();
  const tm = await bootMachine({ clock });
  const stop = pumpClock(clock);
  const { domid } = await tm.m.toolstack.create(web);
  await until(() => tm.m.toolstack.kernel(domid)?.state === 'running', 'web running');
  return { tm, clock, domid, dispose: async () => { stop(); await tm.dispose(); } };
}

const base = { probability: 1, count: null, durationMs: null, seed: 1, options: {} };

test('guest-unresponsive: nobody takes the shutdown request, xl gives up after 60 s as libxl does, and after clearing it the guest shuts down', async (t) => {
  const { tm, clock, domid, dispose } = await machineWithWeb();
  t.teardown(dispose);
  const fault = tm.m.faults.add({ ...base, kind: 'guest-unresponsive', target: { domid, name: 'web' } });
  let outcome = null as string | null;
  const request = tm.m.toolstack.requestShutdown(domid, 'poweroff', true).then(
    () => (outcome = 'done'),
    (err: { code?: string }) => (outcome = err.code ?? 'error'),
  );
  await until(() => fault.fired === 1, 'the guest ignored it');
  t.is((await tm.xs.read(`/local/domain/${domid}/control/shutdown`)).toString(), 'poweroff', 'not acknowledged');
  clock.advance(SHUTDOWN_ACK_TIMEOUT_NS - MS);
  await until(async () => (await tm.xs.read(`/local/domain/${domid}/control/shutdown`)).length > 0, 'still there');
  t.is(outcome, null, 'still waiting just before 60 s');
  clock.advance(MS);
  await request;
  t.is(outcome, 'ETIMEDOUT');
  t.true(tm.m.hv.domains.has(domid), 'the domain runs on');
  t.true(tm.m.hv.console.lines().some((l) => l.includes(`fault ${fault.id} (guest-unresponsive) fired: domain ${domid} ignores control/shutdown "poweroff"`)));

  t.true(tm.m.faults.clear(fault.id));
  t.is(await tm.m.toolstack.requestShutdown(domid, 'poweroff', true), 'poweroff');
  await until(() => !tm.m.hv.domains.has(domid), 'destroyed');
});

test('guest-crash with a delay crashes the guest when the delay is over, and on_crash runs', async (t) => {
  const { tm, clock, domid, dispose } = await machineWithWeb();
  t.teardown(dispose);
  const fault = tm.m.faults.add({ ...base, count: 1, kind: 'guest-crash', target: { domid, name: 'web' }, options: { delayMs: 5000 } });
  clock.advance(4999 * MS);
  t.is(fault.fired, 0);
  t.is(tm.m.toolstack.kernel(domid)?.state, 'running');
  clock.advance(MS);
  t.is(fault.fired, 1);
  t.is(tm.m.faults.size, 0, 'it happens once');
  await until(() => !tm.m.hv.domains.has(domid), 'on_crash destroy');
  t.true(tm.m.toolstack.kernel(domid) === undefined);
});

test('guest-crash cleared before its delay is called off', async (t) => {
  const { tm, clock, domid, dispose } = await machineWithWeb();
  t.teardown(dispose);
  const fault = tm.m.faults.add({ ...base, count: 1, kind: 'guest-crash', target: { domid, name: 'web' }, options: { delayMs: 5000 } });
  tm.m.faults.clear(fault.id);
  clock.advance(10_000 * MS);
  t.is(fault.fired, 0);
  t.is(tm.m.toolstack.kernel(domid)?.state, 'running');
});

test('a fault aimed at a domain ends when the domain is destroyed', async (t) => {
  const { tm, domid, dispose } = await machineWithWeb();
  t.teardown(dispose);
  tm.m.faults.add({ ...base, kind: 'guest-unresponsive', target: { domid, name: 'web' } });
  await tm.m.toolstack.destroy(domid);
  t.is(tm.m.faults.size, 0);
});

test('faults in the domain config are added, aimed at it, when it is built: guest-slow-boot holds its kernel back', async (t) => {
  const { tm, clock } = await bootPumpedMachine(t);
  const slow = yamlConfig('name: slow\ntype: pvh\nmemory: 256\nxenemu:\n  faults:\n    - { kind: guest-slow-boot, delay: 10s }\n    - { kind: xs-errno, errno: EACCES, op: WRITE, path: /local/domain/0 }\n');
  const { domid } = await tm.m.toolstack.create(slow);
  t.deepEqual(
    tm.m.faults.rows().map((f) => [f.kind, f.target]),
    [
      ['guest-slow-boot', { domid, name: 'slow' }],
      ['xs-errno', { domid, name: 'slow' }],
    ],
  );
  t.is(tm.m.toolstack.kernel(domid)?.state, 'created', 'created and unpaused, not booted');
  t.true(tm.m.hv.domains.get(domid)!.paused === false);
  clock.advance(10_000 * MS);
  await until(() => tm.m.toolstack.kernel(domid)?.state === 'running', 'booted 10 s late');
});

test('vcpu-hang: the vCPU takes no upcall while it lasts, and takes what is pending when let go', async (t) => {
  const { tm, clock, domid, dispose } = await machineWithWeb();
  t.teardown(dispose);
  const injected = () => tm.m.hv.deliveryCounters(domid).injected[0]!;
  clock.advance(1000 * MS);
  const before = injected();
  t.true(before > 0, 'its timer ticks reach it');
  const fault = tm.m.faults.add({ ...base, kind: 'vcpu-hang', target: { domid, name: 'web' }, options: { vcpu: 0 } });
  t.is(fault.fired, 1);
  const hung = injected();
  clock.advance(1000 * MS);
  t.is(injected(), hung, 'a second of ticks, none delivered');
  tm.m.faults.clear(fault.id);
  clock.drain();
  t.true(injected() > hung, 'the pending events are taken');
});

test('guest-leak writes a node every interval through the guest\'s own ring, and stops at its count', async (t) => {
  const { tm, clock, domid, dispose } = await machineWithWeb();
  t.teardown(dispose);
  const fault = tm.m.faults.add({ ...base, count: 3, kind: 'guest-leak', target: { domid, name: 'web' }, options: { intervalMs: 500 } });
  for (let i = 0; i < 4; i++) {
    clock.advance(500 * MS);
    await until(() => fault.fired >= Math.min(i + 1, 3), `leak ${i + 1}`);
  }
  const leaked = (await tm.xs.directory(`/local/domain/${domid}/data`)).filter((n) => n.startsWith('xenemu-leak-'));
  t.is(leaked.length, 3);
  t.deepEqual(await tm.xs.getPerms(`/local/domain/${domid}/data/${leaked[0]}`), [`n${domid}`], 'written by the guest itself');
  t.is(tm.m.faults.size, 0);
});

test('hotplug-fail fails the create at the disk\'s hotplug script with xl\'s message, and nothing of the domain stays', async (t) => {
  const clock = new VirtualClock();
  const tm = await bootMachine({ clock });
  const stop = pumpClock(clock);
  const dir = mkdtempSync(join(tmpdir(), 'xe-hp-'));
  t.teardown(async () => {
    stop();
    await tm.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  const image = join(dir, 'disk.img');
  writeFileSync(image, Buffer.alloc(1 << 20));
  const withDisk = yamlConfig(`name: disky\ntype: pvh\nmemory: 256\ndisk: ['${image},raw,xvda,rw']\n`);
  const fault = tm.m.faults.add({ ...base, count: 1, kind: 'hotplug-fail', target: null });
  const err = await t.throwsAsync(tm.m.toolstack.create(withDisk));
  t.regex(err!.message, /script: hotplug script \/etc\/xen\/scripts\/block add failed for \/local\/domain\/0\/backend\/vbd\/[0-9]+\/51712: exit status 1 \(xenemu fault 1: hotplug-fail\)/);
  t.is(fault.fired, 1);
  t.false([...tm.m.hv.domains.values()].some((d) => d.name === 'disky'));
  const { domid } = await tm.m.toolstack.create(withDisk);
  t.is(tm.m.hv.domains.get(domid)?.name, 'disky', 'its count spent, the next create works');
});

test('host-kill at create: in-process there is nothing to kill, and the log says it fired and was not done', async (t) => {
  const { tm, dispose } = await machineWithWeb();
  t.teardown(dispose);
  const fault = tm.m.faults.add({ ...base, count: 1, kind: 'host-kill', target: null, options: { at: 'create', after: 2 } });
  await tm.m.toolstack.create(yamlConfig('name: one\ntype: pvh\nmemory: 64\n'));
  t.is(fault.fired, 0, 'the first create passes');
  await tm.m.toolstack.create(yamlConfig('name: two\ntype: pvh\nmemory: 64\n'));
  t.is(fault.fired, 1);
  t.true(tm.log.some((l) => l === 'fault 1 (host-kill): the daemon is killed at create 2 (not done: this machine has no process of its own to kill)'), tm.log.join('\n'));
});
