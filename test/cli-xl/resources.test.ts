import test from 'ava';
import { join } from 'node:path';
import type { XlDomainRow } from '../../src/toolstack/libxl/rows.js';
import type { JsonOutput } from '../../src/ui/json/schemas.js';
import { assertXlBuilt, CONFIGS, lit, listRow, xlHost, type XlHost } from './helpers.js';

// Memory and vCPUs: mem-set / mem-max (xl_mem.c), vcpu-set / vcpu-pin / vcpu-list
// (xl_vcpu.c). db.yaml: PV, 2048 MiB of at most 4096, 2 of 4 vCPUs online.

let h: XlHost;
let db: number;

test.before(async () => {
  assertXlBuilt();
  h = await xlHost();
  const r = await h.xl('create', '-q', join(CONFIGS, 'db.yaml'));
  if (r.code !== 0) throw new Error(r.stderr);
  db = (await h.until((rs) => rs.some((x) => x.name === 'db' && x.stateFlags.blocked), 'db idle')).find((x) => x.name === 'db')!.domid;
});

test.after.always(async () => {
  await h?.dispose();
});

const dbRow = async (): Promise<XlDomainRow> => (await (await h.client()).list([String(db)]))[0]!;
const dbListed = (mem: number, vcpus: number) => new RegExp(`\n${listRow('db', db, mem, vcpus, '-b----')}\n$`);

test.serial('mem-set: the balloon follows the target and so does the Mem column; a bare number is MiB', async (t) => {
  t.deepEqual(await h.xl('mem-set', 'db', '1024'), { stdout: '', stderr: '', code: 0 });
  await h.until((rs) => rs.find((r) => r.domid === db)?.currentMemKb === 1024 * 1024, 'db at 1 GiB');
  t.regex((await h.xl('list', 'db')).stdout, dbListed(1024, 2));
  t.deepEqual(await h.xenemu('mem-set', 'db', '3g'), { stdout: '', stderr: '', code: 0 });
  await h.until((rs) => rs.find((r) => r.domid === db)?.currentMemKb === 3 * 1024 * 1024, 'db at 3 GiB');
  t.regex((await h.xenemu('list', 'db')).stdout, dbListed(3072, 2));
});

test.serial('mem-set beyond the maximum is refused; mem-max moves the maximum', async (t) => {
  t.deepEqual(await h.xl('mem-set', 'db', '5000'), {
    stdout: '',
    stderr: `xenemu: memory_dynamic_max must be less than or equal to memory_static_max (5120000 KiB > 4194304 KiB)\ncannot set domid ${db} dynamic max memory to : 5000\n`,
    code: 1,
  });
  t.is((await dbRow()).currentMemKb, 3 * 1024 * 1024);
  t.deepEqual(await h.xenemu('mem-max', 'db', '3500'), { stdout: '', stderr: '', code: 0 });
  t.is((await h.xl('mem-set', 'db', '3800')).stderr, `xenemu: memory_dynamic_max must be less than or equal to memory_static_max (3891200 KiB > 3584000 KiB)\ncannot set domid ${db} dynamic max memory to : 3800\n`);
  t.deepEqual(await h.xl('mem-set', 'db', '3400m'), { stdout: '', stderr: '', code: 0 });
  await h.until((rs) => rs.find((r) => r.domid === db)?.currentMemKb === 3400 * 1024, 'db at 3400 MiB');
  t.regex((await h.xl('list', 'db')).stdout, dbListed(3400, 2));
});

test('sizes are parse_mem_size_kb()\'s: a bad one is "invalid memory size" (exit 1)', async (t) => {
  t.deepEqual(await h.xl('mem-set', 'db', '12q'), { stdout: '', stderr: 'invalid memory size: 12q\n', code: 1 });
  t.deepEqual(await h.xenemu('mem-max', 'db', '1kb'), { stdout: '', stderr: 'invalid memory size: 1kb\n', code: 1 });
  t.deepEqual(await h.xl('mem-set', 'nosuch', '1g'), { stdout: '', stderr: 'nosuch is an invalid domain identifier (rc=-6)\n', code: 1 });
});

