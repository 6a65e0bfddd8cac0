/**
 * The host daemon process: `node daemon.js --home DIR`. Started on demand by the CLI
 * (src/client/daemon.ts), detached, with stdout and stderr going to DIR/daemon.log,
 * which the starter rotates first and the daemon rotates at a size (src/state/daemon-log.ts).
 *
 * Start-up order matters: take the state dir's lock first (only the lock holder may
 * touch the sockets, so a stale socket from a crashed daemon is safe to replace), then
 * recover the store (refusing a damaged one unless started with --recover), then
 * listen, then write the pid file, which is informational only.
 */
import { closeSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { FileLock } from '../state/lock.js';
import type { LastStart } from '../state/last-start.js';
import { DEFAULT_CHECKPOINT_INTERVAL_MS } from './domain-images.js';
import { Host, type StoreBackend } from './host.js';
import { checkSocketPaths, ensureStateDir, statePaths, type StatePaths } from '../state/state-dir.js';
import { readHostConfig } from '../state/host-config.js';
import { DaemonLog, daemonLogLimits } from '../state/daemon-log.js';
import { DEFAULT_CONSOLE_LOG_LIMITS } from './console-log.js';
import { DEFAULT_CAPTURE_LIMITS } from '../net/pcap-writer.js';
import { configuredLimits } from '../common/log-files.js';
import { readXenstoredConf } from './xenstored-conf.js';

function parseArgs(argv: string[]): { home: string; recover: boolean } {
  const i = argv.indexOf('--home');
  const home = i >= 0 ? argv[i + 1] : undefined;
  if (!home) throw new Error('usage: daemon --home DIR [--recover]');
  return { home, recover: argv.includes('--recover') };
}

/**
 * Open the store, logging what recovery found, and record it for `host status`: a
 * refused start leaves no daemon to ask, so the reason must be on disk.
 */
async function openBackend(paths: StatePaths, recover: boolean, log: (line: string) => void): Promise<StoreBackend> {
  const { StorePersistence, DamagedStoreError, describeRecovery } = await import('./db/index.js');
  const record = (lastStart: LastStart): void => {
    try {
      writeFileSync(paths.lastStart, `${JSON.stringify(lastStart, null, 2)}\n`, { mode: 0o600 });
    } catch (err) {
      log(`pid ${process.pid}: cannot write ${paths.lastStart}: ${(err as Error).message}`);
    }
  };
  try {
    // A failed SQLite writer, journal rotation or hand-off loses nothing, but is said.
    const store = StorePersistence.open(paths, { recover, onError: (err) => log(`store: ${err.message}`) });
    log(`pid ${process.pid}: ${describeRecovery(store.recovery)}`);
    record({ at: store.recovery.at, recovery: store.recovery });
    return store;
  } catch (err) {
    if (err instanceof DamagedStoreError) {
      log(`pid ${process.pid}: ${err.message}`);
      record({ at: new Date().toISOString(), refused: err.message });
    }
    throw err;
  }
}

/**
 * Tell the CLI that spawned us (it waits on fd 3) that the sockets are up ("ready"),
 * or why the daemon is not starting ("failed" and the reason as a JSON string), so
 * that it can say so itself instead of pointing at the log.
 */
function tellStarter(line: string): void {
  const fd = Number(process.env.XENEMU_READY_FD);
  if (!Number.isInteger(fd) || fd < 3) return;
  try {
    writeSync(fd, `${line}\n`);
    closeSync(fd);
  } catch {
    // the CLI went away; nobody is waiting
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv);
  const paths = statePaths(args.home);
  ensureStateDir(paths);
  const daemonLog = new DaemonLog(paths.log);
  const log = (line: string): void => daemonLog.line(line);
  // Node reports an uncaught error on stderr, which stays in the file the daemon
  // started with: after a rotation that is daemon.log.N, so say it in daemon.log too.
  process.on('uncaughtExceptionMonitor', (err, origin) => log(`pid ${process.pid}: ${origin}: ${err.stack ?? String(err)}`));
  const lock = await FileLock.acquire(paths.daemonLock);
  if (lock === null) {
    // Another daemon owns this state dir; the CLI will talk to that one.
    log(`pid ${process.pid}: another daemon holds ${paths.daemonLock}, exiting`);
    process.exitCode = 3;
    return;
  }
  const quota = readXenstoredConf(paths.xenstoredConf);
  const machine = readHostConfig(paths.hostConfig);
  daemonLog.limits = daemonLogLimits(machine);
  checkSocketPaths(paths);
  const backend = await openBackend(paths, args.recover, log);
  let stopping = false;
  const host = await Host.start({
    paths,
    backend,
    quota,
    host: {
      ...(machine.pcpus !== undefined ? { pcpus: machine.pcpus } : {}),
      ...(machine.memory !== undefined ? { totalMemoryMiB: machine.memory } : {}),
      ...(machine.sched !== undefined ? { scheduler: machine.sched } : {}),
    },
    ...(machine.dom0_memory !== undefined ? { dom0MemoryMiB: machine.dom0_memory } : {}),
    xenInitDom0: machine.xen_init_dom0 === true,
    ...(machine.bridges !== undefined ? { bridges: machine.bridges } : {}),
    captureLimits: configuredLimits(machine.capture_max_kib, machine.capture_backups, DEFAULT_CAPTURE_LIMITS),
    consoleLog: configuredLimits(machine.console_log_max_kib, machine.console_log_backups, DEFAULT_CONSOLE_LOG_LIMITS),
    log,
    onStopRequest: () => void stop('stop requested'),
    // host-kill: die as a crash would, without stopping anything first.
    kill: (why) => {
      log(`pid ${process.pid}: ${why}`);
      process.kill(process.pid, 'SIGKILL');
    },
    ...(machine.faults !== undefined ? { faults: machine.faults } : {}),
    checkpointIntervalMs: checkpointInterval(machine.checkpoint_interval_ms, process.env.XENEMU_CHECKPOINT_INTERVAL_MS, log),
  });
  writeFileSync(paths.pidFile, `${process.pid}\n`, { mode: 0o600 });
  log(`pid ${process.pid}: serving ${paths.socket} (${host.xs.db.counts.total + 1} nodes)`);
  tellStarter('ready');

  async function stop(reason: string): Promise<void> {
    if (stopping) return;
    stopping = true;
    log(`pid ${process.pid}: stopping (${reason})`);
    await host.stop();
    for (const p of [paths.socket, paths.socketRo, paths.control, paths.pidFile]) removeQuietly(p);
    lock!.release();
    log(`pid ${process.pid}: stopped`);
    process.exit(0);
  }
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/**
 * How often guests are checkpointed: host.yaml's checkpoint_interval_ms, else
 * $XENEMU_CHECKPOINT_INTERVAL_MS (a default for a whole environment), else 5 s.
 */
function checkpointInterval(configured: number | undefined, env: string | undefined, log: (line: string) => void): number {
  if (configured !== undefined) return configured;
  if (env !== undefined && env !== '') {
    if (/^[0-9]{1,7}$/.test(env)) return Number(env);
    log(`XENEMU_CHECKPOINT_INTERVAL_MS=${env} is not a number of milliseconds; using ${DEFAULT_CHECKPOINT_INTERVAL_MS}`);
  }
  return DEFAULT_CHECKPOINT_INTERVAL_MS;
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`xenemu daemon: ${message}\n`);
  tellStarter(`failed ${JSON.stringify(message)}`);
  process.exit(1);
});
