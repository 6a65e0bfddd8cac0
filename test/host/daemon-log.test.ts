import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectXsClient } from '../../src/client/xs-socket.js';
import { DaemonLog } from '../../src/state/daemon-log.js';
import { writeHostConfig } from '../../src/state/host-config.js';
import { statePaths } from '../../src/state/state-dir.js';
import { processGone, startHost, tempHome } from '../helpers/daemon.js';

/** A daemon.log line: its time, then what was said. */
const LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z .*$/;

/** The log's files that exist, newest first: daemon.log, daemon.log.1, ... */
function logFiles(path: string, upTo = 20): string[] {
  return [path, ...Array.from({ length: upTo }, (_, i) => `${path}.${i + 1}`)].filter((p) => existsSync(p));
}

/** Every line of every file, oldest file first. */
function linesOf(files: string[]): string[] {
  return [...files].reverse().flatMap((f) => readFileSync(f, 'utf8').split('\n').slice(0, -1));
}

test('daemon.log rotates between two lines past its size, keeping `backups` old files: a log that never stops holds (backups + 1) x max', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xe-dlog-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'daemon.log');
  const log = new DaemonLog(path, { maxBytes: 4096, backups: 3 });
  // ~100 KiB: 25 times what the four files hold.
  for (let i = 0; i < 1000; i++) log.line(`line ${i} ${'x'.repeat(60 + (i % 40))}`);
  const files = logFiles(path);
  t.deepEqual(files, [path, `${path}.1`, `${path}.2`, `${path}.3`], 'daemon.log and three old ones, no more');
  for (const f of files) {
    t.true(statSync(f).size <= 4096, `${f}: ${statSync(f).size} bytes`);
    t.true(readFileSync(f, 'utf8').endsWith('\n'), `${f} ends with a whole line`);
  }
  const lines = linesOf(files);
  t.true(lines.every((l) => LINE.test(l)), 'every line whole, with its time');
  // Nothing lost inside what is kept: the numbers run on from file to file up to the last.
  const numbers = lines.map((l) => Number(/ line (\d+) /.exec(l)![1]));
  t.is(numbers.at(-1), 999);
  t.deepEqual(numbers, numbers.map((_, i) => numbers[0]! + i));
  t.true(statSync(`${path}.3`).size > 3000, 'the oldest kept file is a full one');
});

test('a daemon.log line longer than the limit is written whole, in a file of its own; backups 0 keeps no old file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xe-dlog-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'daemon.log');
  const log = new DaemonLog(path, { maxBytes: 4096, backups: 1 });
  log.line('before');
  const long = 'y'.repeat(10_000);
  log.line(long);
  log.line('after');
  t.deepEqual(linesOf([`${path}.1`]).map((l) => l.slice(25)), [long]);
  t.deepEqual(linesOf([path]).map((l) => l.slice(25)), ['after']);
  t.false(existsSync(`${path}.2`));
  log.limits = { maxBytes: 4096, backups: 0 };
  for (let i = 0; i < 200; i++) log.line(`line ${i} ${'z'.repeat(50)}`);
  t.true(statSync(path).size <= 4096);
  t.true(linesOf([path]).at(-1)!.includes('line 199 '));
});

test.serial('the daemon rotates daemon.log at host.yaml\'s daemon_log_max_kib keeping daemon_log_backups, and each start begins a log of its own with the last run\'s kept as daemon.log.1', async (t) => {
  const home = tempHome();
  const paths = statePaths(home);
  writeHostConfig(paths.hostConfig, { pcpus: 2, memory: 4096, dom0_memory: 512, daemon_log_max_kib: 4, daemon_log_backups: 2 });
  const host = await startHost(home);
  t.teardown(() => host.dispose());
  const started = host.pid();
  const xs = await connectXsClient(paths.socket);
  // `xenstore-control print` writes a line to the daemon log: 40 KiB of them, ten times what three files hold.
  for (let i = 0; i < 200; i++) await xs.control(['print', `chatty ${i} ${'c'.repeat(180)}`]);
  xs.close();
  const files = logFiles(paths.log);
  t.deepEqual(files, [paths.log, `${paths.log}.1`, `${paths.log}.2`], 'daemon.log and two old ones');
  for (const f of files) t.true(statSync(f).size <= 4096, `${f}: ${statSync(f).size} bytes`);
  const lines = linesOf(files);
  t.true(lines.every((l) => LINE.test(l)), 'whole lines only');
  t.regex(lines.at(-1)!, / chatty 199 c+$/, 'the last line said is in daemon.log');

  const last = readFileSync(paths.log, 'utf8');
  await host.stop();
  const stopped = readFileSync(paths.log, 'utf8');
  t.true(stopped.startsWith(last) && stopped.includes(`pid ${started}: stopped`), 'the stop is said in the same log');
  await host.restart();
  t.is(readFileSync(`${paths.log}.1`, 'utf8'), stopped, 'the last run\'s log is daemon.log.1');
  t.true(readFileSync(paths.log, 'utf8').split('\n')[0]!.includes(` pid ${host.pid()}: `), 'the new run\'s log starts with it');
  t.false(existsSync(`${paths.log}.3`));
});

test.serial('an uncaught error is said in the current daemon.log, not only on the stderr the daemon started with (rotated away meanwhile)', async (t) => {
  const home = tempHome();
  const paths = statePaths(home);
  writeHostConfig(paths.hostConfig, { pcpus: 2, memory: 4096, dom0_memory: 512, daemon_log_max_kib: 4, daemon_log_backups: 2 });
  // The daemon inherits the environment: a preload that throws out of a signal handler, an error nothing catches.
  const preload = join(home, 'crash-on-usr2.mjs');
  writeFileSync(preload, "process.on('SIGUSR2', () => { throw new Error('xenemu test crash'); });\n");
  const saved = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${saved ?? ''} --import=${preload}`;
  let host: Awaited<ReturnType<typeof startHost>>;
  try {
    host = await startHost(home);
  } finally {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
  }
  t.teardown(() => host.dispose());
  const xs = await connectXsClient(paths.socket);
  for (let i = 0; i < 40; i++) await xs.control(['print', `filler ${i} ${'f'.repeat(180)}`]);
  xs.close();
  t.true(existsSync(`${paths.log}.1`), 'the log the daemon started with was rotated away');
  const pid = host.pid();
  process.kill(pid, 'SIGUSR2');
  t.true(await processGone(pid, 30_000), 'the daemon died of it');
  t.regex(readFileSync(paths.log, 'utf8'), new RegExp(`pid ${pid}: uncaughtException: Error: xenemu test crash\n +at `), 'daemon.log has the error and its stack');
});
