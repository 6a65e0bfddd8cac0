import test from 'ava';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { reachDaemon } from '../../src/client/daemon.js';
import { connectXsClient } from '../../src/client/xs-socket.js';
import { encodedSize, encodeEntries, FRAME_HEADER_SIZE, sealFrame, type JournalEntry } from '../../src/host/db/journal-codec.js';
import { journalPath, listJournals } from '../../src/host/db/journal.js';
import type { HostStatus } from '../../src/protocol/host-rpc.js';
import { statePaths } from '../../src/state/state-dir.js';
import { startHost, tempHome, type TestHost } from '../helpers/daemon.js';
import { run } from '../helpers/run.js';
import { assertBuilt, RUN_JS } from '../helpers/xenstore-cli.js';

/*
 * A damaged store, end to end: a real daemon killed with SIGKILL, its files damaged,
 * then the CLI (bin/run.js, from dist/) starting it again.
 */

test.before(() => assertBuilt());

const xenemu = (host: { paths: { home: string } }, ...args: string[]) => run(process.execPath, [RUN_JS, ...args], { env: { ...process.env, XENEMU_HOME: host.paths.home } });

/** One journal frame holding `entries`, as a flush writes it. */
function frame(entries: JournalEntry[]): Buffer {
  const buf = Buffer.alloc(FRAME_HEADER_SIZE + encodedSize(entries));
  encodeEntries(buf, FRAME_HEADER_SIZE, entries);
  sealFrame(buf, 0, buf.length);
  return buf;
}

/** A host with `count` acknowledged nodes /ack/<i>, killed with SIGKILL. */
async function killedHost(count: number): Promise<TestHost> {
  const host = await startHost();
  const xs = await connectXsClient(host.paths.socket);
  for (let i = 0; i < count; i++) await xs.write(`/ack/${i}`, String(i));
  xs.close();
  await host.kill();
  return host;
}

test('a damaged journal stops the start with the reason on the CLI, and host start --recover keeps the valid prefix', async (t) => {
  const host = await killedHost(50);
  t.teardown(() => host.dispose());
  const journalDir = host.paths.journalDir;
  const seq = listJournals(journalDir).at(-1)!;
  // After every acknowledged frame: a corrupt one, then a valid one. A torn write
  // cannot look like this (only the last write can be torn): it is damage.
  const bad = frame([{ op: 'set', path: '/lost/1', value: 'x', perms: 'n0' }]);
  bad[bad.length - 1] = bad[bad.length - 1]! ^ 0xff;
  appendFileSync(journalPath(journalDir, seq), Buffer.concat([bad, frame([{ op: 'set', path: '/lost/2', value: 'y', perms: 'n0' }])]));
  const damaged = readFileSync(journalPath(journalDir, seq));

  // Any command that starts the daemon says why it cannot, and fails.
  const refused = await xenemu(host, 'list');
  t.is(refused.code, 1, refused.stderr);
  t.regex(refused.stderr, /the store is damaged; not starting over it/);
  t.regex(refused.stderr, new RegExp(`journal\\.${seq}: the frame at byte [0-9]+ is corrupt, and journal data follows it; not applied: [0-9]+ bytes from byte [0-9]+ on, holding 1 frames \\(1 entries\\)`));
  t.regex(refused.stderr, /xenemu host start --recover/);
  t.notRegex(refused.stderr, /timed out/);
  t.deepEqual(readFileSync(journalPath(journalDir, seq)), damaged, 'the refused start left the journal as it was');
  t.regex(readFileSync(host.paths.log, 'utf8'), /the store is damaged; not starting over it/, 'and the daemon log says so');
  const stopped = await xenemu(host, 'host', 'status');
  t.is(stopped.code, 3);
  t.regex(stopped.stdout, /stopped .*\n {2}last start \(.*\) refused the store:\n {4}the store is damaged/);
  const stoppedJson = JSON.parse((await xenemu(host, 'host', 'status', '--json')).stdout) as { lastStart: { refused: string } };
  t.regex(stoppedJson.lastStart.refused, /journal data follows it/);

  const recovered = await xenemu(host, 'host', 'start', '--recover');
  t.is(recovered.code, 0, recovered.stderr);
  t.regex(recovered.stdout, /RECOVERED FROM DAMAGE: .* NOT applied: 1 frames \(1 entries, [0-9]+ bytes\) in 1 files/);
  const aside = /moved aside: (\S+)/.exec(recovered.stdout)?.[1];
  t.truthy(aside);
  t.regex(aside!, new RegExp(`/journal/damaged-[^/]+/journal\\.${seq}$`));
  t.deepEqual(readFileSync(aside!), damaged, 'the damaged file is kept as it was');

  const xs = await connectXsClient(host.paths.socket);
  for (let i = 0; i < 50; i++) t.is((await xs.read(`/ack/${i}`)).toString(), String(i));
  await t.throwsAsync(xs.read('/lost'), { message: /ENOENT/ });
  xs.close();

  const status = await xenemu(host, 'host', 'status', '--json');
  const report = (JSON.parse(status.stdout) as { status: HostStatus }).status.recovery!;
  t.like(report, { dropped: { frames: 1, entries: 1, files: 1 }, movedAside: [aside] });
  t.is(report.problems.length, 1);
  const human = await xenemu(host, 'host', 'status');
  t.regex(human.stdout, /last recovery .*\n.*RECOVERED FROM DAMAGE/);
  t.regex(readFileSync(host.paths.log, 'utf8'), /RECOVERED FROM DAMAGE/);
});