test.serial('vcpu-set: vCPUs come online and go offline, and the VCPUs column follows', async (t) => {
  t.deepEqual(await h.xl('vcpu-set', 'db', '4'), { stdout: '', stderr: '', code: 0 });
  await h.until((rs) => rs.find((r) => r.domid === db)?.vcpusOnline === 4, 'db with 4 vCPUs');
  t.regex((await h.xl('list', 'db')).stdout, dbListed(3400, 4));
  t.deepEqual(await h.xenemu('vcpu-set', 'db', '1'), { stdout: '', stderr: '', code: 0 });
  await h.until((rs) => rs.find((r) => r.domid === db)?.vcpusOnline === 1, 'db with 1 vCPU');
  t.regex((await h.xenemu('list', 'db')).stdout, dbListed(3400, 1));
  // An offline vCPU lists with CPU "-" and state "--p".
  const offline = new RegExp(`\n${lit('db'.padEnd(32))} ${String(db).padStart(5)}     3    -   --p [ 0-9]{7}\\.[0-9]  all / all\n`);
  t.regex((await h.xl('vcpu-list', 'db')).stdout, offline);
});

test('vcpu-set refuses what xl refuses: no number, more vCPUs than the host has, more than maxvcpus', async (t) => {
  t.deepEqual(await h.xl('vcpu-set', 'db', 'abc'), { stdout: '', stderr: 'Error: Invalid argument.\n', code: 1 });
  t.deepEqual(await h.xenemu('vcpu-set', 'db', '5'), {
    stdout: '',
    stderr: 'You are overcommmitting! You have 4 physical CPUs and want 5 vCPUs! Aborting, use --ignore-host to continue\n',
    code: 1,
  });
  const r = await h.xl('vcpu-set', '-i', 'db', '5');
  t.is(r.code, 1);
  t.is(r.stderr, `xenemu: domain ${db} has 4 vCPUs at most (maxvcpus); asked for 5\nlibxl_set_vcpuonline failed domid=${db} max_vcpus=5, rc: -3\n`);
});

/** One vcpu-list line: `%-32s %5u %5u%5u %3c%c- %9.1f  HARD / SOFT`, any CPU and time. */
const vcpuLine = (vcpu: number, affinity: string) =>
  `${lit('db'.padEnd(32))} ${String(db).padStart(5)} ${String(vcpu).padStart(5)} +[0-9]+ +[-r][-b]- [ 0-9]{7}\\.[0-9]  ${lit(affinity)}`;

test.serial('vcpu-pin sets hard and soft affinity in xl\'s CPU list syntax; vcpu-list shows them', async (t) => {
  t.deepEqual(await h.xl('vcpu-set', 'db', '2'), { stdout: '', stderr: '', code: 0 });
  await h.until((rs) => rs.find((r) => r.domid === db)?.vcpusOnline === 2, 'db with 2 vCPUs');
  t.deepEqual(await h.xl('vcpu-pin', 'db', '1', '2'), { stdout: '', stderr: '', code: 0 });
  t.deepEqual(await h.xenemu('vcpu-pin', 'db', '0', '0-3,^1', '3'), { stdout: '', stderr: '', code: 0 });
  const header = 'Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)';
  t.regex((await h.xl('vcpu-list', 'db')).stdout, new RegExp(`^${lit(header)}\n${vcpuLine(0, '0,2-3 / 3')}\n${vcpuLine(1, '2 / all')}\n`));
  // "-" keeps an affinity; "all" means every host CPU.
  t.deepEqual(await h.xl('vcpu-pin', 'db', 'all', '-', 'all'), { stdout: '', stderr: '', code: 0 });
  t.regex((await h.xenemu('vcpu-list', 'db')).stdout, new RegExp(`\n${vcpuLine(0, '0,2-3 / all')}\n${vcpuLine(1, '2 / all')}\n`));
  const rows = JSON.parse((await h.xenemu('vcpu-list', '--json', 'db')).stdout) as JsonOutput<'vcpu-list'>;
  t.deepEqual(
    rows.slice(0, 2).map((r) => [r.hardAffinity, r.softAffinity]),
    [
      [[0, 2, 3], [0, 1, 2, 3]],
      [[2], [0, 1, 2, 3]],
    ],
  );
});

