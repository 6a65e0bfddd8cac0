/**
 * The control socket under hostile input: a real daemon in a temp dir gets malformed
 * requests (each method's valid parameters with a field dropped, replaced by a hostile
 * value or joined by an unknown one; requests that are not objects; unknown methods;
 * lines that are not JSON; deep and huge JSON). It must answer each with an error, in
 * bounded time, and stay healthy: ping answers, domain.list works, no half-made domain
 * is left, and its memory stays bounded.
 */
import test from 'ava';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { RpcClient } from '../../src/client/rpc-client.js';
import type { HostStatus } from '../../src/protocol/host-rpc.js';
import { MAX_RPC_LINE } from '../../src/protocol/control-rpc.js';
import { RPC_PARAMS } from '../../src/protocol/methods.js';
import type { XlDomainRow } from '../../src/toolstack/libxl/rows.js';
import { request, sendRaw, type RawAnswer } from '../helpers/control-raw.js';
import { startHost, type TestHost } from '../helpers/daemon.js';
import { yamlConfig } from '../helpers/machine.js';

const SEED = 0xc0ffee;
/** Growth of the daemon's RSS over the whole run that counts as unbounded. */
const RSS_BOUND = 256 * 2 ** 20;

/** Valid parameters of every method: what the mutations start from. */
const VALID: Record<string, unknown> = {
  ping: {},
  'host.status': {},
  'host.stop': {},
  'domain.create': { config: yamlConfig('name: fuzz\nvcpus: 2\nmaxvcpus: 4\nxenemu:\n  events:\n    - name: net0\n      rate: 10\n      handler: filter\n'), paused: true, source: '/tmp/fuzz.yaml' },
  // A file that is not there: mutations of the path must not have the daemon read what they name.
  'domain.createFile': { file: '/nonexistent/fuzz.yaml', label: 'fuzz.yaml', overrides: ['memory=64'], paused: true },
  'domain.list': { refs: ['0'] },
  // No such domain and no such file: mutations must not have the daemon write or read what they name.
  'domain.save': { ref: 'nosuchdomain', file: '/nonexistent/fuzz.save', label: 'fuzz.save', checkpoint: true, pause: false, preserveDomid: false },
  'domain.restore': { file: '/nonexistent/fuzz.save', label: 'fuzz.save', paused: true },
  'domain.listLong': { refs: ['0'] },
  'domain.destroy': { ref: 'fuzz' },
  'domain.shutdown': { refs: ['fuzz'], all: false, wait: false, command: 'poweroff' },
  'domain.pause': { ref: 'fuzz' },
  'domain.unpause': { ref: 'fuzz' },
  'domain.rename': { ref: 'fuzz', name: 'fuzz2' },
  'domain.domid': { name: 'fuzz' },
  'domain.domname': { domid: 0 },
  'domain.uptime': { refs: ['0'] },
  'domain.dmesg': { ref: '0' },
  'domain.sysrq': { ref: 'fuzz', key: 's' },
  'domain.trigger': { ref: 'fuzz', trigger: 'nmi', vcpu: 0 },
  'host.info': {},
  'host.debugKeys': { keys: 'h' },
  'cpupool.find': { qualifier: 'Pool-0' },
  'cpupool.list': {},
  'sched.domain.get': { refs: ['0'] },
  'sched.domain.set': { ref: 'fuzz', sched: 'credit2', weight: 256, cap: 0 },
  'sched.credit.get': { poolid: 0 },
  'sched.credit.set': { poolid: 0, tsliceMs: 30, ratelimitUs: 1000, vcpuMigrDelayUs: 0 },
  'sched.credit2.get': { poolid: 0 },
  'sched.credit2.set': { poolid: 0, ratelimitUs: 1000 },
  'sched.rtds.vcpuGet': { ref: 'fuzz' },
  'sched.rtds.vcpuSet': { ref: 'fuzz', vcpus: [{ vcpuid: 0, period: 10000, budget: 4000, extratime: true }], all: false },
  'vcpu.list': { refs: ['0'] },
  'vcpu.pin': { ref: '0', vcpu: 0, hard: [0], soft: 'all' },
  'vcpu.set': { ref: '0', count: 1 },
  'mem.set': { ref: 'fuzz', kib: 65536 },
  'mem.max': { ref: 'fuzz', kib: 65536 },
  'evtchn.list': { ref: '0' },
  'evtchn.status': { ref: '0', port: 1 },
  'evtchn.allocUnbound': { ref: 'fuzz', remote: '0' },
  'evtchn.bindInterdomain': { ref: 'fuzz', remote: '0', remotePort: 1 },
  'evtchn.notify': { ref: 'fuzz', port: 1 },
  'evtchn.close': { ref: 'fuzz', port: 1 },
  'intr.stats': { ref: '0' },
  'intr.host': {},
  'intr.bind': { ref: '0', source: 'irq768', cpu: 0 },
  'stats.subscribe': { intervalMs: 1000, selected: null, vcpuTimes: true },
  'stats.select': { domid: 0 },
  'stats.interval': { intervalMs: 1000 },
  'stats.unsubscribe': {},
  'xenbus.list': { ref: '0' },
  'domain.xenbusSocket': { ref: '0' },
  // No --from/--to: mutations of a host path would have the daemon write files.
  'block.io': { ref: 'fuzz', vdev: 'xvda', op: 'read', offset: 0, length: 4096, blockSize: 4096, queueDepth: 1, pattern: 'zero', seed: 1, flush: false },
  // An empty CD-ROM drive: no target (a host file the backend would open read-write) and
  // no script (a program the toolstack would run) for a mutation to turn into another.
  'block.attach': { ref: 'fuzz', disk: { vdev: 'xvdb', devtype: 'cdrom', access: 'ro', format: 'empty' } },
  'block.detach': { ref: 'fuzz', vdev: 'xvdb', force: false },
  'block.list': { ref: 'fuzz' },
  'block.cdInsert': { ref: 'fuzz', vdev: 'hdc', target: '' },
  'network.attach': { ref: 'fuzz', vif: { bridge: 'xenbr0' } },
  'network.detach': { ref: 'fuzz', dev: '0' },
  'network.list': { ref: 'fuzz' },
  'net.bridges': {},
  // The fuzz domain has no vif: these end in ENODEV/ENETUNREACH after the checks. A short
  // ping and stream keep each request quick; net.inject's file is one that is no pcap.
  'net.ping': { ref: 'fuzz', ip: '10.0.0.9', count: 1, size: 56, interval: 0.2 },
  'net.send': { ref: 'fuzz', vif: '0', count: 10, size: 64, port: 9 },
  'net.inject': { ref: 'fuzz', vif: '0', file: '/dev/null' },
  'console.attach': { domid: 1, num: 0 },
  'console.input': { domid: 1, data: 'dW5hbWUNCg==' },
  'console.detach': { domid: 1 },
  // A fault that changes no answer (no delay, once), and the clear that ends any left.
  'fault.add': { kind: 'xs-delay', target: 'socket', delayMs: 0, count: 1 },
  'fault.list': {},
  'fault.clear': { id: null },
  'domain.migrateSend': { ref: '1', channel: '/nonexistent/xenemu-channel', rune: 'ssh host xenemu migrate-receive' },
  'domain.migrateReceive': { channel: '/nonexistent/xenemu-channel', paused: false },
};
const METHODS = Object.keys(VALID);

