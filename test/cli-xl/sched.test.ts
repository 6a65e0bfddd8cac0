import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertXlBuilt, CONFIGS, RUN_JS, runNode, scratchFile, xlHost, type XlHost } from './helpers.js';
import { fails, HEADER, ok, row } from './sched-rows.js';

// xl sched-credit2 / sched-credit / sched-rtds and cpupool-list (xl_sched.c,
// xl_cpupool.c, libxl_sched.c, 4.17) on the test host: 4 CPUs, Xen's default
// scheduler credit2. db.yaml: cpu_weight 512, 4 vCPUs at most (so a cap up to 400).

let h: XlHost;
let db: number;

const notCredit = (what: string) => `${what}: Invalid argument (cpupool Pool-0 runs the credit2 scheduler, not credit)`;

test.before(async () => {
  assertXlBuilt();
  h = await xlHost();
  const r = await h.xl('create', '-q', join(CONFIGS, 'db.yaml'));
  if (r.code !== 0) throw new Error(r.stderr);
  db = (await h.until((rs) => rs.some((x) => x.name === 'db'), 'db created')).find((x) => x.name === 'db')!.domid;
});

test.after.always(async () => {
  await h?.dispose();
});

test.serial('sched-credit2 lists Pool-0, its rate limit and each domain: the default weight 256, the config\'s cpu_weight', async (t) => {
  t.deepEqual(await h.xl('sched-credit2'), ok(`Cpupool Pool-0: ratelimit=1000us\n${HEADER}${row('Domain-0', 0, 256, 0)}${row('db', db, 512, 0)}`));
  t.deepEqual(await h.xl('sched-credit2', '-p', 'Pool-0'), await h.xl('sched-credit2', '-p', '0'));
  t.deepEqual(await h.xl('sched-credit2', '-d', 'db'), ok(HEADER + row('db', db, 512, 0)));
  t.deepEqual(await h.xl('sched-credit2', '-s'), ok('Cpupool Pool-0: ratelimit=1000us\n'));
});

test.serial('sched-credit2 -d DOM -w -c sets the weight and cap; list -l shows them as sched_params; -1 leaves one as it is', async (t) => {
  t.deepEqual(await h.xl('sched-credit2', '-d', 'db', '-w', '1024', '-c', '150'), ok());
  t.deepEqual(await h.xl('sched-credit2', '--domain=db'), ok(HEADER + row('db', db, 1024, 150)));
  t.deepEqual(await h.xl('sched-credit2', '-d', String(db), '-w', '-1', '--cap=400'), ok());
  t.deepEqual(await h.xl('sched-credit2', '-d', 'db'), ok(HEADER + row('db', db, 1024, 400)));
  const long = JSON.parse((await h.xl('list', '-l', 'db')).stdout) as Array<{ config: { b_info: { sched_params: unknown } } }>;
  t.deepEqual(long[0]!.config.b_info.sched_params, { sched: 'credit2', weight: 1024, cap: 400 });
  t.deepEqual(await h.xl('sched-credit2', '-d', 'db', '-c', '150'), ok());
});

