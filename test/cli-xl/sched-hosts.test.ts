import test from 'ava';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { XlDomainRow } from '../../src/toolstack/libxl/rows.js';
import { tempHome } from '../helpers/daemon.js';
import { assertXlBuilt, CONFIGS, RUN_JS, runNode, XL_JS, xlHost, type XlHost } from './helpers.js';
import { fails, HEADER, ok, row } from './sched-rows.js';

// Hosts booted with another scheduler than credit2 (host.yaml `sched:`). Most tests
// share one with sched=credit: xl sched-credit reads and sets what credit has
// (xl_sched.c, libxl_sched.c, csched_sys_cntl), sched-credit2 fails as it does on
// such a host. db.yaml: cpu_weight 512, 4 vCPUs. The last tests start their own
// sched=null and sched=rtds hosts.

let h: XlHost;
let db: number;

const setFailed = 'libxl_sched_credit_params_set failed.\n';
const idleDb = (rows: XlDomainRow[]) => rows.find((r) => r.name === 'db')?.stateFlags.blocked === true;

test.before(async () => {
  assertXlBuilt();
  h = await xlHost({ sched: 'credit' });
  const r = await h.xl('create', '-q', join(CONFIGS, 'db.yaml'));
  if (r.code !== 0) throw new Error(r.stderr);
  db = (await h.until(idleDb, 'db idle')).find((x) => x.name === 'db')!.domid;
});

test.after.always(async () => {
  await h?.dispose();
});

test.serial('xl info and cpupool-list name the scheduler; Xen\'s command line says sched=credit', async (t) => {
  const info = (await h.xl('info')).stdout;
  t.regex(info, /\nxen_scheduler {10}: credit\n/);
  t.regex(info, /\nxen_commandline {8}: dom0_mem=1024M,max:1024M sched=credit\n/);
  t.deepEqual(await h.xl('cpupool-list'), ok('Name               CPUs   Sched     Active   Domain count\nPool-0               4    credit       y          2\n'));
});

test.serial('sched-credit lists the pool\'s tslice, rate limit and migration delay (Xen\'s defaults) and each domain', async (t) => {
  t.deepEqual(
    await h.xl('sched-credit'),
    ok(`Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us\n${HEADER}${row('Domain-0', 0, 256, 0)}${row('db', db, 512, 0)}`),
  );
  t.deepEqual(await h.xl('sched-credit', '-s'), ok('Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us\n'));
});

test.serial('sched-credit -s -t -r -m sets the pool\'s parameters, each left as it was unless given', async (t) => {
  t.deepEqual(await h.xl('sched-credit', '-s', '-t', '10', '-m', '500'), ok());
  t.deepEqual(await h.xl('sched-credit', '-s'), ok('Cpupool Pool-0: tslice=10ms ratelimit=1000us migration-delay=500us\n'));
  t.deepEqual(await h.xl('sched-credit', '-s', '--ratelimit_us=0', '-p', 'Pool-0'), ok());
  t.deepEqual(await h.xl('sched-credit', '-s', '-p', '0'), ok('Cpupool Pool-0: tslice=10ms ratelimit=0us migration-delay=500us\n'));
});

test.serial('sched-credit -s refuses what libxl refuses, in its order and words, and what Xen alone refuses', async (t) => {
  t.deepEqual(await h.xl('sched-credit', '-s', '-t', '0'), fails(`xenemu: Time slice out of range, valid range is from 1 to 1000\n${setFailed}`));
  t.deepEqual(await h.xl('sched-credit', '-s', '-t', '1001', '-r', '5'), fails(`xenemu: Time slice out of range, valid range is from 1 to 1000\n${setFailed}`));
  t.deepEqual(await h.xl('sched-credit', '-s', '-r', '99'), fails(`xenemu: Ratelimit out of range, valid range is from 100 to 500000\n${setFailed}`));
  t.deepEqual(await h.xl('sched-credit', '-s', '-t', '1', '-r', '1001'), fails(`xenemu: Ratelimit cannot be greater than timeslice\n${setFailed}`));
  t.deepEqual(await h.xl('sched-credit', '-s', '-m', '100001'), fails(`xenemu: vcpu migration delay should be >= 0 and <= 100000us\n${setFailed}`));
  // libxl compares an int; Xen reads a uint32_t and refuses it.
  t.deepEqual(
    await h.xl('sched-credit', '-s', '-m', '-1'),
    fails(`xenemu: Setting Credit scheduler parameters: Invalid argument (credit parameters out of range: tslice 10 ms, ratelimit 0 us, migration delay -1 us)\n${setFailed}`),
  );
  t.deepEqual(await h.xl('sched-credit', '-s'), ok('Cpupool Pool-0: tslice=10ms ratelimit=0us migration-delay=500us\n'));
});

