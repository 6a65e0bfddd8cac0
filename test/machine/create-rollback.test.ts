/**
 * A create that fails anywhere leaves the host as it found it: no domain in the
 * hypervisor, its memory free again, no event channel left in dom0, no XenStore node,
 * no console log it started, no saved record; and the next create works.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { Kernel } from '../../src/kernel/kernel.js';
import { ToolstackError } from '../../src/toolstack/errors.js';
import { bootMachine, until, yamlConfig, type TestMachine } from '../helpers/machine.js';

const SHARED_PARENTS = new Set(['/vm', '/libxl', '/local/domain/0/backend', '/local/domain/0/backend/console']);

/** What a create touches, as the host shows it. */
function snapshot(tm: TestMachine) {
  const hv = tm.m.hv;
  const dom0 = hv.get(0).evtchn!;
  const dom0Ports: string[] = [];
  for (let p = 1; p < dom0.tableSize; p++) {
    const s = dom0.status(p);
    if (s.status !== 'closed') dom0Ports.push(`${p}:${JSON.stringify(s)}`);
  }
  const consoleDir = tm.m.consoles.logPath('x').replace(/\/[^/]*$/, '');
  return {
    domains: [...hv.domains.keys()],
    dying: [...hv.dying.keys()],
    freeKiB: hv.freeKiB,
    // No grant mapping of a failed guest's pages left in dom0 (xenstored's, xenconsoled's).
    dom0Mappings: hv.get(0).grantTable!.liveHandles(),
    dom0Ports,
    // The directories every domain's nodes hang from stay once made, as after any destroy.
    store: tm.m.xs.db.dump().filter((n) => !SHARED_PARENTS.has(n.path)),
    consoleLogs: existsSync(consoleDir) ? readdirSync(consoleDir).sort() : [],
    records: tm.state.records.map((r) => r.domid),
  };
}

async function failsCleanly(t: ExecutionContext, tm: TestMachine, create: () => Promise<unknown>): Promise<ToolstackError> {
  const before = snapshot(tm);
  const err = await t.throwsAsync(create());
  t.true(err instanceof ToolstackError, `a ToolstackError, got ${String(err)}`);
  t.deepEqual(snapshot(tm), before);
  // The toolstack still works, and does not hand out the failed domid again.
  const ok = await tm.m.toolstack.create(yamlConfig('name: after\ntype: pvh\nmemory: 64\n'));
  await until(() => tm.m.toolstack.kernel(ok.domid)?.state === 'running', 'next guest running');
  t.deepEqual(tm.state.records.map((r) => r.name), ['after']);
  return err as ToolstackError;
}

const pv = yamlConfig('name: cmd\ntype: pv\nmemory: 64\n');

test.serial('builder: a PV command line too long for start_info fails the create and leaves nothing', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  // Past the config checks, as a control-socket client may send it.
  const err = await failsCleanly(t, tm, () => tm.m.toolstack.create({ ...pv, cmdline: 'c'.repeat(1100) }));
  t.is(err.message, "cannot create domain 'cmd': start_info.cmd_line: 1100 bytes plus the NUL do not fit in 1024");
  t.is(tm.m.hv.domidCursor, 3, 'domid 1 went to the failed build and is not reused');
  t.is(tm.state.domidCursor(), 3, 'and the saved cursor says so, for the next start');
});

test.serial('builder: too few event channels for the store and console fails cleanly', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const err = await failsCleanly(t, tm, () => tm.m.toolstack.create({ ...pv, max_event_channels: 1 }));
  t.is(err.code, 'ENOSPC');
});

test.serial('XenStore layout: a value over the quota fails the create and removes every node written', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const err = await failsCleanly(t, tm, () => tm.m.toolstack.create({ ...pv, kernel: `/${'k'.repeat(3000)}` }));
  t.is(err.code, 'E2BIG');
  t.is(err.message, "cannot create domain 'cmd': WRITE: E2BIG");
});

test.serial('kernel boot: a kernel that fails to boot fails the create and removes its new console log', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const boot = Kernel.prototype.boot;
  t.teardown(() => (Kernel.prototype.boot = boot));
  Kernel.prototype.boot = async function (this: Kernel) {
    throw new Error(`no bootable kernel for ${this.name}`);
  };
  const err = await failsCleanly(t, tm, async () => {
    try {
      return await tm.m.toolstack.create(pv);
    } finally {
      Kernel.prototype.boot = boot;
    }
  });
  t.is(err.message, "cannot create domain 'cmd': no bootable kernel for cmd");
  t.false(existsSync(tm.m.consoles.logPath('cmd')));
  t.true(existsSync(join(tm.m.consoles.logPath('after'))));
});
