import { atoi } from '../common/c-number.js';
import { errnoNumber, strerror } from '../client/strerror.js';
import { connectXenstored } from '../client/xenstore-connect.js';
import { control, errnoOf } from '../client/xenstore-tools.js';
import type { XsClient } from '../protocol/xs-client.js';
import { renderControl } from '../ui/xenstore-render.js';
import { connectFailure, writeErr, writeOut, type RunContext } from './xenstore-run.js';

/**
 * xenstore-control (tools/xs-clients/xenstore_control.c, Xen 4.17): send one XS_CONTROL
 * command and print the reply. Its messages carry no program name and its exit
 * statuses are its own: 2 for usage, 1 when xenstored cannot be reached, 3 when the
 * command fails.
 */

function say(text: string): void {
  process.stderr.write(Buffer.from(text, 'latin1'));
}

/** `argv0` is how the tool was invoked (its usage names it); args are byte strings. */
export async function runControl(argv0: string, args: readonly string[], ctx: RunContext): Promise<number> {
  if (args.length === 0) {
    say(`Usage:\n${argv0} <command> [<arg>...]\n`);
    return 2;
  }
  let client: XsClient;
  try {
    client = await connectXenstored(ctx.env);
  } catch (err) {
    // The C tool says only this; xenemu's own command explains.
    if (ctx.compatErrors) say('Failed to contact Xenstored.\n');
    else writeErr(ctx, connectFailure(err, ctx));
    return 1;
  }
  try {
    const [command, ...rest] = args as [string, ...string[]];
    if (command === 'live-update') return await liveUpdate(client, rest);
    try {
      const out = renderControl(await control(client, command, rest));
      writeOut(out.stdout);
      return out.exitCode;
    } catch (err) {
      const errno = errnoOf(err);
      if (errno !== 'EINVAL') {
        say(`Error ${errnoNumber(errno)} when trying to execute command.\n`);
        return 3;
      }
      const help = await control(client, 'help', []).catch(() => null);
      say(help ? `Command not supported. Valid commands are:\n${help.reply}\n` : 'Error when executing command.\n');
      return 3;
    }
  } finally {
    client.close();
  }
}

/** What xs_control_command gives: the reply text, or the errno of the failed request. */
async function ask(client: XsClient, args: readonly string[]): Promise<{ reply: string } | { errno: string }> {
  try {
    return await control(client, 'live-update', args);
  } catch (err) {
    return { errno: errnoOf(err) };
  }
}

function replyOrError(r: { reply: string } | { errno: string }): string {
  return 'reply' in r ? r.reply : strerror(r.errno);
}

function isOk(r: { reply: string } | { errno: string }, want = 'OK'): boolean {
  return 'reply' in r && r.reply === want;
}

/**
 * `live-update [-c cmdline] [-t timeout] [-F] binary`: the daemon variant (name the
 * binary, maybe its command line, then start and retry while the daemon says BUSY).
 * A xenstore stub domain (/tool/xenstored/domid exists) needs libxenctrl, which an
 * emulated host has no more than the C tool does without a hypervisor.
 */
async function liveUpdate(client: XsClient, args: readonly string[]): Promise<number> {
  let binary: string | undefined;
  let cmdline: string | undefined;
  let timeout = 60;
  let force = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-c' || a === '-t') {
      const value = args[++i];
      if (value === undefined) {
        say(a === '-c' ? 'Missing command line value\n' : 'Missing timeout value\n');
        return 2;
      }
      if (a === '-c') cmdline = value;
      else timeout = atoi(value) >>> 0;
    } else if (a === '-F') {
      force = true;
    } else {
      binary = a;
    }
  }
  if (binary === undefined) {
    say('Missing binary specification\n');
    return 2;
  }
  const abort = async (rc: number): Promise<number> => {
    await ask(client, ['-a']);
    return rc;
  };
  const stubdom = await client.read('/tool/xenstored/domid').then(
    () => true,
    () => false,
  );
  if (stubdom) {
    say('xc_interface_open() failed\n');
    return abort(1);
  }
  const set = await ask(client, ['-f', binary]);
  if (!isOk(set)) {
    say(`Setting update binary failed:\n${replyOrError(set)}\n`);
    return 3;
  }
  if (cmdline !== undefined) {
    const r = await ask(client, ['-c', cmdline]);
    if (!isOk(r)) {
      say(`Setting update binary failed:\n${replyOrError(r)}\n`);
      return abort(3);
    }
  }
  const start = ['-s', '-t', String(timeout), ...(force ? ['-F'] : [])];
  let r: { reply: string } | { errno: string } = { reply: 'BUSY' };
  // time(NULL) granularity, as the C loop: retry each second while the daemon is busy.
  const t0 = Math.floor(Date.now() / 1000);
  while (Math.floor(Date.now() / 1000) - t0 < timeout) {
    r = await ask(client, start);
    if (!isOk(r, 'BUSY')) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  if (!isOk(r)) {
    say(`Starting live update failed:\n${replyOrError(r)}\n`);
    return abort(3);
  }
  return 0;
}
