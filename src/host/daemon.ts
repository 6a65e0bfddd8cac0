/**
 * The host daemon process: `node daemon.js --home DIR`. Started on demand by the CLI
 * (src/client/daemon.ts), detached, with stdout and stderr going to DIR/daemon.log.
 *
 * Start-up order matters: take the state dir's lock first (only the lock holder may
 * touch the sockets, so a stale socket from a crashed daemon is safe to replace), then
 * recover the store, then listen, then write the pid file, which is informational only.
 */
import { appendFileSync, closeSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { FileLock } from './lock.js';
import { Host, type StoreBackend } from './host.js';
import { ensureStateDir, statePaths, type StatePaths } from './state-dir.js';
import { readHostConfig } from './host-config.js';
import { readXenstoredConf } from './xenstored-conf.js';

function parseArgs(argv: string[]): { home: string } {
  const i = argv.indexOf('--home');
  const home = i >= 0 ? argv[i + 1] : undefined;
  if (!home) throw new Error('usage: daemon --home DIR');
  return { home };
}

function logger(paths: StatePaths): (line: string) => void {
  return (line) => {
    try {
      appendFileSync(paths.log, `${new Date().toISOString()} ${line}\n`);
    } catch {
      // the log is best effort; never let it take the daemon down
    }
  };
}

async function openBackend(paths: StatePaths, log: (line: string) => void): Promise<StoreBackend> {
  const { StorePersistence } = await import('./db/index.js');
  // A failed SQLite writer, journal rotation or hand-off loses nothing, but is said.
  return StorePersistence.open(paths, { onError: (err) => log(`store: ${err.message}`) });
}

/** Tell the CLI that spawned us (it waits on fd 3) that the sockets are up. */
function signalReady(): void {
  const fd = Number(process.env.XENEMU_READY_FD);
  if (!Number.isInteger(fd) || fd < 3) return;
  try {
    writeSync(fd, 'ready\n');
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
  const paths = statePaths(parseArgs(process.argv).home);
  ensureStateDir(paths);
  const log = logger(paths);
  const lock = await FileLock.acquire(paths.daemonLock);
  if (lock === null) {
    // Another daemon owns this state dir; the CLI will talk to that one.
    log(`pid ${process.pid}: another daemon holds ${paths.daemonLock}, exiting`);
    process.exitCode = 3;
    return;
  }
  const quota = readXenstoredConf(paths.xenstoredConf);
  const machine = readHostConfig(paths.hostConfig);
  const backend = await openBackend(paths, log);
  let stopping = false;
  const host = await Host.start({
    paths,
    backend,
    quota,
    host: {
      ...(machine.pcpus !== undefined ? { pcpus: machine.pcpus } : {}),
      ...(machine.memory !== undefined ? { totalMemoryMiB: machine.memory } : {}),
    },
    ...(machine.dom0_memory !== undefined ? { dom0MemoryMiB: machine.dom0_memory } : {}),
    xenInitDom0: machine.xen_init_dom0 === true,
    log,
    onStopRequest: () => void stop('stop requested'),
  });
  writeFileSync(paths.pidFile, `${process.pid}\n`, { mode: 0o600 });
  log(`pid ${process.pid}: serving ${paths.socket} (${host.xs.db.counts.total + 1} nodes)`);
  signalReady();

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

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`xenemu daemon: ${message}\n`);
  process.exit(1);
});
