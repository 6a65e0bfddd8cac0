import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { basename } from 'node:path';
import { constants } from 'node:os';
import type { ExecRpc } from '../protocol/exec-rpc.js';
import type { StatePaths } from '../state/state-dir.js';
import { daemonCall } from './call.js';
import { reachDaemon } from './daemon.js';
import { isRpcError } from './domains.js';
import { UnknownDomainError } from './xenbus.js';

export type DomainSocket = ExecRpc['domain.xenbusSocket']['result'];

/** The socket on which domain `ref`'s kernel serves its xenbus device (started on first use). */
export async function domainXenbusSocket(paths: StatePaths, ref: string): Promise<DomainSocket> {
  try {
    return await daemonCall<ExecRpc, 'domain.xenbusSocket'>(paths, 'domain.xenbusSocket', { ref });
  } catch (err) {
    if (isRpcError(err, 'ESRCH')) throw new UnknownDomainError(ref);
    throw err;
  }
}

/** What a program run "in" a domain gets in its environment. */
export function domainEnv(d: DomainSocket, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, XENSTORED_PATH: d.socket, XENEMU_DOMAIN: d.name, XENEMU_DOMID: String(d.domid) };
}

/** A shell's arguments for an interactive session whose prompt is ours (no rc file resets it). */
function shellCommand(shell: string): string[] {
  const name = basename(shell);
  if (name === 'bash') return [shell, '--norc', '--noprofile', '-i'];
  if (name === 'zsh') return [shell, '-f', '-i'];
  return [shell, '-i'];
}

/**
 * Run `command` (an interactive shell when empty) as a program in domain `d`: its
 * XenStore clients reach xenstored through that domain's kernel. The run ends when the
 * command does, or when the domain goes away: the daemon then hangs up the domain's
 * socket, which a connection of our own notices, and the command is sent SIGHUP, as a
 * terminal's hang-up would. Resolves with the exit status (128 + signal for a signal).
 */
export async function runInDomain(d: DomainSocket, command: readonly string[], paths: StatePaths, say: (line: string) => void): Promise<number> {
  const interactive = command.length === 0;
  const argv = interactive ? shellCommand(process.env.SHELL || '/bin/sh') : [...command];
  const env = domainEnv(d);
  if (interactive) {
    env.PS1 = `[${d.name}:${d.domid}]$ `;
    say(`a shell in domain ${d.domid} (${d.name}): XenStore clients run as the domain (XENSTORED_PATH=${d.socket}); exit to leave`);
  }
  const watcher = connect(d.socket);
  await new Promise<void>((resolve, reject) => {
    watcher.once('connect', resolve);
    watcher.once('error', reject);
  });
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: 'inherit' });
  // Ctrl-C and Ctrl-\ are the command's: the terminal sends them to us too.
  const ignore = (): void => {};
  process.on('SIGINT', ignore);
  process.on('SIGQUIT', ignore);
  let gone = false;
  watcher.on('error', () => {});
  watcher.on('close', () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    gone = true;
    const ending = `ending ${interactive ? 'its shell' : argv[0]}`;
    // The daemon hangs the socket up when the domain goes, and when it stops itself.
    void reachDaemon(paths).then((rpc) => {
      rpc?.close();
      say(rpc === null ? `the xenemu host stopped, and domain ${d.domid} (${d.name}) with it; ${ending}` : `domain ${d.domid} (${d.name}) has gone away (shut down or destroyed); ${ending}`);
      child.kill('SIGHUP');
    });
  });
  try {
    return await new Promise<number>((resolve) => {
      // As a shell says it: 127 for a command it cannot find, 126 for one it cannot run.
      child.once('error', (err: NodeJS.ErrnoException) => {
        say(`${argv[0]}: ${err.code === 'ENOENT' ? 'command not found' : err.message}`);
        resolve(err.code === 'ENOENT' ? 127 : 126);
      });
      child.once('exit', (code, signal) => {
        if (gone) resolve(1);
        else resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
      });
    });
  } finally {
    process.off('SIGINT', ignore);
    process.off('SIGQUIT', ignore);
    watcher.destroy();
  }
}
