import test from 'ava';
import type { ShutdownReason } from '../../src/hypervisor/domain.js';
import { bootMachine, until, yamlConfig, type TestMachine } from '../helpers/machine.js';

// xl sysrq (~/control/sysrq, the guest's control driver) and xl trigger
// (XEN_DOMCTL_sendtrigger): what the guest kernel does, and how the domain's on_*
// action follows a crash, reboot or power off.

interface Booted {
  tm: TestMachine;
  domid: number;
  log(): string[];
}

async function boot(t: { teardown(fn: () => Promise<void>): void }, yaml: string): Promise<Booted> {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const { domid } = await tm.m.toolstack.create(yamlConfig(yaml));
  const kernel = tm.m.toolstack.kernel(domid)!;
  await until(() => kernel.state === 'running', 'guest running');
  return { tm, domid, log: () => [...kernel.log.lines.map((l) => l.replace(/^\[[ .0-9]+\] /, ''))] };
}

const reason = (b: Booted): ShutdownReason | null | undefined => b.tm.m.hv.domains.get(b.domid)?.shutdownReason;
const PV = 'name: g\ntype: pv\nmemory: 128\n';

test('sysrq keys that only report: the header line, then what Linux prints; the guest runs on', async (t) => {
  const b = await boot(t, PV);
  // One at a time, as one `xl sysrq` each: like Linux, the guest reads the node when
  // its watch fires, so a key overwritten before that is never seen.
  for (const [key, last] of [['s', 'Emergency Sync complete'], ['5', 'sysrq: Loglevel set to 5'], ['u', 'Emergency Remount complete']] as const) {
    await b.tm.m.toolstack.sysrq(b.domid, key);
    await until(() => b.log().includes(last), `${key} handled`);
  }
  const tail = b.log().slice(b.log().indexOf('sysrq: Emergency Sync'));
  t.deepEqual(tail, ['sysrq: Emergency Sync', 'Emergency Sync complete', 'sysrq: Changing Loglevel', 'sysrq: Loglevel set to 5', 'sysrq: Emergency Remount R/O', 'Emergency Remount complete']);
  t.is(b.tm.m.toolstack.kernel(b.domid)!.state, 'running');
  t.is(reason(b), null);
  // The request is taken once: the node is emptied.
  t.is((await b.tm.xs.read(`/local/domain/${b.domid}/control/sysrq`)).toString(), '');
});

test('an unknown sysrq key prints the help line of Linux\'s sysrq table', async (t) => {
  const b = await boot(t, PV);
  await b.tm.m.toolstack.sysrq(b.domid, 'x');
  await until(() => b.log().some((l) => l.startsWith('sysrq: HELP')), 'help');
  t.true(
    b.log().includes(
      'sysrq: HELP : loglevel(0-9) reboot(b) crash(c) terminate-all-tasks(e) memory-full-oom-kill(f) kill-all-tasks(i) thaw-filesystems(j) sak(k) show-backtrace-all-active-cpus(l) show-memory-usage(m) nice-all-RT-tasks(n) poweroff(o) show-registers(p) show-all-timers(q) unraw(r) sync(s) show-task-states(t) unmount(u) show-blocked-tasks(w) dump-ftrace-buffer(z)',
    ),
  );
});

test('sysrq c panics the guest; on_crash preserve keeps it, crashed', async (t) => {
  const b = await boot(t, `${PV}on_crash: preserve\n`);
  await b.tm.m.toolstack.sysrq(b.domid, 'c');
  await until(() => reason(b) === 'crash', 'crashed');
  t.deepEqual(b.log().slice(-3), ['sysrq: Trigger a crash', 'Kernel panic - not syncing: sysrq triggered crash', '---[ end Kernel panic - not syncing: sysrq triggered crash ]---']);
  t.true(b.tm.m.hv.console.lines().includes(`(XEN) d${b.domid}: shut down (crash)`));
});

for (const [action, expect] of [
  ['destroy', 'gone'],
  ['coredump-destroy', 'gone'],
  ['restart', 'restarted'],
  ['rename-restart', 'renamed'],
] as const) {
  test(`sysrq c runs on_crash ${action}`, async (t) => {
    const b = await boot(t, `${PV}on_crash: ${action}\n`);
    await b.tm.m.toolstack.sysrq(b.domid, 'c');
    const names = () => [...b.tm.m.hv.domains.values()].filter((d) => d.domid !== 0).map((d) => [d.name, d.domid === b.domid]);
    if (expect === 'gone') await until(() => !b.tm.m.hv.domains.has(b.domid), 'destroyed');
    else if (expect === 'restarted') await until(() => names().some(([n, same]) => n === 'g' && same === false), 'a new g');
    else await until(() => names().length === 2, 'renamed and a new g');
    t.deepEqual(
      names().sort(),
      expect === 'gone' ? [] : expect === 'restarted' ? [['g', false]] : [['g', false], [`g-${b.domid}`, true]].sort(),
    );
  });
}