test('sched-credit2 refuses what libxl refuses, in libxl\'s words, and xl\'s own usage errors', async (t) => {
  const setFailed = 'libxl_domain_sched_params_set failed.\n';
  t.deepEqual(await h.xl('sched-credit2', '-d', 'db', '-w', '0'), fails(`xenemu: Cpu weight out of range, valid values are within range from 1 to 65535\n${setFailed}`));
  t.deepEqual(await h.xl('sched-credit2', '-d', 'db', '-w', '65536'), fails(`xenemu: Cpu weight out of range, valid values are within range from 1 to 65535\n${setFailed}`));
  t.deepEqual(await h.xl('sched-credit2', '-d', 'db', '-c', '401'), fails(`xenemu: Cpu cap out of range, valid range is from 0 to 400 for specified number of vcpus\n${setFailed}`));
  t.deepEqual(await h.xl('sched-credit2', '-d', '0', '-c', '401'), fails(`xenemu: Cpu cap out of range, valid range is from 0 to 400 for specified number of vcpus\n${setFailed}`));
  t.deepEqual(await h.xl('sched-credit2', '-d', '77', '-w', '5'), fails(`xenemu: domain '77' does not exist\n${setFailed}`));
  t.deepEqual(await h.xl('sched-credit2', '-d', '77'), fails(`xenemu: domain '77' does not exist\nlibxl_domain_sched_params_get failed.\n`, HEADER));
  t.deepEqual(await h.xl('sched-credit2', '-d', 'nosuch'), fails('nosuch is an invalid domain identifier (rc=-6)\n'));
  t.deepEqual(await h.xl('sched-credit2', '-w', '5'), fails('Must specify a domain.\n'));
  t.deepEqual(await h.xl('sched-credit2', '-p', 'Pool-0', '-d', 'db'), fails('Specifying a cpupool is not allowed with other options.\n'));
  t.deepEqual(await h.xl('sched-credit2', '-p', 'nosuch'), fails("unknown cpupool 'nosuch'\n"));
  t.deepEqual(await h.xl('sched-credit2', '-s', '-p', '3'), fails("unknown cpupool '3'\n"));
  t.deepEqual(await h.xl('sched-credit2', '-s', '-p', ''), fails("unknown cpupool ''\n"));
  // strtoul() into a uint32_t: 2^32 is pool 0.
  t.deepEqual(await h.xl('sched-credit2', '-s', '-p', '4294967296'), ok('Cpupool Pool-0: ratelimit=1000us\n'));
  t.deepEqual(await h.xl('sched-credit2', '-s', '-r', '50'), fails('xenemu: Ratelimit out of range, valid range is from 100 to 500000\nlibxl_sched_credit2_params_set failed.\n'));
  t.deepEqual(await h.xl('sched-credit2', '-x'), { stdout: '', stderr: "option `x' not supported.\n", code: 2 });
});

test.serial('sched-credit2 -s -r sets the pool\'s rate limit; 0 turns it off', async (t) => {
  t.deepEqual(await h.xl('sched-credit2', '-s', '-r', '0'), ok());
  t.deepEqual(await h.xl('sched-credit2', '-s'), ok('Cpupool Pool-0: ratelimit=0us\n'));
  t.deepEqual(await h.xl('sched-credit2', '-s', '--ratelimit_us=2500', '-p', 'Pool-0'), ok());
  t.deepEqual(await h.xl('sched-credit2', '-s'), ok('Cpupool Pool-0: ratelimit=2500us\n'));
  t.deepEqual(await h.xl('sched-credit2', '-s', '-r', '1000'), ok());
});

test('sched-credit on the credit2 host fails as xl does: no pool listed, the domain\'s scheduler named, the parameters unavailable', async (t) => {
  t.deepEqual(await h.xl('sched-credit'), ok());
  t.deepEqual(await h.xl('sched-credit', '-p', 'Pool-0'), ok());
  t.deepEqual(await h.xl('sched-credit', '-d', 'db'), fails('libxl_domain_sched_params_get returned credit2 not credit.\n', HEADER));
  t.deepEqual(await h.xl('sched-credit', '-d', 'db', '-w', '5'), fails(`xenemu: ${notCredit('Getting domain sched credit')}\nlibxl_domain_sched_params_set failed.\n`));
  t.deepEqual(await h.xl('sched-credit', '-s'), {
    stdout: 'Cpupool Pool-0: [sched params unavailable]\n',
    stderr: `xenemu: ${notCredit('getting Credit scheduler parameters')}\nlibxl_sched_credit_params_get failed.\n`,
    code: 0,
  });
  t.deepEqual(await h.xl('sched-credit', '-s', '-t', '10'), fails(`xenemu: ${notCredit('getting Credit scheduler parameters')}\nlibxl_sched_credit_params_get failed.\n`));
  t.deepEqual(await h.xl('sched-credit', '-t', '10'), fails('Must specify schedparam to set schedule parameter values.\n'));
  t.deepEqual(await h.xl('sched-credit', '-s', '-d', 'db'), fails('Specifying a cpupool or schedparam is not allowed with domain options.\n'));
  t.deepEqual(await h.xl('sched-credit', '-c', '10'), fails('Must specify a domain.\n'));
});

