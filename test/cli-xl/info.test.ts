import test from 'ava';
import { join } from 'node:path';
import type { JsonOutput } from '../../src/ui/json/schemas.js';
import { assertXlBuilt, CONFIGS, DOM0_MEMORY_MIB, xlHost, type XlHost } from './helpers.js';

// The read-only views: info, uptime, dmesg (xl_info.c), and list -l.

let h: XlHost;

test.before(async () => {
  assertXlBuilt();
  h = await xlHost();
  const r = await h.xl('create', '-q', join(CONFIGS, 'web.yaml'));
  if (r.code !== 0) throw new Error(r.stderr);
  await h.until((rs) => rs.some((x) => x.name === 'web' && x.stateFlags.blocked), 'web idle');
});

test.after.always(async () => {
  await h?.dispose();
});

/** print_info()'s keys, in its order (output_nodeinfo, output_physinfo, output_xeninfo). */
const INFO_KEYS = [
  'host', 'release', 'version', 'machine',
  'nr_cpus', 'max_cpu_id', 'nr_nodes', 'cores_per_socket', 'threads_per_core', 'cpu_mhz', 'hw_caps', 'virt_caps',
  'total_memory', 'free_memory', 'sharing_freed_memory', 'sharing_used_memory', 'outstanding_claims', 'free_cpus',
  'xen_major', 'xen_minor', 'xen_extra', 'xen_version', 'xen_caps', 'xen_scheduler', 'xen_pagesize', 'platform_params',
  'xen_changeset', 'xen_commandline', 'cc_compiler', 'cc_compile_by', 'cc_compile_domain', 'cc_compile_date', 'build_id',
  'xend_config_format',
];

// host.info's answer holds bigints (virt_start); each test has a host of its own.
test('info: xl\'s keys in xl\'s order, padded to 23 columns, with the emulated machine\'s values', async (t) => {
  const own = await xlHost();
  t.teardown(() => own.dispose());
  const r = await own.xl('info');
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').slice(0, -1);
  t.deepEqual(
    lines.map((l) => l.slice(0, 23).trimEnd()),
    INFO_KEYS,
  );
  for (const l of lines) t.is(l.slice(23, 25), ': ', l);
  const value = (k: string) => lines.find((l) => l.startsWith(`${k.padEnd(23)}: `))?.slice(25);
  t.is(value('nr_cpus'), '4');
  t.is(value('total_memory'), '16384');
  t.is(value('xen_pagesize'), '4096');
  t.is(value('platform_params'), 'virt_start=0xffff800000000000');
  t.is(value('xend_config_format'), '4');
  // Every value is the emulated host's, or what xl prints on a host without the thing.
  t.false(r.stdout.includes('placeholder'), r.stdout);
  t.is(value('xen_commandline'), `dom0_mem=${DOM0_MEMORY_MIB}M,max:${DOM0_MEMORY_MIB}M`, 'the dom0 memory the host booted with');
  // Grant tables v1 only (opt_gnttab_max_version = 1); no paging modes or IOMMU.
  t.is(value('virt_caps'), 'pv hvm gnttab-v1', 'what the hypervisor has, and nothing it lacks');
  t.is(value('hw_caps'), '00000000:00000000:00000000:00000000:00000000:00000000:00000000:00000000', 'no x86 feature leaves are modelled');
  t.is(value('free_cpus'), '0', 'every CPU is in Pool-0');
  for (const k of ['xen_changeset', 'cc_compile_by', 'cc_compile_domain', 'cc_compile_date', 'build_id']) t.is(value(k), '', k);
  // NAME prints the values of the keys that start with it; xenemu info is the same text.
  t.is((await own.xl('info', 'nr_')).stdout, '4\n1\n');
  t.is((await own.xenemu('info')).stdout, r.stdout);
  // --json: the u64 that doubles cannot hold comes as its exact decimal text.
  const json = JSON.parse((await own.xenemu('info', '--json')).stdout) as JsonOutput<'info'>;
  t.is(json.xen!.virtStart, '18446603336221196288');
});

test('list -l: the libxl JSON of each domain, as xl list -l prints it', async (t) => {
  const own = await xlHost();
  t.teardown(() => own.dispose());
  t.is((await own.xl('create', '-q', join(CONFIGS, 'db.yaml'))).code, 0);
  const r = await own.xl('list', '-l', 'db');
  t.is(r.code, 0, r.stderr);
  const entries = JSON.parse(r.stdout) as { domid: number; config: { c_info: { name: string; uuid: string } } }[];
  t.deepEqual(
    entries.map((e) => [e.domid, e.config.c_info.name, e.config.c_info.uuid]),
    [[1, 'db', '3f2b6c1e-8a4d-4b7e-9c21-5d0e7a9b4f13']],
  );
  t.true(r.stdout.endsWith('\n]\n\n'), 'yajl ends the array with a newline and puts() adds one');
  t.is((await own.xenemu('list', '-l', 'db')).stdout, r.stdout);
});