/** A value in `depth` lists (shallow enough for JSON.stringify; deeper ones are written as text). */
function nested(depth: number, leaf: unknown): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** The text of `leaf` in `depth` lists, as deep as a line may hold. */
function deepText(depth: number, leaf: string): string {
  return `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`;
}

/** Values that broke something once, or might: bad names, huge numbers, deep JSON. */
const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    'a/b',
    '../../../tmp/x',
    'a\nb',
    'web\u001b[2J\u001b[31m',
    'nul\u0000',
    '',
    'Domain-0',
    '007',
    'n'.repeat(100_000),
    'all',
    '-',
    'abc',
    '-5',
    '1e3',
    '__proto__',
    100_000,
    2 ** 32,
    -1,
    -5,
    0,
    1.5,
    2 ** 53 + 2,
    1e308,
    true,
    null,
    [],
    {},
    [99999, -5, 'a'],
    nested(2_000, 0),
    { __proto__: null, constructor: 1 },
  ),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 40 }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** Every path into a value's mappings and lists, to depth 4. */
function paths(v: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (prefix.length >= 4 || typeof v !== 'object' || v === null) return [];
  const keys: Array<string | number> = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
  return keys.flatMap((k) => [[...prefix, k], ...paths((v as Record<string | number, unknown>)[k], [...prefix, k])]);
}

