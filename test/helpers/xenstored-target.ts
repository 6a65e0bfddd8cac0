import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { startHost, tempHome } from './daemon.js';
import { xenToolsDir } from './run.js';

/**
 * The xenstored the CLI tests talk to. By default a xenemu host of the test's own;
 * XENEMU_TEST_XENSTORED=peer uses the real oxenstored 4.17 (shared/tools/oxenstored-peer),
 * a fresh instance per test file ("xenemu-<name>"), and any other value is taken as a
 * socket path to use as it is (shared by every test file: they must not run at once).
 * The peer is what validates the harness and the tools against the daemon the golden
 * files were captured from.
 */
export interface XenstoredTarget {
  kind: 'xenemu' | 'oxenstored' | 'socket';
  socket: string;
  /** XENSTORED_PATH and XENEMU_HOME for child processes. */
  env: NodeJS.ProcessEnv;
  dispose(): Promise<void>;
}

export const PEER_SCRIPT = new URL('../../../shared/tools/oxenstored-peer', import.meta.url).pathname;

/** `name` tells test files apart (peer instances are per file). */
export async function startTarget(name: string): Promise<XenstoredTarget> {
  const choice = process.env.XENEMU_TEST_XENSTORED ?? 'xenemu';
  if (choice === 'xenemu') {
    const host = await startHost();
    return { kind: 'xenemu', socket: host.paths.socket, env: host.env, dispose: () => host.dispose() };
  }
  // XENEMU_HOME points at an empty dir so that nothing auto-starts a xenemu host by mistake.
  const home = tempHome();
  const dispose = async (): Promise<void> => rmSync(home, { recursive: true, force: true });
  if (choice === 'peer') {
    const peerEnv = { ...process.env, XS_PEER_INSTANCE: `xenemu-${name}` };
    // restart: a new oxenstored starts from an empty store.
    const socket = execFileSync(PEER_SCRIPT, ['restart'], { env: peerEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').pop()!;
    const stop = async (): Promise<void> => {
      execFileSync(PEER_SCRIPT, ['stop'], { env: peerEnv, stdio: 'ignore' });
      await dispose();
    };
    return { kind: 'oxenstored', socket, env: { ...process.env, XENEMU_HOME: home, XENSTORED_PATH: socket }, dispose: stop };
  }
  return { kind: 'socket', socket: choice, env: { ...process.env, XENEMU_HOME: home, XENSTORED_PATH: choice }, dispose };
}

/** The real xenstore-control (Debian installs only a wrapper that needs xen-utils), if we have one. */
export function realXenstoreControl(): string | undefined {
  const candidates = [
    `${xenToolsDir()}/xenstore-control`,
    `${process.env.HOME ?? '/root'}/.cache/oxenstored-peer/root/usr/lib/xen-4.17/bin/xenstore-control`,
  ];
  return candidates.find((p) => existsSync(p));
}
