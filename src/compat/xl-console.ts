/**
 * xl console (tools/xl/xl_console.c, 4.17) and the xenconsole client it execs
 * (tools/console/client/main.c): the terminal goes raw, what is typed goes to the
 * guest's console ring, its output comes back as the daemon pushes it, and Ctrl-]
 * alone in a read detaches. The session ends without a word, status 0, on Ctrl-],
 * when the domain goes away (xenconsole's watch finds the console's tty gone) and on
 * SIGTERM (SIGHUP and SIGINT: 129 and 130, as they kill xenconsole); the terminal's
 * modes come back on every way out (and Node resets them at exit besides). Without a terminal on both stdin and stdout, xenconsole is not
 * interactive: it shows the output and never reads stdin.
 */

import { ConsoleRpcClient } from '../client/console.js';
import { isRpcError } from '../client/domains.js';
import { atoi } from '../common/c-number.js';
import { findDomain, XlFailure, type XlContext, type XlOutput } from './xl-commands.js';

/** xenconsole's ESCAPE_CHARACTER: Ctrl-]. */
const ESCAPE_CHARACTER = 0x1d;

/** How the session ended: Ctrl-] (or the end of stdin), the domain gone, SIGTERM. */
export type ConsoleEnd = 'detached' | 'gone' | 'signal';

/**
 * xenconsole handles SIGTERM (it ends the session, status 0) and nothing else: SIGINT
 * (from `kill`: a raw terminal sends Ctrl-C to the guest) and SIGHUP kill it, 128 +
 * the signal. Here they end the session the same way, the terminal restored first.
 */
const SIGNAL_STATUS: Readonly<Record<string, number>> = { SIGTERM: 0, SIGHUP: 129, SIGINT: 130 };

/** The terminal a session runs on (process.stdin/stdout; tests give their own). */
export interface ConsoleTerminal {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(raw: boolean): unknown };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  /** Where SIGTERM and SIGHUP come from (process). */
  signals: Pick<NodeJS.Process, 'on' | 'removeListener'>;
}

export interface XlConsoleOptions {
  domain: string;
  /** -t: pv, serial or vuart. */
  type?: string;
  /** -n, as atoi() reads it. */
  num?: string;
  terminal?: ConsoleTerminal;
}

export interface XlConsoleResult {
  domid: number;
  end: ConsoleEnd;
}

/** main_console(): the checks xl and xenconsole make, then the session. */
export async function xlConsole(ctx: XlContext, o: XlConsoleOptions): Promise<XlOutput<XlConsoleResult>> {
  if (o.type !== undefined && !['pv', 'serial', 'vuart'].includes(o.type)) throw new XlFailure('console type supported are: pv, serial, vuart\n', 1);
  // An ARM guest's UART; xenconsole would wait for its tty and give up.
  if (o.type === 'vuart') throw new XlFailure('xenemu: console type vuart is not emulated (a vUART is an ARM guest\'s); use -t pv\nUnable to attach console\n', 1);
  // -t serial: xenconsole finds no ~/serial/N/tty (the emulated guests have no serial
  // port) and falls back to the PV console of that number, as it does for any guest.
  const num = o.num === undefined ? 0 : atoi(o.num);
  const client = await ctx.client();
  const domid = await findDomain(client, o.domain);
  if (domid === 0) throw new XlFailure("Can't specify Domain-0\n", 22);
  return { stdout: '', data: { domid, end: await attachConsole(new ConsoleRpcClient(client.rpc), domid, num, o.terminal) } };
}

/**
 * Attach to `domid`'s console and run the session until it ends. Used by `create -c`
 * too, right after the create (the output of the boot waits in the daemon for the
 * first client, as xenconsoled's buffer holds it).
 */
