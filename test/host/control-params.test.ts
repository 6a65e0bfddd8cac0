import test from 'ava';
import { RpcClient } from '../../src/client/rpc-client.js';
import type { DomainConfig } from '../../src/toolstack/config/index.js';
import type { XlDomainRow } from '../../src/toolstack/libxl/rows.js';
import { request, sendRaw, type RawAnswer } from '../helpers/control-raw.js';
import { startHost, type TestHost } from '../helpers/daemon.js';
import { until, yamlConfig } from '../helpers/machine.js';

// The control socket trusts nothing it is sent: each request below, which a client
// that skips the CLI can send, once crashed, hung or wedged the daemon, or changed
// state the CLI would never have let through. Each must now be an EINVAL answer that
// names the field, leave no domain behind, and leave the daemon answering.

let host: TestHost;
let rpc: RpcClient;

test.before(async () => {
  host = await startHost();
  rpc = await RpcClient.connect(host.paths.control);
});

test.after.always(async () => {
  rpc?.close();
  await host?.dispose();
});

let made = 0;
/** A config as the CLI sends it (every default filled in, a name of its own), with some fields changed. */
function config(fields: Record<string, unknown>): Record<string, unknown> {
  return { ...yamlConfig(`name: good${++made}\n`), ...fields };
}

async function names(): Promise<string[]> {
  return (await rpc.call<XlDomainRow[]>('domain.list', {})).map((r) => r.name ?? '(null)');
}

/** The request is refused with EINVAL naming `field`, and the daemon is as it was. */
async function refused(t: import('ava').ExecutionContext, line: string, field: string | RegExp): Promise<string> {
  const before = await names();
  const a: RawAnswer = await sendRaw(host.paths.control, line);
  if (a.kind !== 'answer') return t.fail(`no answer (${a.kind}) to ${line.slice(0, 200)}`) as never;
  t.is(a.msg.error?.code, 'EINVAL', a.line.slice(0, 300));
  const message = a.msg.error?.message ?? '';
  if (typeof field === 'string') t.true(message.startsWith(`${field}: `), message);
  else t.regex(message, field);
  t.deepEqual(await rpc.call('ping'), { pong: true });
  t.deepEqual(await names(), before, 'no domain made or left behind');
  return message;
}

const create = (fields: Record<string, unknown>, paused = false) => request('domain.create', { config: config(fields), paused });

test.serial('a name with "/" is refused (it crashed the daemon on the console log file)', async (t) => {
  const m = await refused(t, create({ name: 'a/b' }), 'params.config.name');
  t.regex(m, /contains "\/"/);
});

test.serial('names with a newline, an escape sequence, nothing, or 100,000 characters are refused', async (t) => {
  for (const name of ['a\nb', 'web\u001b[2J\u001b[31m', '', 'n'.repeat(100_000)]) await refused(t, create({ name }), 'params.config.name');
});

test.serial('vcpus beyond Xen\'s 8192 are refused at once (100000 stalled the daemon and cost 320 MB); 129 to 8192, which xl passes on, fail the create at once with nothing left', async (t) => {
  const m = await refused(t, create({ vcpus: 100_000, maxvcpus: 100_000 }), 'params.config.vcpus');
  t.regex(m, /must be at most 8192/);
  const before = await names();
  const a = await sendRaw(host.paths.control, create({ vcpus: 8192, maxvcpus: 8192 }));
  t.is(a.kind, 'answer');
  t.truthy(a.kind === 'answer' && a.msg.error, 'the hypervisor refuses more vCPUs than xenemu runs');
  t.deepEqual(await names(), before, 'no domain made or left behind');
});

test.serial('vcpus -1 is refused; vcpus 0 is what xl makes of it (one vCPU, marked offline) and does not crash into a restart loop (it looped forever, eating domids)', async (t) => {
  await refused(t, create({ vcpus: -1, maxvcpus: -1, on_crash: 'restart' }), 'params.config.vcpus');
  const { domid } = await rpc.call<{ domid: number }>('domain.create', { config: config({ name: 'zero', vcpus: 0, maxvcpus: 0, on_crash: 'restart' }), paused: false });
  await until(async () => (await rpc.call<string[]>('domain.dmesg', { ref: 'zero' })).some((l) => l.includes('reached the idle loop')), 'its kernel booted', 1_000_000);
  const rows = await rpc.call<XlDomainRow[]>('domain.list', {});
  t.is(rows.find((r) => r.name === 'zero')?.domid, domid, 'running under the domid it was made with, not restarted');
  await rpc.call('domain.destroy', { ref: 'zero' });
  t.false((await names()).includes('zero'));
});