test('vcpu-pin: xl\'s errors, and -N prints the maps without changing anything', async (t) => {
  t.deepEqual(await h.xl('vcpu-pin', 'db', 'x', '1'), { stdout: '', stderr: 'Error: Invalid argument x as VCPU.\n', code: 1 });
  t.deepEqual(await h.xl('vcpu-pin', '-f', 'db', 'all', '1'), { stdout: '', stderr: "Error: --force and 'all' as VCPU not allowed.\n", code: 1 });
  t.deepEqual(await h.xenemu('vcpu-pin', 'db', '0', '1-0'), { stdout: '', stderr: 'Invalid pcpu range: 1-0.\n', code: 1 });
  t.deepEqual(await h.xl('-N', 'vcpu-pin', 'db', 'all', '0-3,^1'), { stdout: 'cpumap: 0,2-3\n', stderr: '', code: 0 });
  t.deepEqual(await h.xenemu('vcpu-pin', '--dry-run', 'db', '0', '-', '9'), { stdout: 'cpumap: - none\n', stderr: '', code: 0 });
  const r = await h.xl('vcpu-pin', 'db', '7', '1');
  t.is(r.code, 1);
  t.is(r.stderr, `xenemu: domain ${db} has no vCPU 7\nCould not set affinity for vcpu \`7'.\n`);
});

test.serial('vcpu-pin refuses an affinity that leaves no online CPU, as Xen does, and changes nothing', async (t) => {
  const affinity = async () => (JSON.parse((await h.xenemu('vcpu-list', '--json', 'db')).stdout) as JsonOutput<'vcpu-list'>).map((r) => [r.hardAffinity, r.softAffinity]);
  const before = await affinity();
  // libxl drops CPUs the host lacks (libxl__bitmap_copy_best_effort); Xen refuses the empty map.
  const refused = (vcpu: number) => `xenemu: domain ${db} vCPU ${vcpu}: the hard affinity has no online CPU (the host has CPUs 0-3)\n`;
  t.deepEqual(await h.xl('vcpu-pin', 'db', '0', '9'), { stdout: '', stderr: `${refused(0)}Could not set affinity for vcpu \`0'.\n`, code: 1 });
  t.deepEqual(await h.xenemu('vcpu-pin', 'db', '1', '0-1,^0-1'), { stdout: '', stderr: `${refused(1)}Could not set affinity for vcpu \`1'.\n`, code: 1 });
  t.deepEqual(await h.xenemu('vcpu-pin', 'db', 'all', '4-7'), { stdout: '', stderr: `${refused(0)}Could not set affinity.\n`, code: 1 });
  t.deepEqual(await affinity(), before);
  // A soft affinity may name CPUs the host lacks: it is only a preference.
  t.deepEqual(await h.xenemu('vcpu-pin', 'db', '1', '-', '9'), { stdout: '', stderr: '', code: 0 });
});

test('vcpu-list -l: vCPUs 0-31 have their vcpu_info in shared_info, the others in a page the guest registered', async (t) => {
  const r = await h.xl('create', '-q', join(CONFIGS, 'web.yaml'), 'name="big"', 'vcpus=40');
  t.is(r.code, 0, r.stderr);
  const c = await h.client();
  const big = (await h.until((rs) => rs.some((x) => x.name === 'big' && x.vcpusOnline === 40), 'big up')).find((x) => x.name === 'big')!.domid;
  for (let i = 0; i < 2000; i++) {
    const rows = (await c.vcpuList([String(big)])).rows;
    if (rows.every((v) => v.vcpuInfoLocation !== 'unregistered')) break;
    await new Promise((res) => setTimeout(res, 5));
  }
  const out = (await h.xenemu('vcpu-list', '-l', 'big')).stdout.split('\n');
  t.is(out[0], 'Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)  vcpu_info');
  t.is(out.length, 1 + 40 + 1);
  for (let v = 0; v < 40; v++) {
    const where = v < 32 ? lit(`shared_info slot ${v}`) : 'gfn 0x[0-9a-f]+\\+0x[0-9a-f]+';
    t.regex(out[1 + v]!, new RegExp(`^${lit('big'.padEnd(32))} ${String(big).padStart(5)} ${String(v).padStart(5)} .*  all / all  ${where}$`), `vCPU ${v}`);
  }
  // The shim takes -l too.
  t.is((await h.xl('vcpu-list', '-l', 'big')).stdout.split('\n').length, 42);
  t.deepEqual(await h.xl('destroy', 'big'), { stdout: '', stderr: '', code: 0 });
});

test('vcpu-list prints its header before a bad name, and nothing for a missing id (as xl)', async (t) => {
  const header = 'Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\n';
  t.deepEqual(await h.xl('vcpu-list', 'nosuch'), { stdout: header, stderr: 'nosuch is an invalid domain identifier (rc=-6)\n', code: 1 });
  t.deepEqual(await h.xl('vcpu-list', '77'), { stdout: header, stderr: "xenemu: domain '77' does not exist\n", code: 0 });
});