export async function attachConsole(rpc: ConsoleRpcClient, domid: number, num = 0, terminal: ConsoleTerminal = processTerminal()): Promise<ConsoleEnd> {
  const { stdin, stdout } = terminal;
  // Listen before attaching: what waited for a client comes before the answer.
  const early: Buffer[] = [];
  let write = (b: Buffer): void => void early.push(b);
  const offOutput = rpc.onOutput(domid, (b) => write(b));
  let ended: ((end: ConsoleEnd | Error | NodeJS.Signals) => void) | null = null;
  let goneEarly = false;
  const offGone = rpc.onGone(domid, () => (ended !== null ? ended('gone') : (goneEarly = true)));
  try {
    await rpc.attach(domid, num === 0 ? undefined : num >>> 0);
  } catch (err) {
    offOutput();
    offGone();
    if (isRpcError(err, 'EBUSY')) throw new XlFailure(`xenemu: ${err.message}\n`, 11);
    if (isRpcError(err)) throw new XlFailure(`xenemu: ${err.message}\nUnable to attach console\n`, 1);
    throw err;
  }

  const interactive = stdin.isTTY === true && stdout.isTTY === true && typeof stdin.setRawMode === 'function';
  const done = new Promise<ConsoleEnd | Error | NodeJS.Signals>((resolve) => (ended = resolve));
  // A stdout slower than the guest (a pipe into a slow reader) holds the daemon back
  // rather than this process's memory: stop reading until it drains.
  let held = false;
  write = (b) => {
    if (stdout.write(b) || held) return;
    held = true;
    rpc.rpc.pause();
    stdout.once('drain', () => {
      held = false;
      rpc.rpc.resume();
    });
  };
  for (const b of early) write(b);
  if (goneEarly) ended!('gone');

  const onKeys = (chunk: Buffer | string): void => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    // xenconsole: a read of exactly the escape character detaches; in a paste it is data.
    if (bytes.length === 1 && bytes[0] === ESCAPE_CHARACTER) return ended!('detached');
    rpc.input(domid, bytes).catch(() => {
      // The domain went away under the keystrokes: its console.gone ends the session.
    });
  };
  const onStdinEnd = (): void => ended!('detached');
  const onSignal = (signal: NodeJS.Signals): void => ended!(signal);
  rpc.rpc.onClose(() => ended!(new Error('the xenemu daemon closed the control connection')));
  terminal.signals.on('SIGTERM', onSignal);
  terminal.signals.on('SIGHUP', onSignal);
  terminal.signals.on('SIGINT', onSignal);
  if (interactive) {
    stdin.setRawMode!(true);
    stdin.on('data', onKeys);
    stdin.on('end', onStdinEnd);
    stdin.resume();
  }
  try {
    const end = await done;
    if (end instanceof Error) throw new XlFailure(`xenemu: ${end.message}\n`, 1);
    if (end.startsWith('SIG')) {
      const status = SIGNAL_STATUS[end] ?? 1;
      if (status !== 0) throw new XlFailure('', status);
      return 'signal';
    }
    return end as ConsoleEnd;
  } finally {
    if (interactive) {
      stdin.removeListener('data', onKeys);
      stdin.removeListener('end', onStdinEnd);
      stdin.setRawMode!(false);
      stdin.pause();
    }
    terminal.signals.removeListener('SIGTERM', onSignal);
    terminal.signals.removeListener('SIGHUP', onSignal);
    terminal.signals.removeListener('SIGINT', onSignal);
    offOutput();
    offGone();
    // Whatever the way out, the client lets go of the console (the connection may live on).
    await rpc.call('console.detach', { domid }).catch(() => {});
  }
}

function processTerminal(): ConsoleTerminal {
  return { stdin: process.stdin, stdout: process.stdout, signals: process };
}

/** create -c: attach to the new domain's console (autoconnect_console in xl_vmcontrol.c). */
export async function xlCreateConsole(ctx: XlContext, domid: number, terminal?: ConsoleTerminal): Promise<ConsoleEnd> {
  const client = await ctx.client();
  return attachConsole(new ConsoleRpcClient(client.rpc), domid, 0, terminal);
}