/** Set an own property, "__proto__" included (an assignment would set the prototype). */
function own(o: Record<string | number, unknown>, key: string | number, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

type Mutation = { kind: 'drop' | 'set' | 'extra'; pick: number; value: unknown; key: string };

function mutate(params: unknown, m: Mutation): unknown {
  const root = structuredClone(params) as Record<string | number, unknown>;
  const all = paths(root);
  if (all.length === 0 || (m.kind === 'set' && m.pick % 7 === 0)) {
    if (m.kind !== 'extra') return m.value;
    own(root, m.key, m.value);
    return root;
  }
  const path = all[m.pick % all.length]!;
  let parent = root;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (m.kind === 'drop') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else if (m.kind === 'set') {
    own(parent, last, m.value);
  } else {
    const target = parent[last];
    own(typeof target === 'object' && target !== null && !Array.isArray(target) ? (target as Record<string, unknown>) : parent, m.key, m.value);
  }
  return root;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('drop' as const, 'set' as const, 'extra' as const),
  pick: fc.nat(),
  value: hostile,
  key: fc.oneof(fc.constantFrom('extra', '__proto__', 'constructor', 'name', 'vcpus'), fc.string({ maxLength: 10 })),
});

/** A method's valid parameters, made invalid (the method's schema decides what is); create's config is deep, so it gets half the runs. */
const badParams = fc
  .record({ method: fc.oneof(fc.constantFrom(...METHODS), fc.constant('domain.create')), m: mutation, id: fc.oneof(fc.nat(), fc.constant<unknown>('x'), fc.constant<unknown>(null)) })
  // What goes on the wire is what the daemon checks: JSON drops undefined and inherited keys.
  .map(({ method, m, id }) => ({ method, params: JSON.parse(JSON.stringify(mutate(VALID[method], m)) ?? 'null') as unknown, id }))
  .filter(({ method, params }) => !RPC_PARAMS[method]!.safeParse(params ?? {}).success);

let host: TestHost;
let rpc: RpcClient;
let rssBefore = 0;

test.before(async () => {
  host = await startHost();
  rpc = await RpcClient.connect(host.paths.control);
  rssBefore = (await rpc.call<HostStatus>('host.status')).rssBytes;
});

test.after.always(async () => {
  rpc?.close();
  await host?.dispose();
});

/** The daemon is as a fresh one: it answers, and Domain-0 is its only domain. */
async function healthy(): Promise<void> {
  const pong = await rpc.call('ping');
  if (JSON.stringify(pong) !== '{"pong":true}') throw new Error(`ping answered ${JSON.stringify(pong)}`);
  const rows = await rpc.call<XlDomainRow[]>('domain.list', {});
  if (rows.length !== 1 || rows[0]!.name !== 'Domain-0') throw new Error(`domains left behind: ${JSON.stringify(rows.map((r) => [r.domid, r.name, r.stateFlags]))}`);
}

function expectError(a: RawAnswer, codes: readonly string[], what: string): void {
  if (a.kind !== 'answer') throw new Error(`${what}: no answer (${a.kind})`);
  const code = a.msg.error?.code;
  if (code === undefined || !codes.includes(code)) throw new Error(`${what}: answered ${a.line.slice(0, 300)}`);
}

test.serial('every method has valid parameters to start the mutations from', (t) => {
  t.deepEqual(Object.keys(RPC_PARAMS).sort(), [...METHODS].sort());
  for (const m of METHODS) t.true(RPC_PARAMS[m]!.safeParse(VALID[m]).success, m);
});