test('sched-rtds on the credit2 host: nothing listed, per-vCPU reads refused as libxl refuses them, settings as Xen does', async (t) => {
  const vcpuHeader = 'Name                                ID VCPU    Period    Budget  Extratime\n';
  t.deepEqual(await h.xl('sched-rtds'), ok());
  t.deepEqual(await h.xl('sched-rtds', '-v', 'all'), ok());
  t.deepEqual(await h.xl('sched-rtds', '-d', 'db'), fails('libxl_domain_sched_params_get returned credit2 not rtds.\n', 'Name                                ID    Period    Budget  Extratime\n'));
  t.deepEqual(await h.xl('sched-rtds', '-d', 'db', '-v', 'all'), fails('xenemu: per-VCPU parameter getting not supported for this scheduler\nlibxl_vcpu_sched_params_get_all failed.\n', vcpuHeader));
  t.deepEqual(await h.xl('sched-rtds', '-d', 'db', '-v', '1'), fails('xenemu: per-VCPU parameter getting not supported for this scheduler\nlibxl_vcpu_sched_params_get failed.\n', vcpuHeader));
  t.deepEqual(
    await h.xl('sched-rtds', '-d', 'db', '-v', '0', '-p', '10000', '-b', '4000', '-e', '1'),
    fails('xenemu: Setting vcpu sched rtds: Invalid argument (cpupool Pool-0 runs the credit2 scheduler, not rtds)\nlibxl_vcpu_sched_params_set failed.\n'),
  );
  t.deepEqual(await h.xl('sched-rtds', '-d', 'db', '-v', '4', '-p', '10000', '-b', '4000', '-e', '1'), fails('xenemu: Invalid VCPU 4: valid range is [0, 3]\nlibxl_vcpu_sched_params_set failed.\n'));
  t.deepEqual(
    await h.xl('sched-rtds', '-d', 'db', '-v', 'all', '-p', '100', '-b', '400', '-e', '0'),
    fails('xenemu: VCPU budget must be smaller than or equal to period, but 400 > 100\nlibxl_vcpu_sched_params_set_all failed.\n'),
  );
  t.deepEqual(await h.xl('sched-rtds', '-d', 'db', '-v', '0', '-p', '100', '-b', '10', '-e', '2'), fails('Invalid extratime.\n'));
  t.deepEqual(await h.xl('sched-rtds', '-p', '100'), fails('Missing parameters.\n'));
  t.deepEqual(await h.xl('sched-rtds', '-d', 'db', '-p', '100', '-b', '10', '-e', '1'), fails('Must specify VCPU.\n'));
  t.deepEqual(await h.xl('sched-rtds', '-d', 'db', '-v', '0', '-v', 'all'), fails('Incorrect VCPU IDs.\n'));
  t.deepEqual(await h.xl('sched-rtds', '-d', 'db', '-v', '0', '-p', '100', '-b', '10'), fails('Incorrect number of period, budget and extratime\n'));
  t.deepEqual(await h.xl('sched-rtds', '--cpupool=Pool-0', '-d', 'db'), fails('Specifying a cpupool is not allowed with other options.\n'));
  // xl's optstring has "c" without an argument: -c names no pool.
  t.deepEqual(await h.xl('sched-rtds', '-c', '-d', 'db'), fails('libxl_domain_sched_params_get returned credit2 not rtds.\n', 'Name                                ID    Period    Budget  Extratime\n'));
});

test.serial('cpupool-list: Pool-0 with every host CPU, the scheduler and the domain count; -c lists the CPUs; a pool is named, not numbered', async (t) => {
  t.deepEqual(await h.xl('cpupool-list'), ok(`Name               CPUs   Sched     Active   Domain count\nPool-0               4   credit2       y          2\n`));
  t.deepEqual(await h.xl('cpupool-list', '-c', 'Pool-0'), ok('Name               CPU list\nPool-0             0,1,2,3\n'));
  t.deepEqual(await h.xl('cpupool-list', '--cpus'), await h.xl('cpupool-list', '-c'));
  t.deepEqual(await h.xl('cpupool-list', '0'), fails("Pool '0' does not exist\n"));
});

