import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { reachDaemon } from '../../src/client/daemon.js';
import { connectXsClient } from '../../src/client/xs-socket.js';
import type { HostStatus } from '../../src/protocol/host-rpc.js';
import { startHost, tempHome } from '../helpers/daemon.js';

test('the state dir is 0700 and every socket in it 0600', async (t) => {
  const host = await startHost();
  t.teardown(() => host.dispose());
  t.is(statSync(host.paths.home).mode & 0o777, 0o700);
  for (const s of [host.paths.socket, host.paths.socketRo, host.paths.control]) {
    const st = statSync(s);
    t.true(st.isSocket(), s);
    t.is(st.mode & 0o777, 0o600, s);
  }
});

test('host.status reports the sockets and the store size', async (t) => {
  const host = await startHost();
  t.teardown(() => host.dispose());
  const rpc = (await reachDaemon(host.paths))!;
  const status = await rpc.call<HostStatus>('host.status');
  rpc.close();
  t.is(status.pid, host.pid());
  t.is(status.socket, host.paths.socket);
  // root, @introduceDomain, @releaseDomain, /local, /local/domain, /local/domain/0 with
  // memory, memory/static-max, memory/target (dom0's balloon), /tool, /tool/xenstored;
  // no name or domid without xen_init_dom0
  t.is(status.nodes, 11);
  t.is(status.domains, 1, 'Domain-0');
});

test('a clean stop removes the sockets and pid file, and a restart brings the store back', async (t) => {
  const host = await startHost();
  t.teardown(() => host.dispose());
  const xs = await connectXsClient(host.paths.socket);
  await xs.write('/persist/a', 'one');
  await xs.setPerms('/persist/a', ['n0', 'r5']);
  xs.close();
  await host.stop();
  for (const p of [host.paths.socket, host.paths.socketRo, host.paths.control, host.paths.pidFile]) t.false(existsSync(p), p);
  await host.restart();
  const again = await connectXsClient(host.paths.socket);
  t.is((await again.read('/persist/a')).toString(), 'one');
  t.deepEqual(await again.getPerms('/persist/a'), ['n0', 'r5']);
  again.close();
});

test('after kill -9 the stale sockets and pid file do not stop a new daemon, and acknowledged writes survive', async (t) => {
  const host = await startHost();
  t.teardown(() => host.dispose());
  const xs = await connectXsClient(host.paths.socket);
  await xs.write('/crash/a', 'before');
  const oldPid = host.pid();
  await host.kill();
  xs.close();
  t.true(existsSync(host.paths.socket), 'the crashed daemon left its socket behind');
  await host.restart();
  t.not(host.pid(), oldPid);
  const again = await connectXsClient(host.paths.socket);
  t.is((await again.read('/crash/a')).toString(), 'before');
  again.close();
});

test('CLIs racing to start the daemon start exactly one', async (t) => {
  const home = tempHome();
  const env = { ...process.env, XENEMU_HOME: home };
  const racers = Array.from({ length: 4 }, () =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/start-daemon.ts'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`racer exited ${code}`))));
    }),
  );
  const results = await Promise.all(racers);
  const { startHost: attach } = await import('../helpers/daemon.js');
  const host = await attach(home);
  t.teardown(() => host.dispose());
  t.is(results.filter((r) => r === 'started').length, 1, results.join(','));
  const serving = readFileSync(host.paths.log, 'utf8').split('\n').filter((l) => l.includes(': serving '));
  t.is(serving.length, 1, 'one daemon ever served this state dir');
});

test('a second daemon on the same state dir refuses to run', async (t) => {
  const host = await startHost();
  t.teardown(() => host.dispose());
  const { entryPoint } = await import('../../src/common/entry-point.js');
  const entry = entryPoint('../host/daemon.js', new URL('../../src/client/daemon.ts', import.meta.url).href);
  const code = await new Promise<number | null>((resolve) => {
    spawn(process.execPath, [...entry.execArgv, entry.file, '--home', host.paths.home], { stdio: 'ignore' }).on('exit', resolve);
  });
  t.is(code, 3);
  const xs = await connectXsClient(host.paths.socket);
  t.is((await xs.read('/tool/xenstored')).length > 0, true, 'the first daemon still serves');
  xs.close();
});

test('an unreadable xenstored.conf key stops the start with file:line', async (t) => {
  const home = tempHome();
  writeFileSync(`${home}/xenstored.conf`, 'quota-maxsize = 4096\nquota-bogus = 1\n');
  const { ensureDaemon } = await import('../../src/client/daemon.js');
  const { statePaths } = await import('../../src/state/state-dir.js');
  const err = await t.throwsAsync(ensureDaemon(statePaths(home)));
  t.regex(err!.message, /xenstored\.conf:2:1: unknown key "quota-bogus"/);
  const { rmSync } = await import('node:fs');
  rmSync(home, { recursive: true, force: true });
});
