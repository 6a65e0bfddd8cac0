import test from 'ava';
import { join } from 'node:path';
import type { JsonOutput } from '../../src/ui/json/schemas.js';
import { formatCommandHelp } from '../../src/ui/xl/index.js';
import { assertXlBuilt, CONFIGS, xlHost, type XlHost } from './helpers.js';

// xl sysrq and xl trigger (xl_misc.c): their messages and exit statuses, through the
// xl shim and the oclif commands. What the guest does is test/machine/sysrq-trigger.test.ts's.

let h: XlHost;

test.before(async () => {
  assertXlBuilt();
  h = await xlHost();
  for (const config of ['web.yaml', 'db.yaml']) {
    const r = await h.xl('create', '-q', join(CONFIGS, config));
    if (r.code !== 0) throw new Error(r.stderr);
  }
  await h.until((rs) => rs.filter((x) => x.stateFlags.blocked).length === 2, 'web and db idle');
});

test.after.always(async () => {
  await h?.dispose();
});

const dmesgHas = async (domain: string, line: string) => {
  for (let i = 0; i < 200; i++) {
    if ((await h.xenemu('dmesg', domain)).stdout.includes(line)) return true;
  }
  return false;
};

test('sysrq: one letter reaches the guest kernel; more is xl\'s "Invalid sysrq." with the usage, exit 1', async (t) => {
  t.deepEqual(await h.xl('sysrq', 'web', 's'), { stdout: '', stderr: '', code: 0 });
  t.true(await dmesgHas('web', '] sysrq: Emergency Sync\n'));
  t.deepEqual(await h.xenemu('sysrq', 'web', 'ab'), { stdout: formatCommandHelp('sysrq'), stderr: 'Invalid sysrq.\n\n', code: 1 });
  t.deepEqual(await h.xl('sysrq', 'web', 'é'), { stdout: formatCommandHelp('sysrq'), stderr: 'Invalid sysrq.\n\n', code: 1 });
  t.deepEqual(await h.xl('sysrq', 'nosuch', 's'), { stdout: '', stderr: 'nosuch is an invalid domain identifier (rc=-6)\n', code: 1 });
});

test('trigger: xl\'s "Invalid trigger" and vcpuid messages; what Xen refuses is libxl\'s message, exit 1', async (t) => {
  t.deepEqual(await h.xl('trigger', 'web', 'bogus'), { stdout: '', stderr: 'Invalid trigger "bogus"\n', code: 1 });
  t.deepEqual(await h.xl('trigger', 'web', 'RESET'), {
    stdout: '',
    stderr: "xenemu: Send trigger 'reset' failed: Xen on x86 does not implement the reset trigger (XEN_DOMCTL_sendtrigger)\n",
    code: 1,
  });
  t.deepEqual(await h.xenemu('trigger', 'db', 'power'), {
    stdout: '',
    stderr: "xenemu: Send trigger 'power' failed: domain 2 is a PV guest: the power button is an ACPI event of HVM guests\n",
    code: 1,
  });
  t.deepEqual(await h.xl('trigger', 'web', 'nmi', '9'), { stdout: '', stderr: "xenemu: Send trigger 'nmi' failed: domain 1 has no vCPU 9\n", code: 1 });
  t.deepEqual(await h.xl('trigger', 'web', 's3resume'), { stdout: '', stderr: "xenemu: Send trigger 's3resume' failed, rc=-6: domain 1 has no device model to wake\n", code: 1 });
  // PVH: no emulated PM block, so the power button is accepted and lost.
  t.deepEqual(await h.xl('trigger', 'web', 'power'), { stdout: '', stderr: '', code: 0 });
  t.deepEqual(await h.xenemu('trigger', 'web', 'nmi', 'x'), { stdout: '', stderr: 'Invalid vcpuid, using default vcpuid=0.\n\n', code: 0 });
  t.true(await dmesgHas('web', '] Uhhuh. NMI received for unknown reason 00 on CPU 0.\n'));
});

test.serial('sysrq c crashes db, whose on_crash is preserve: list shows it shut down, crashed', async (t) => {
  t.deepEqual(await h.xenemu('sysrq', 'db', 'c'), { stdout: '', stderr: '', code: 0 });
  await h.until((rs) => rs.some((r) => r.name === 'db' && r.stateFlags.shutdown), 'db crashed');
  const [row] = JSON.parse((await h.xenemu('list', '--json', 'db')).stdout) as JsonOutput<'list'>;
  t.like(row, { name: 'db', shutdownReason: 'crash', state: { shutdown: true, crashed: true } });
  t.regex((await h.xl('list', 'db')).stdout, /\ndb +2 .* ---sc- /);
  t.regex((await h.xl('dmesg')).stdout, /\(XEN\) d2: shut down \(crash\)\n/);
});
