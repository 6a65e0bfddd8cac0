import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The reference daemon: the real OCaml oxenstored 4.17 run by the workplace's
 * oxenstored-peer script (../shared/tools beside the checkout, or OXENSTORED_PEER).
 * Benchmarks compare against it side by side in the same run.
 */
const PEER = process.env.OXENSTORED_PEER ?? fileURLToPath(new URL('../../../shared/tools/oxenstored-peer', import.meta.url));

export interface Peer {
  socket: string;
  pid(): number;
  stop(): void;
}

export function startPeer(instance = 'xenemu-bench'): Peer {
  if (!existsSync(PEER)) throw new Error(`oxenstored-peer not found at ${PEER}; set OXENSTORED_PEER`);
  const env = { ...process.env, XS_PEER_INSTANCE: instance };
  const socket = execFileSync(PEER, ['start'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').pop()!;
  return {
    socket,
    pid: () => Number(/pid=(\d+)/.exec(execFileSync(PEER, ['status'], { env, encoding: 'utf8' }))?.[1]),
    stop: () => void execFileSync(PEER, ['stop'], { env, stdio: 'ignore' }),
  };
}

/** The peer's extracted binaries (test-xenstore, xenstore-control, ...). */
export function peerBinDir(): string {
  return execFileSync(PEER, ['fetch'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}
