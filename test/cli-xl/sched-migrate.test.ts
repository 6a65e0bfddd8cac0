import test from 'ava';
import { assertXlBuilt, RUN_JS, scratchFile, xlHost } from './helpers.js';

// A domain's scheduler parameters travel with it (its record is in the stream), as
// xl's do in the libxl config it sends (sched_params).

test('migrate carries a domain\'s credit2 weight and cap to the target', async (t) => {
  assertXlBuilt();
  const [a, b] = await Promise.all([xlHost(), xlHost()]);
  t.teardown(() => Promise.all([a.dispose(), b.dispose()]));
  const file = scratchFile('mover.yaml', 'name: mover\ntype: pvh\nmemory: 64\nmaxvcpus: 2\ncpu_weight: 600\n');
  t.is((await a.xl('create', '-q', file)).code, 0);
  await a.until((rows) => rows.find((r) => r.name === 'mover')?.stateFlags.blocked === true, 'mover idle');
  t.is((await a.xl('sched-credit2', '-d', 'mover', '-c', '120')).code, 0);
  const r = await a.xenemu('migrate', '-s', '', 'mover', `env XENEMU_HOME=${b.env.XENEMU_HOME} ${process.execPath} ${RUN_JS} migrate-receive`);
  t.is(r.code, 0, r.stderr);
  t.regex((await b.xl('sched-credit2', '-d', 'mover')).stdout, /\nmover {29} +\d+ {4}600 {2}120\n$/);
});