test.serial('sched-credit -d DOM -w -c; the weight and cap carry over an on_reboot restart', async (t) => {
  t.deepEqual(await h.xl('sched-credit', '-d', 'db', '-w', '128', '-c', '250'), ok());
  t.deepEqual(await h.xl('sched-credit', '-d', 'db'), ok(HEADER + row('db', db, 128, 250)));
  t.deepEqual(await h.xl('sched-credit', '-d', 'db', '-c', '401'), fails('xenemu: Cpu cap out of range, valid range is from 0 to 400 for specified number of vcpus\nlibxl_domain_sched_params_set failed.\n'));
  t.is((await h.xl('reboot', 'db')).code, 0);
  const rows = await h.until((rs) => (rs.find((r) => r.name === 'db')?.domid ?? db) !== db && idleDb(rs), 'db back with a new domid');
  const after = rows.find((r) => r.name === 'db')!.domid;
  t.deepEqual(await h.xl('sched-credit', '-d', 'db'), ok(HEADER + row('db', after, 128, 250)));
});

test('sched-credit2 on a credit host fails as xl does there', async (t) => {
  t.deepEqual(await h.xl('sched-credit2'), ok());
  t.deepEqual(await h.xl('sched-credit2', '-d', '0'), fails('libxl_domain_sched_params_get returned credit not credit2.\n', HEADER));
  t.deepEqual(
    await h.xl('sched-credit2', '-d', '0', '-w', '300'),
    fails('xenemu: Getting domain sched credit2: Invalid argument (cpupool Pool-0 runs the credit scheduler, not credit2)\nlibxl_domain_sched_params_set failed.\n'),
  );
  t.deepEqual(await h.xl('sched-credit2', '-s'), {
    stdout: 'Cpupool Pool-0: [sched params unavailable]\n',
    stderr: 'xenemu: getting Credit2 scheduler parameters: Invalid argument (cpupool Pool-0 runs the credit scheduler, not credit2)\nlibxl_sched_credit2_params_get failed.\n',
    code: 0,
  });
  t.deepEqual(
    await h.xl('sched-credit2', '-s', '-r', '500'),
    fails('xenemu: Setting Credit2 scheduler parameters: Invalid argument (cpupool Pool-0 runs the credit scheduler, not credit2)\nlibxl_sched_credit2_params_set failed.\n'),
  );
});

test('host start --sched credit records sched: credit in host.yaml; the daemon boots with it', async (t) => {
  const home = tempHome();
  const env: NodeJS.ProcessEnv = { ...process.env, XENEMU_HOME: home };
  delete env.XENSTORED_PATH;
  t.teardown(async () => {
    await runNode(RUN_JS, ['host', 'stop'], env);
    rmSync(home, { recursive: true, force: true });
  });
  t.is((await runNode(RUN_JS, ['host', 'start', '--sched', 'credit'], env)).code, 0);
  t.regex(readFileSync(join(home, 'host.yaml'), 'utf8'), /^sched: credit$/m);
  t.is((await runNode(XL_JS, ['info', 'xen_scheduler'], env)).stdout, 'credit\n');
  const bad = await runNode(RUN_JS, ['host', 'start', '--sched', 'sedf'], env);
  t.is(bad.code, 2);
  t.regex(bad.stderr.replace(/\s+›\s+/g, ' '), /Expected --sched=sedf to be one of: credit, credit2, rtds, arinc653, null/);
});

test('a host booted with sched=null: list -l shows sched_params with the scheduler alone; sched-credit2 names it', async (t) => {
  const n = await xlHost({ sched: 'null' });
  t.teardown(() => n.dispose());
  const long = JSON.parse((await n.xl('list', '-l', '0')).stdout) as Array<{ config: { b_info: { sched_params: unknown } } }>;
  t.deepEqual(long[0]!.config.b_info.sched_params, { sched: 'null' });
  t.deepEqual(await n.xl('sched-credit2', '-d', '0'), fails('libxl_domain_sched_params_get returned null not credit2.\n', HEADER));
  t.deepEqual(await n.xl('cpupool-list'), ok('Name               CPUs   Sched     Active   Domain count\nPool-0               4      null       y          1\n'));
});

