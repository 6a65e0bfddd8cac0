import test from 'ava';
import { existsSync, readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { bootMachine, until, yamlConfig } from '../helpers/machine.js';

// Names are checked on the way in (the control socket, configs); these come in by the
// back door (the toolstack directly, as a store from an older version would) to show
// that the console backend itself never takes the daemon down over its log file.

test('a domain name with "/" gets no console log file, and the daemon lives on', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const consoles = dirname(tm.m.consoles.logPath('x'));
  const r = await tm.m.toolstack.create({ ...yamlConfig('name: placeholder\n'), name: 'a/../../b' });
  t.true(tm.log.some((l) => l.includes(`console: domain ${r.domid}: no log file`) && l.includes('not a file name')), tm.log.join('\n'));
  t.false(existsSync(dirname(consoles) + '/b.log'));
  await until(() => tm.m.consoles.tail(r.domid).length > 0, 'the guest printed to its console');
  await tm.m.toolstack.destroy(r.domid);
});

test('a console log file that cannot be opened is logged, not thrown', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  // Longer than NAME_MAX: open(2) fails with ENAMETOOLONG, after attach has returned.
  const r = await tm.m.toolstack.create({ ...yamlConfig('name: placeholder\n'), name: 'n'.repeat(300) });
  await until(() => tm.log.some((l) => l.includes(`console: domain ${r.domid}: no log file`)), 'the open error was logged');
  t.true(tm.log.some((l) => l.includes('ENAMETOOLONG')), tm.log.join('\n'));
  await until(() => tm.m.consoles.tail(r.domid).length > 0, 'the console runs on without its file');
  t.deepEqual(readdirSync(dirname(tm.m.consoles.logPath('x'))), []);
  await tm.m.toolstack.destroy(r.domid);
});