test('xenemu sched-credit2, sched-credit and cpupool-list print what the xl shim prints, through the fast path and through oclif', async (t) => {
  const oclif = (...args: string[]) => runNode(RUN_JS, args, { ...h.env, XENEMU_FAST_PATH: '0' });
  for (const args of [['sched-credit2'], ['sched-credit2', '-d', 'db'], ['sched-credit2', '-s', '-p', 'Pool-0'], ['sched-credit', '-d', 'db'], ['cpupool-list', '-c'], ['cpupool-list', 'nosuch']]) {
    const xl = await h.xl(...args);
    t.deepEqual(await h.xenemu(...args), xl, args.join(' '));
    t.deepEqual(await oclif(...args), xl, `${args.join(' ')} (oclif)`);
  }
  t.regex((await h.xenemu('help', 'sched-credit2')).stdout, /like xl sched-credit2/);
});

test('help: xl help sched-credit prints xl\'s usage, as -h does', async (t) => {
  const help = await h.xl('help', 'sched-credit');
  t.is(help.code, 0);
  t.true(help.stdout.startsWith('Usage: xl [-vtTf] sched-credit [-d <Domain> [-w[=WEIGHT]|-c[=CAP]]] [-s [-t TSLICE] [-r RATELIMIT]] [-p CPUPOOL]\n\nGet/set credit scheduler parameters.\n'));
  t.deepEqual(await h.xl('sched-credit', '-h'), help);
  t.is((await h.xl('cpupool-list', '--help')).stdout, (await h.xl('help', 'cpupool-list')).stdout);
});

test('create: cap beyond 100 per vCPU fails the create, as libxl__build_post refuses it, and leaves nothing', async (t) => {
  const file = scratchFile('capped.cfg', 'name = "capped"\nmemory = 64\nvcpus = 1\nmaxvcpus = 2\ncap = 201\n');
  const r = await h.xl('create', '-q', file);
  t.is(r.code, 3);
  t.regex(r.stderr, /Cpu cap out of range, valid range is from 0 to 200 for specified number of vcpus/);
  t.deepEqual(await h.xl('domid', 'capped'), fails("Can't get domid of domain name 'capped', maybe this domain does not exist.\n"));
});

test.serial('a weight and cap set by sched-credit2 survive a daemon restart', async (t) => {
  t.deepEqual(await h.xl('sched-credit2', '-d', 'db', '-w', '700', '-c', '50'), ok());
  await h.host.stop();
  await h.host.restart();
  t.deepEqual(await h.xl('sched-credit2', '-d', 'db'), ok(HEADER + row('db', db, 700, 50)));
  // The pool's parameters are Xen's alone: a restarted host has Xen's defaults, as a rebooted one.
  t.deepEqual(await h.xl('sched-credit2', '-s'), ok('Cpupool Pool-0: ratelimit=1000us\n'));
});

test.serial('a weight and cap set by sched-credit2 survive a kill -9 of the daemon (journalled)', async (t) => {
  t.deepEqual(await h.xl('sched-credit2', '-d', 'db', '-w', '800', '-c', '75'), ok());
  await h.host.kill();
  await h.host.restart();
  t.deepEqual(await h.xl('sched-credit2', '-d', 'db'), ok(HEADER + row('db', db, 800, 75)));
});

test.serial('xl save and restore keep the weight and cap (the record travels in the save file)', async (t) => {
  t.deepEqual(await h.xl('sched-credit2', '-d', 'db', '-w', '700', '-c', '50'), ok());
  const file = scratchFile('db.save', '');
  t.is((await h.xl('save', 'db', file)).code, 0);
  const restored = await h.xl('restore', file);
  t.is(restored.code, 0, restored.stderr);
  const out = (await h.xl('sched-credit2', '-d', 'db')).stdout;
  const domid = Number(/\ndb +(\d+) /.exec(out)?.[1]);
  t.is(out, HEADER + row('db', domid, 700, 50));
  // xl restore CONFIG FILE: that config's cpu_weight and cap, not the saved ones.
  const config = scratchFile('db-300.yaml', readFileSync(join(CONFIGS, 'db.yaml'), 'utf8').replaceAll('images/', `${CONFIGS}/images/`).replace('cpu_weight: 512', 'cpu_weight: 300\ncap: 25'));
  t.is((await h.xl('save', 'db', file)).code, 0);
  const again = await h.xl('restore', config, file);
  t.is(again.code, 0, again.stderr);
  t.regex((await h.xl('sched-credit2', '-d', 'db')).stdout, / {3}300 {3}25\n$/);
});