test('sysrq b reboots at once (on_reboot), sysrq o powers off (on_poweroff)', async (t) => {
  const b = await boot(t, `${PV}on_reboot: preserve\n`);
  await b.tm.m.toolstack.sysrq(b.domid, 'b');
  await until(() => reason(b) === 'reboot', 'rebooted');
  // emergency_restart: no "reboot: Restarting system", no device shutdown.
  t.is(b.log().at(-1), 'sysrq: Resetting');
  const o = await boot(t, `${PV}on_poweroff: preserve\n`);
  await o.tm.m.toolstack.sysrq(o.domid, 'o');
  await until(() => reason(o) === 'poweroff', 'powered off');
  t.deepEqual(o.log().slice(-2), ['sysrq: Power Off', 'reboot: Power down']);
});

test('trigger nmi: an unknown NMI; the guest goes on, unless booted with unknown_nmi_panic, then on_crash runs', async (t) => {
  const b = await boot(t, PV);
  b.tm.m.toolstack.trigger(b.domid, 'nmi', 0);
  await until(() => b.log().includes('Dazed and confused, but trying to continue'), 'NMI handled');
  t.deepEqual(b.log().slice(-3), ['Uhhuh. NMI received for unknown reason 00 on CPU 0.', 'Do you have a strange power saving mode enabled?', 'Dazed and confused, but trying to continue']);
  t.is(reason(b), null);
  const p = await boot(t, `${PV}extra: console=hvc0 unknown_nmi_panic\non_crash: preserve\n`);
  p.tm.m.toolstack.trigger(p.domid, 'nmi', 0);
  await until(() => reason(p) === 'crash', 'crashed by the NMI');
  t.deepEqual(p.log().slice(-2), ['Kernel panic - not syncing: NMI: Not continuing', '---[ end Kernel panic - not syncing: NMI: Not continuing ]---']);
});

test('an NMI is not queued: a second one while the first is pending is lost (nmi_pending)', async (t) => {
  const b = await boot(t, 'name: g\ntype: pv\nmemory: 128\nvcpus: 2\n');
  b.tm.m.toolstack.trigger(b.domid, 'nmi', 1);
  b.tm.m.toolstack.trigger(b.domid, 'nmi', 1);
  b.tm.m.toolstack.trigger(b.domid, 'nmi', 0);
  await until(() => b.log().filter((l) => l.startsWith('Dazed')).length === 2, 'two NMIs');
  t.deepEqual(
    b.log().filter((l) => l.startsWith('Uhhuh')),
    ['Uhhuh. NMI received for unknown reason 00 on CPU 1.', 'Uhhuh. NMI received for unknown reason 00 on CPU 0.'],
  );
});

test('trigger power: an HVM guest powers off cleanly; PV has no ACPI (EINVAL); PVH accepts it and nothing happens', async (t) => {
  const hvm = await boot(t, 'name: h\ntype: hvm\nmemory: 128\non_poweroff: preserve\n');
  hvm.tm.m.toolstack.trigger(hvm.domid, 'sleep', 0);
  await until(() => hvm.log().some((l) => l.includes('Sleep Button')), 'sleep button');
  t.is(reason(hvm), null, 'the sleep button is ignored');
  hvm.tm.m.toolstack.trigger(hvm.domid, 'power', 0);
  await until(() => reason(hvm) === 'poweroff', 'powered off');
  t.deepEqual(hvm.log().slice(-2), ['ACPI: button: Power Button pressed: powering off (HandlePowerKey=poweroff)', 'reboot: Power down']);

  const pv = await boot(t, PV);
  for (const trigger of ['power', 'sleep'] as const) {
    t.is(t.throws(() => pv.tm.m.toolstack.trigger(pv.domid, trigger, 0))!.message, `domain ${pv.domid} is a PV guest: the ${trigger} button is an ACPI event of HVM guests`);
  }
  const pvh = await boot(t, 'name: p\ntype: pvh\nmemory: 128\n');
  const before = pvh.log().length;
  pvh.tm.m.toolstack.trigger(pvh.domid, 'power', 0);
  pvh.tm.m.toolstack.trigger(pvh.domid, 'nmi', 0);
  await until(() => pvh.log().includes('Dazed and confused, but trying to continue'), 'the NMI after the button');
  t.false(pvh.log().slice(before).some((l) => l.includes('Power Button')));
  t.is(reason(pvh), null);
});

test('trigger reset and init are ENOSYS on x86; a vCPU the domain lacks is ESRCH', async (t) => {
  const b = await boot(t, PV);
  for (const trigger of ['reset', 'init'] as const) t.like(t.throws(() => b.tm.m.toolstack.trigger(b.domid, trigger, 0)), { code: 'ENOSYS' });
  t.like(t.throws(() => b.tm.m.toolstack.trigger(b.domid, 'nmi', 9)), { code: 'ESRCH', message: `domain ${b.domid} has no vCPU 9` });
});
