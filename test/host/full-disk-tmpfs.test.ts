import test from 'ava';
import { mkdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { DomainClient } from '../../src/client/domains.js';
import { XsRequestError } from '../../src/protocol/xs-client.js';
import { connectXsClient } from '../../src/client/xs-socket.js';
import type { HostStatus } from '../../src/protocol/host-rpc.js';
import { assertXlBuilt, RUN_JS, runNode } from '../cli-xl/helpers.js';
import { startHost } from '../helpers/daemon.js';
import { fill, mountTmpfs, tmpfsProblem, unmount } from '../helpers/tmpfs.js';

/**
 * The full-disk behaviour on a real file system: the state dir on a small tmpfs,
 * filled to the last block by another file. Needs root (mount); elsewhere the test is
 * skipped and its title says why.
 */

const title = 'on a real full disk the daemon stays up, refuses changes with ENOSPC, holds what it applied, and recovers when space returns';
const run = tmpfsProblem === null ? test : test.skip;

run(tmpfsProblem === null ? title : `${title} (skipped: ${tmpfsProblem})`, async (t) => {
  assertXlBuilt();
  const mounted = mountTmpfs('16m');
  if (!('dir' in mounted)) throw new Error(mounted.problem);
  const home = join(mounted.dir, 'home');
  mkdirSync(home, { mode: 0o700 });
  const host = await startHost(home);
  t.teardown(async () => {
    await host.dispose();
    unmount(mounted.dir);
  });
  const xs = await connectXsClient(host.paths.socket);
  let control = await DomainClient.connect(host.paths, { start: false });
  t.teardown(() => {
    xs.close();
    control.close();
  });
  const journalHealth = async (): Promise<string> => String((await control.rpc.call<HostStatus>('host.status')).persistence.journal);
  await xs.write('/before', 'acknowledged');
  const pid = host.pid();

  const filler = join(mounted.dir, 'filler');
  fill(filler);
  // The journal file's last page may still take a write or two: write until one is held.
  const value = 'v'.repeat(2000);
  let held: Promise<void> | null = null;
  const acked: string[] = [];
  for (let i = 0; held === null; i++) {
    t.true(i < 100, 'a write was held');
    const write = xs.write(`/filling/${i}`, value);
    const answered = await Promise.race([
      write.then(() => true),
      (async () => {
        for (let polls = 0; polls < 500; polls++) {
          if ((await journalHealth()) !== 'ok') return false;
          await new Promise((r) => setTimeout(r, 10));
        }
        throw new Error('a write was neither answered nor held');
      })(),
    ]);
    if (answered) acked.push(`/filling/${i}`);
    else held = write;
  }
  t.regex(await journalHealth(), /^failing since .*: no space left on device \(ENOSPC\) in /);

  const other = await connectXsClient(host.paths.socket);
  t.is((await t.throwsAsync(other.write('/refused', 'x'), { instanceOf: XsRequestError }))?.errno, 'ENOSPC');
  other.close();
  const cli = await runNode(RUN_JS, ['create', join(process.cwd(), 'configs/web.yaml')], host.env);
  t.not(cli.code, 0);
  t.regex(cli.stderr, /xenemu: cannot record the change: no space left on device \(ENOSPC\) in .+; nothing was changed/);
  t.is(host.pid(), pid, 'the daemon is still the same process');

  unlinkSync(filler);
  await held;
  t.is(await journalHealth(), 'ok');
  await xs.write('/after', 'acknowledged');

  // Everything acknowledged, before, during (the held one) and after, survives kill -9.
  await host.kill();
  xs.close();
  control.close();
  await host.restart();
  const again = await connectXsClient(host.paths.socket);
  control = await DomainClient.connect(host.paths, { start: false });
  for (const path of ['/before', ...acked, '/after']) t.true(await again.read(path).then(() => true, () => false), path);
  t.is((await again.read(`/filling/${acked.length}`)).toString(), value, 'the held write');
  again.close();
});
