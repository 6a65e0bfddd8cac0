import test from 'ava';
import { VirtualClock } from '../../src/hypervisor/clock.js';
import { SHUTDOWN_ACK_TIMEOUT_NS } from '../../src/toolstack/toolstack.js';
import { bootMachine, pumpClock, until, yamlConfig } from '../helpers/machine.js';

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
  let outcome: string | null = null;
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