test('after a restart, rm state.db is refused instead of starting empty, and the journal is kept', async (t) => {
  const host = await killedHost(5);
  t.teardown(() => host.dispose());
  await host.restart();
  await host.stop();
  rmSync(host.paths.database);
  const journals = readdirSync(host.paths.journalDir);
  const refused = await xenemu(host, 'host', 'start');
  t.is(refused.code, 1);
  t.regex(refused.stderr, /state\.db is missing, but 1 journal files continue it/);
  t.deepEqual(readdirSync(host.paths.journalDir), journals);
  t.false(existsSync(host.paths.database));
});

test('every file of the state dir is 0600 and journal/ 0700', async (t) => {
  const host = await startHost();
  t.teardown(() => host.dispose());
  const rpc = (await reachDaemon(host.paths))!;
  await rpc.call('host.status');
  rpc.close();
  t.is(statSync(host.paths.journalDir).mode & 0o777, 0o700);
  const checked: string[] = [];
  for (const dir of [host.paths.home, host.paths.journalDir]) {
    for (const name of readdirSync(dir)) {
      const st = statSync(join(dir, name));
      if (!st.isFile()) continue;
      t.is(st.mode & 0o777, 0o600, join(dir, name));
      checked.push(name);
    }
  }
  // (the database's -wal and -shm come and go; test/persistence checks them)
  for (const name of ['state.db', 'daemon.lock', 'start.lock', 'daemon.pid', 'daemon.log']) t.true(checked.includes(name), name);
  t.true(checked.some((n) => n.startsWith('journal.')), 'a journal file');
});

test('a symlinked state dir is refused as a symlink', async (t) => {
  const real = tempHome();
  const link = `${real}-link`;
  symlinkSync(real, link);
  t.teardown(() => rmSync(real, { recursive: true, force: true }));
  t.teardown(() => rmSync(link, { force: true }));
  const res = await xenemu({ paths: statePaths(link) }, 'host', 'start');
  t.is(res.code, 1);
  t.regex(res.stderr, new RegExp(`${link} is a symbolic link \\(to ${real}\\)`));
});

test('a directory where a socket goes makes the start say what is in the way', async (t) => {
  for (const name of ['control.sock', 'socket', 'socket_ro'] as const) {
    const home = tempHome();
    t.teardown(() => rmSync(home, { recursive: true, force: true }));
    mkdirSync(join(home, name));
    const res = await xenemu({ paths: statePaths(home) }, 'host', 'start');
    t.is(res.code, 1, name);
    t.regex(res.stderr, new RegExp(`${join(home, name)} is a directory, in the way of the daemon's socket`), name);
    t.notRegex(res.stderr, /EADDRINUSE/, name);
  }
});