test('a host booted with sched=rtds: sched-rtds lists, reads and sets each vCPU\'s period, budget and extra time; they survive a restart', async (t) => {
  const r = await xlHost({ sched: 'rtds' });
  t.teardown(() => r.dispose());
  t.is((await r.xl('create', '-q', join(CONFIGS, 'db.yaml'))).code, 0);
  const id = (await r.until((rows) => rows.some((x) => x.name === 'db'), 'db created')).find((x) => x.name === 'db')!.domid;
  const H = 'Name                                ID    Period    Budget  Extratime\n';
  const V = 'Name                                ID VCPU    Period    Budget  Extratime\n';
  const dom = (name: string, domid: number) => `${name.padEnd(33)} ${String(domid).padStart(4)}     10000      4000        yes\n`;
  const vcpu = (name: string, domid: number, v: number, period: number, budget: number, extra: boolean) =>
    `${name.padEnd(33)} ${String(domid).padStart(4)} ${String(v).padStart(4)} ${String(period).padStart(9)} ${String(budget).padStart(9)} ${(extra ? 'yes' : 'no').padStart(10)}\n`;
  t.deepEqual(await r.xl('sched-rtds'), ok(`Cpupool Pool-0: sched=RTDS\n${H}${dom('Domain-0', 0)}${dom('db', id)}`));
  t.deepEqual(await r.xl('sched-rtds', '-d', 'db'), ok(H + dom('db', id)));
  t.deepEqual(await r.xl('sched-rtds', '-d', 'db', '-v', '1', '-p', '20000', '-b', '5000', '-e', '0', '-v', '3', '-p', '100', '-b', '100', '-e', '1'), ok());
  t.deepEqual(await r.xl('sched-rtds', '-d', 'db', '-v', '3', '-v', '1'), ok(V + vcpu('db', id, 3, 100, 100, true) + vcpu('db', id, 1, 20000, 5000, false)));
  t.deepEqual(
    await r.xl('sched-rtds', '-d', 'db', '-v', 'all'),
    ok(V + vcpu('db', id, 0, 10000, 4000, true) + vcpu('db', id, 1, 20000, 5000, false) + vcpu('db', id, 2, 10000, 4000, true) + vcpu('db', id, 3, 100, 100, true)),
  );
  // Xen's getinfo answers its defaults, whatever the vCPUs have.
  t.deepEqual(await r.xl('sched-rtds', '-d', 'db'), ok(H + dom('db', id)));
  t.deepEqual(await r.xl('sched-rtds', '-d', 'db', '-v', '4'), fails('xenemu: VCPU index is out of range, valid values are within range from 0 to 3\nlibxl_vcpu_sched_params_get failed.\n', V));
  t.deepEqual(
    await r.xl('sched-rtds', '-d', 'db', '-v', '0', '-p', '5', '-b', '5', '-e', '1'),
    fails('xenemu: Setting vcpu sched rtds: Invalid argument (RTDS period 5 us, budget 5 us: both at least 10 us, the budget at most the period)\nlibxl_vcpu_sched_params_set failed.\n'),
  );
  t.deepEqual(await r.xl('sched-rtds', '-d', '0', '-v', 'all', '-p', '1000', '-b', '500', '-e', '0'), ok());
  const dom0 = [0, 1, 2, 3].map((v) => vcpu('Domain-0', 0, v, 1000, 500, false)).join('');
  const listed = `Cpupool Pool-0: sched=RTDS\n${V}${dom0}`;
  t.true((await r.xl('sched-rtds', '-v', 'all')).stdout.startsWith(listed));
  const long = JSON.parse((await r.xl('list', '-l', 'db')).stdout) as Array<{ config: { b_info: { sched_params: unknown } } }>;
  t.deepEqual(long[0]!.config.b_info.sched_params, { sched: 'rtds', period: 10000, budget: 4000 });
  t.deepEqual(await r.xl('sched-credit2', '-d', 'db'), fails('libxl_domain_sched_params_get returned rtds not credit2.\n', HEADER));
  const before = await r.xl('sched-rtds', '-d', 'db', '-v', 'all');
  await r.host.stop();
  await r.host.restart();
  t.deepEqual(await r.xl('sched-rtds', '-d', 'db', '-v', 'all'), before);
});
