import { connectXenstored, XenstoredUnreachable } from '../client/xenstore-connect.js';
import {
  chmodKey,
  existKeys,
  listKeys,
  lsTree,
  mkdirKeys,
  readKeys,
  rmKeys,
  ToolAbort,
  watchKeys,
  writePairs,
  type ChmodResult,
  type ExistsResult,
  type ListResult,
  type LsResult,
  type MkdirResult,
  type ReadResult,
  type RmResult,
  type WriteResult,
} from '../client/xenstore-tools.js';
import type { XsClient } from '../protocol/xs-client.js';
import { unescapeValue } from '../ui/xenstore-escape.js';
import { renderExists, renderList, renderLsOutput, renderRead, renderSilent, type ToolOutput } from '../ui/xenstore-render.js';
import type { ToolRequest } from './xenstore-args.js';

/**
 * Runs a ToolRequest to completion and prints like the C tool: connect, do the work,
 * render, write. The shim, the fast path and the oclif commands all come here (oclif
 * only for text output; `--json` calls `executeTool` itself).
 */

/** Who is printing: the C tool's short name ("xenstore-read") or "xenemu". */
export interface RunContext {
  progname: string;
  /** Print connection failures as libxenstore users do ("xs_open: ..."), else explain them. */
  compatErrors: boolean;
  env: NodeJS.ProcessEnv;
}

export type ToolResult = ReadResult | WriteResult | LsResult | ListResult | ExistsResult | RmResult | ChmodResult | MkdirResult;

/** The values of `write KEY VALUE...`, escapes parsed unless -R. */
function pairsOf(req: ToolRequest): Array<[string, Buffer]> {
  const pairs: Array<[string, Buffer]> = [];
  for (let i = 0; i + 1 < req.operands.length; i += 2) {
    const spec = Buffer.from(req.operands[i + 1]!, 'latin1');
    pairs.push([req.operands[i]!, req.raw ? spec : unescapeValue(spec)]);
  }
  return pairs;
}

/** Do the work of every mode but watch, which streams. */
export async function executeTool(client: XsClient, req: ToolRequest): Promise<ToolResult> {
  const ops = req.operands;
  switch (req.mode) {
    case 'read':
      return readKeys(client, ops);
    case 'write':
      return writePairs(client, pairsOf(req));
    case 'ls':
      return lsTree(client, ops.length > 0 ? ops : ['/'], req.prefix);
    case 'list':
      return listKeys(client, ops);
    case 'exists':
      return existKeys(client, ops);
    case 'rm':
      return rmKeys(client, ops, req.tidy);
    case 'chmod':
      return chmodKey(client, ops[0]!, ops.slice(1), { upto: req.upto, recurse: req.recurse });
    case 'mkdir':
      return mkdirKeys(client, ops);
    case 'watch':
      throw new Error('watch streams its output: use runTool');
  }
}

/** The terminal width xenstore-ls fits, when stdout is one. */
export function ttyColumns(): number | undefined {
  return process.stdout.isTTY ? (process.stdout.columns ?? 0) : undefined;
}

export function renderTool(req: ToolRequest, result: ToolResult): ToolOutput {
  switch (req.mode) {
    case 'read':
      return renderRead(result as ReadResult, req);
    case 'ls':
      return renderLsOutput(result as LsResult, { flat: req.flat, perms: req.prefix, ttyColumns: ttyColumns() });
    case 'list':
      return renderList(result as ListResult, req);
    case 'exists':
      return renderExists(result as ExistsResult);
    default:
      return renderSilent(result as WriteResult);
  }
}

export function writeOut(bytes: string): void {
  if (bytes.length > 0) process.stdout.write(Buffer.from(bytes, 'latin1'));
}

export function writeErr(ctx: RunContext, message: string): void {
  process.stderr.write(Buffer.from(`${ctx.progname}: ${message}\n`, 'latin1'));
}

/**
 * A reader that went away (`xenstore-ls | head`) kills the C tool with SIGPIPE, which
 * shells report as 141; Node ignores SIGPIPE and would throw EPIPE instead.
 */
export function exitQuietlyOnEpipe(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(141);
    throw err;
  });
}

/** Why a connection failed, as the C tools say it or as xenemu explains it. */
export function connectFailure(err: unknown, ctx: RunContext): string {
  if (err instanceof XenstoredUnreachable) return ctx.compatErrors ? err.compatMessage : err.message;
  return (err as Error).message;
}

/** Connect, or print why not; null then. */
export async function connectFor(ctx: RunContext): Promise<XsClient | null> {
  try {
    return await connectXenstored(ctx.env);
  } catch (err) {
    writeErr(ctx, connectFailure(err, ctx));
    return null;
  }
}

/** Run a request and print its output; resolves to the exit status. */
export async function runTool(req: ToolRequest, ctx: RunContext): Promise<number> {
  const client = await connectFor(ctx);
  if (client === null) return 1;
  try {
    if (req.mode === 'watch') return await runWatch(client, req, ctx);
    const output = renderTool(req, await executeTool(client, req));
    writeOut(output.stdout);
    for (const m of output.stderr) writeErr(ctx, m);
    return output.exitCode;
  } catch (err) {
    if (!(err instanceof ToolAbort)) throw err;
    writeErr(ctx, err.message);
    return 1;
  } finally {
    client.close();
  }
}

/**
 * xenstore-watch: print each event path as it comes (stdout writes to pipes and files
 * are synchronous in Node, so each line is flushed like the C tool's fflush). Without
 * -n it runs until a signal; SIGINT/SIGTERM close the connection and then end the
 * process by that same signal, so callers (timeout, shells) see what the C tool gives.
 */
async function runWatch(client: XsClient, req: ToolRequest, ctx: RunContext): Promise<number> {
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const onSignal = (signal: NodeJS.Signals): void => {
    client.close();
    for (const s of signals) process.removeListener(s, onSignal);
    process.kill(process.pid, signal);
  };
  for (const s of signals) process.on(s, onSignal);
  // A daemon that closes the connection leaves nothing to wait for: the event loop
  // empties. The C tool would spin on xs_read_watch there; say what happened instead.
  let closed = false;
  const onIdle = (): void => {
    if (closed) return;
    writeErr(ctx, 'xenstored closed the connection');
    process.exit(1);
  };
  process.on('beforeExit', onIdle);
  try {
    const { error } = await watchKeys(client, req.operands, req.number, (path) => writeOut(`${path}\n`));
    if (error) writeErr(ctx, error.message);
    return error ? 1 : 0;
  } finally {
    closed = true;
    process.removeListener('beforeExit', onIdle);
    for (const s of signals) process.removeListener(s, onSignal);
  }
}
