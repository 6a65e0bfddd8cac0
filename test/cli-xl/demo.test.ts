import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DomainClient } from '../../src/client/domains.js';
import { statePaths } from '../../src/state/state-dir.js';
import { startHost, tempHome } from '../helpers/daemon.js';
import { assertXlBuilt, lit, listRow, RUN_JS, runNode, TIME } from './helpers.js';

// `xenemu demo` end to end, on a machine where xenemu never ran: it starts the host,
// tours XenStore, creates the sample domains, lists them, shuts one down; run again,
// it replaces its own domains.

test('xenemu demo starts a host from nothing, creates and lists the sample domains, and can run again', async (t) => {
  assertXlBuilt();
  const home = join(tempHome(), 'fresh');
  const env: NodeJS.ProcessEnv = { ...process.env, XENEMU_HOME: home };
  delete env.XENSTORED_PATH;
  t.false(existsSync(home));
  const first = await runNode(RUN_JS, ['demo'], env);
  // Attach to the daemon the demo started, to stop it and remove the state dir at the end.
  const host = await startHost(home);
  t.teardown(() => host.dispose());
  t.is(first.code, 0, first.stderr);
  t.is(first.stderr, '');
  t.true(first.stdout.startsWith(`started the xenemu host in ${home}\n`));

  const dom0 = `${lit('Domain-0'.padEnd(40))}     0 +\\d+ +\\d+     r-----  ${TIME}`;
  const web = (id: number) => listRow('demo-web', id, 512, 2, '-b----');
  const db = (id: number) => listRow('demo-db', id, 2048, 2, '-b----');
  const header = lit('Name                                        ID   Mem VCPUs\tState\tTime(s)');
  const table = (...rows: string[]) => rows.map((r) => `   ${r}\n`).join('');
  t.regex(first.stdout, new RegExp(`\n   Parsing config from .*/configs/web.yaml\n`));
  t.regex(first.stdout, new RegExp(`7\\. .*\n${table(header, dom0, web(1), db(2))}8\\. `));
  t.regex(first.stdout, new RegExp(`\n   Shutting down domain 1\n   Waiting for 1 domains\n   Domain 1 has been shut down, reason code 0\n${table(header, dom0, db(2))}\n`));

  // demo-db's interrupt layer: a per-vCPU vmstat -i with its upcall and timer rows.
  t.regex(first.stdout, /\n9\. .*\n {3}interrupt +cpu0 +cpu1 +total +rate\n {3}cpu0:xen +\d+/);
  t.regex(first.stdout, /\n {3}irq\d+: cpu1:timer +\d+ +\d+ +\d+ +\d+\n/);

  const again = await runNode(RUN_JS, ['demo'], env);
  t.is(again.code, 0, again.stderr);
  t.true(again.stdout.startsWith(`using the running xenemu host in ${home}\n`));
  // demo-db of the first run was destroyed; the new ones take the next ids.
  t.regex(again.stdout, new RegExp(`7\\. .*\n${table(header, dom0, web(3), db(4))}8\\. `));
  const client = await DomainClient.connect(statePaths(home), { start: false });
  t.teardown(() => client.close());
  t.deepEqual(
    (await client.list()).map((r) => r.name),
    ['Domain-0', 'demo-db'],
  );
});