test('uptime: the header, then Domain-0 and the guests; -s is uptime(1)\'s form', async (t) => {
  const r = await h.xl('uptime');
  t.is(r.code, 0);
  // printf("%-33s %4d %s\n"); the uptime is " H:MM:SS", with "N day(s), " in front past a day.
  const row = (name: string, id: number) => `${name.padEnd(33)} ${String(id).padStart(4)} (?:\\d+ days?, )?[ \\d]\\d:\\d\\d:\\d\\d`;
  t.regex(r.stdout, new RegExp(`^${'Name'.padEnd(33)}   ID Uptime\n${row('Domain-0', 0)}\n${row('web', 1)}\n$`));
  const s = await h.xenemu('uptime', '-s', 'web');
  t.regex(s.stdout, /^ \d\d:\d\d:\d\d up [ \d]\d:\d\d, web \(1\)\n$/);
  // An id that is gone is skipped, as xl skips a domain without a start time; a bad name ends it.
  t.regex((await h.xl('uptime', '77', 'web')).stdout, new RegExp(`^${'Name'.padEnd(33)}   ID Uptime\n${row('web', 1)}\n$`));
  t.deepEqual(await h.xl('uptime', 'nosuch'), { stdout: '', stderr: 'nosuch is an invalid domain identifier (rc=-6)\n', code: 1 });
  const json = JSON.parse((await h.xenemu('uptime', '--json', 'web')).stdout) as { name: string; domid: number; uptimeSeconds: number }[];
  t.like(json[0], { name: 'web', domid: 1 });
});

test('dmesg: the hypervisor\'s log; with a domain, that guest kernel\'s (xenemu\'s extension)', async (t) => {
  const xen = await h.xl('dmesg');
  t.is(xen.code, 0);
  const lines = xen.stdout.split('\n').slice(0, -1);
  t.true(lines.length >= 3);
  for (const l of lines) t.true(l.startsWith('(XEN) '), l);
  t.regex(xen.stdout, /^\(XEN\) Xen version 4\.17/);
  t.regex(xen.stdout, /\(XEN\) d1: created \(pvh, 2 vCPUs, 512 MiB\)\n/);
  const guest = await h.xenemu('dmesg', 'web');
  t.regex(guest.stdout, /^\[ *\d+\.\d{6}\] Booting web \(domain 1, PVH, 2 vCPUs, 524288 KiB\)\n/);
  t.is((await h.xl('dmesg', '1')).stdout, guest.stdout);
  const json = JSON.parse((await h.xenemu('dmesg', '--json', 'web')).stdout) as { lines: string[] };
  t.is(`${json.lines.join('\n')}\n`, guest.stdout);
  t.deepEqual(await h.xl('dmesg', 'nosuch'), { stdout: '', stderr: 'nosuch is an invalid domain identifier (rc=-6)\n', code: 1 });
});

// -c changes the log: a host of its own.
test('dmesg: Xen\'s boot lines, then the event log; -c prints and clears, as xl dmesg -c', async (t) => {
  const own = await xlHost();
  t.teardown(() => own.dispose());
  const boot = (await own.xl('dmesg')).stdout;
  t.regex(boot, /^\(XEN\) Xen version 4\.17\.7-xenemu \(xenemu\)\n/);
  t.regex(boot, /\n\(XEN\) Using scheduler: SMP Credit Scheduler rev2 \(credit2\)\n\(XEN\) Brought up 4 CPUs\n/);
  t.regex(boot, /\n\(XEN\) Command line: dom0_mem=1024M,max:1024M\n\(XEN\) d0: created \(pv, 4 vCPUs, 1024 MiB\)\n\(XEN\) \*\*\* Building a PV Dom0 \*\*\*\n\(XEN\) Dom0 has maximum 4 VCPUs\n/);
  t.deepEqual(await own.xl('dmesg', '-c'), { stdout: boot, stderr: '', code: 0 });
  t.deepEqual(await own.xenemu('dmesg'), { stdout: '', stderr: '', code: 0 });
  const r = await own.xl('create', '-q', join(CONFIGS, 'web.yaml'));
  t.is(r.code, 0, r.stderr);
  await own.until((rs) => rs.some((x) => x.name === 'web' && x.stateFlags.blocked), 'web up');
  // web's disk is served by dom0's blkback, which maps its ring: the domain is freed once
  // the backend has let go, after its node went with the destroy.
  await own.disksConnected('web');
  t.deepEqual(await own.xl('destroy', 'web'), { stdout: '', stderr: '', code: 0 });
  let log = '';
  for (let i = 0; i < 2000 && !log.includes('domain freed'); i++) log = (await own.xenemu('dmesg')).stdout;
  t.regex(
    log,
    /^\(XEN\) d1: created \(pvh, 2 vCPUs, 512 MiB\)\n\(XEN\) d1: \d+ of its pages are still mapped by other domains; they stay until unmapped\n\(XEN\) d1: destroyed\n\(XEN\) d1: its last mapped page was unmapped; domain freed\n$/,
  );
  // A guest's log: -c prints it and empties it.
  t.is((await own.xl('create', '-q', join(CONFIGS, 'web.yaml'))).code, 0);
  await own.until((rs) => rs.some((x) => x.name === 'web' && x.stateFlags.blocked), 'web up again');
  t.regex((await own.xenemu('dmesg', '-c', 'web')).stdout, /Booting web/);
  t.is((await own.xenemu('dmesg', 'web')).stdout, '');
});

test('list -l names the scheduler info names, for Domain-0 and the guests', async (t) => {
  const scheduler = /^xen_scheduler\s+: (\S+)$/m.exec((await h.xl('info')).stdout)?.[1];
  t.is(scheduler, 'credit2', "Xen 4.17's default");
  const entries = JSON.parse((await h.xl('list', '-l')).stdout) as { config: { b_info: { sched_params: { sched: string; weight: number } } } }[];
  t.deepEqual(
    entries.map((e) => e.config.b_info.sched_params),
    entries.map(() => ({ sched: scheduler, weight: 256, cap: 0 })),
  );
});