test.serial('a bad type, on_crash or xenemu, or no name, is an answer, not a hang with a paused domain', async (t) => {
  await refused(t, create({ type: 'zz' }), 'params.config.type');
  await refused(t, create({ on_crash: 'explode' }), 'params.config.on_crash');
  await refused(t, create({ xenemu: { hz: 0 } }), 'params.config.xenemu.hz');
  await refused(t, create({ xenemu: 'fast' }), 'params.config.xenemu');
  const { name: _, ...nameless } = config({});
  const m = await refused(t, request('domain.create', { config: nameless, paused: true }), 'params.config.name');
  t.regex(m, /is mandatory/);
});

test.serial('a number for a name is refused (it left a broken domain and an EIO about BigInt)', async (t) => {
  await refused(t, request('domain.create', { config: { name: 5 }, paused: false }), 'params.config.name');
  await refused(t, create({ name: 5 }), 'params.config.name');
});

test.serial('mem.set and mem.max take a number of KiB ("abc" reached memory/target)', async (t) => {
  await refused(t, request('mem.set', { ref: '0', kib: 'abc' }), 'params.kib');
  await refused(t, request('mem.max', { ref: '0', kib: -1 }), 'params.kib');
  await refused(t, request('mem.set', { ref: '0' }), 'params.kib');
});

test.serial('vcpu.pin takes host CPUs (99999, -5 and "a" were accepted)', async (t) => {
  await refused(t, request('vcpu.pin', { ref: '0', vcpu: 0, hard: [99999, -5, 'a'], soft: null }), /^params\.hard\[0\]: .*params\.hard\[1\]: .*params\.hard\[2\]: /);
  await refused(t, request('vcpu.pin', { ref: '0', vcpu: -1, hard: 'all', soft: null }), 'params.vcpu');
  // In range for the schema, beyond this host: refused by the toolstack, as libxl does.
  const a = await sendRaw(host.paths.control, request('vcpu.pin', { ref: '0', vcpu: 0, hard: [4095], soft: null }));
  t.is(a.kind === 'answer' ? a.msg.error?.code : a.kind, 'EINVAL');
});

test.serial('every method checks its parameters: unknown fields, wrong types, missing ones', async (t) => {
  await refused(t, request('ping', { extra: 1 }), 'params.extra');
  await refused(t, request('host.status', []), 'params');
  await refused(t, request('domain.destroy', {}), 'params.ref');
  await refused(t, request('domain.rename', { ref: '0', name: 'bad name' }), 'params.name');
  await refused(t, request('domain.shutdown', { command: 'halt' }), 'params.command');
  await refused(t, request('domain.domname', { domid: 'one' }), 'params.domid');
  await refused(t, request('evtchn.status', { ref: '0', port: '5' }), 'params.port');
  await refused(t, request('intr.bind', { ref: '0', source: 'x'.repeat(1000), cpu: 0 }), 'params.source');
  await refused(t, request('stats.subscribe', { intervalMs: 1e9 }), 'params.intervalMs');
});

test.serial('a request that is not an object is EINVAL, not an internal error', async (t) => {
  for (const line of ['null', '5', '"ping"', '[]']) {
    const a = await sendRaw(host.paths.control, line);
    t.is(a.kind === 'answer' ? a.msg.error?.code : a.kind, 'EINVAL', line);
  }
});

test.serial('what the CLI sends still works: create, pin, mem-set, rename, destroy', async (t) => {
  const c: DomainConfig = yamlConfig('name: ok\nmemory: 64\nvcpus: 2\n');
  const { domid } = await rpc.call<{ domid: number }>('domain.create', { config: c, paused: true });
  await rpc.call('vcpu.pin', { ref: String(domid), vcpu: 'all', hard: [0], soft: 'all' });
  await rpc.call('mem.set', { ref: String(domid), kib: 32768 });
  await rpc.call('domain.rename', { ref: String(domid), name: 'ok2' });
  t.true((await names()).includes('ok2'));
  await rpc.call('domain.destroy', { ref: 'ok2' });
  t.deepEqual(await names(), ['Domain-0']);
});