test.serial('malformed parameters of every method are EINVAL answers, and the daemon stays healthy (property)', async (t) => {
  await fc.assert(
    fc.asyncProperty(badParams, async ({ method, params, id }) => {
      const line = JSON.stringify({ id, method, params });
      expectError(await sendRaw(host.paths.control, line, { timeoutMs: 10_000 }), ['EINVAL'], line.slice(0, 300));
      await healthy();
    }),
    { seed: SEED, numRuns: 400 },
  );
  t.pass();
});

test.serial('requests that are not requests: not JSON, not objects, unknown methods (property)', async (t) => {
  const line = fc.oneof(
    fc.string({ minLength: 1, maxLength: 200 }).map((s) => s.replace(/\n/g, ' ')),
    fc.jsonValue({ maxDepth: 3 }).filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)).map((v) => JSON.stringify(v)),
    fc.record({ id: fc.nat(), method: fc.oneof(fc.string({ maxLength: 30 }), fc.jsonValue({ maxDepth: 2 })) }).filter((r) => typeof r.method !== 'string' || !Object.hasOwn(RPC_PARAMS, r.method)).map((r) => JSON.stringify(r)),
  );
  await fc.assert(
    fc.asyncProperty(line, async (l) => {
      if (l.trim() !== '' && (() => { try { JSON.parse(l); return false; } catch { return true; } })()) {
        expectError(await sendRaw(host.paths.control, l, { timeoutMs: 10_000 }), ['EINVAL'], l);
      } else if (l.trim() !== '') {
        expectError(await sendRaw(host.paths.control, l, { timeoutMs: 10_000 }), ['EINVAL', 'ENOSYS'], l);
      }
      await healthy();
    }),
    { seed: SEED, numRuns: 200 },
  );
  t.pass();
});

test.serial('deep and huge JSON: answered, E2BIG when a line is over the limit', async (t) => {
  const config = VALID['domain.create'] as { config: Record<string, unknown> };
  const cases: Array<[string, string[]]> = [
    ['['.repeat(200_000) + ']'.repeat(200_000), ['EINVAL']],
    [`{"id":1,"method":"domain.list","params":{"refs":${deepText(100_000, '"0"')}}}`, ['EINVAL']],
    [request('domain.create', { config: { ...config.config, disk: ['@'] }, paused: true }).replace('"@"', deepText(100_000, '{}')), ['EINVAL']],
    [`{"id":1,"method":"ping","params":${deepText(200_000, '')}}`, ['EINVAL']],
    [request('domain.create', { config: { ...config.config, name: 'x'.repeat(MAX_RPC_LINE - 1000) }, paused: true }), ['EINVAL']],
    [request('domain.list', { refs: Array.from({ length: 50_000 }, (_, i) => `r${i}`) }), ['EINVAL', 'ESRCH']],
    [request('vcpu.pin', { ref: '0', vcpu: 0, hard: Array.from({ length: 100_000 }, () => 'a'), soft: null }), ['EINVAL']],
    [request('domain.create', { config: { ...config.config, vcpus: 100_000, maxvcpus: 100_000 }, paused: false }), ['EINVAL']],
    // Twice the limit: the reader gives up on the partial line before its end arrives,
    // says E2BIG and ends the connection.
    [request('ping', { pad: 'x'.repeat(2 * MAX_RPC_LINE) }), ['E2BIG']],
  ];
  for (const [line, expected] of cases) {
    const a = await sendRaw(host.paths.control, line, { timeoutMs: 20_000 });
    t.notThrows(() => expectError(a, expected, line.slice(0, 200)));
    await t.notThrowsAsync(healthy());
  }
});

test.serial('after all that, the daemon stays within its memory bound and logged no internal error', async (t) => {
  const status = await rpc.call<HostStatus>('host.status');
  t.true(status.rssBytes - rssBefore < RSS_BOUND, `RSS ${rssBefore} -> ${status.rssBytes}`);
  t.notRegex(readFileSync(host.paths.log, 'utf8'), /internal error/);
});
