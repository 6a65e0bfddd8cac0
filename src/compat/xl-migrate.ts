/**
 * xl migrate and migrate-receive (tools/xl/xl_migrate.c, 4.17). As xl does, the sender
 * runs `sh -c RUNE` (by default `exec ssh HOST xenemu migrate-receive`; with `-s ''`
 * RUNE is HOST itself) and talks to the receiver over that command's stdin and stdout,
 * whose stderr is ours. The protocol runs in each host's daemon: this process only
 * joins the pipes to a unix socket the daemon connects to, and prints the daemon's
 * lines (xl's messages) on stderr as they come.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { PassThrough } from 'node:stream';
import { join, resolve } from 'node:path';
import { RpcCallError } from '../client/rpc-client.js';
import { TypedClient } from '../client/typed-client.js';
import { MIGRATE_MESSAGE_EVENT, type MigrateMessageEvent, type MigrateRpc } from '../protocol/migrate-rpc.js';
import type { ReceiveResult } from '../toolstack/migrate/receiver.js';
import type { MigrationReport } from '../toolstack/migrate/sender.js';
import { findDomain, XlFailure, type XlContext, type XlOutput } from './xl-commands.js';

/** How long the sender waits for the transport command to exit once done (migration_child_report: 2 s). */
const CHILD_EXIT_WAIT_MS = 2000;

/** A unix socket the daemon connects to once; its path, the connection when it comes, and its end. */
function channelSocket(): { path: string; connection: Promise<Socket>; drained(): Promise<void>; close(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'xenemu-migrate-'));
  const path = join(dir, 'channel');
  let server: Server;
  const connection = new Promise<Socket>((resolveConn, reject) => {
    server = createServer((sock) => {
      server.close();
      resolveConn(sock);
    });
    server.once('error', reject);
    server.listen(path);
  });
  let conn: Socket | null = null;
  void connection.then((c) => (conn = c));
  return {
    path,
    connection,
    // The daemon answers once it has ended its side; what it wrote last may still be on its way here.
    drained: () =>
      new Promise<void>((done) => {
        if (conn === null || conn.readableEnded || conn.destroyed) done();
        else conn.once('close', () => done()).once('end', () => done());
      }),
    close: () => {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The daemon's lines, on stderr as they come. */
function relayMessages(ctx: XlContext, client: TypedClient<MigrateRpc>): () => void {
  return client.rpc.onEvent<MigrateMessageEvent>(MIGRATE_MESSAGE_EVENT, (e) => ctx.note(`${e.line}\n`));
}

/** One migration call with the daemon's messages relayed while it runs; a refusal is xl's exit 1 with its words. */
async function relayedCall<T>(ctx: XlContext, mig: TypedClient<MigrateRpc>, call: () => Promise<T>): Promise<T> {
  const stop = relayMessages(ctx, mig);
  try {
    return await call();
  } catch (err) {
    if (err instanceof RpcCallError) throw new XlFailure(`${err.message}\n`, 1);
    throw err;
  } finally {
    stop();
  }
}

/** xl's rune for the receiving end. */
export function migrationRune(o: { ssh: string; host: string; debug: boolean; paused: boolean }): string {
  if (o.ssh === '') return o.host;
  return `exec ${o.ssh} ${o.host} xenemu migrate-receive${o.debug ? ' -d' : ''}${o.paused ? ' -p' : ''}`;
}

export interface XlMigrateOptions {
  domain: string;
  host: string;
  /** -s: the command that reaches HOST ('' runs HOST itself). */
  ssh: string;
  /** -C: send this config instead of the domain's (relative to `cwd`). */
  config?: string;
  cwd: string;
  debug: boolean;
  /** -p: the target leaves the domain paused. */
  paused: boolean;
}

function waitForExit(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(done, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
  });
}

/**
 * One line of the report: what the migration sent and how long the domain was away,
 * with the downtime's parts: the guest suspending, the last round and final records,
 * the target building the domain until "ready", and "go" until it reported started.
 */
export function migrationSummary(r: MigrationReport): string {
  const mib = (bytes: number) => (bytes / 1048576).toFixed(1);
  const p = r.phases;
  const parts = `suspend ${p.suspendMs.toFixed(1)}, last round ${p.lastRoundMs.toFixed(1)}, target ${p.targetRestoreMs.toFixed(1)}, start ${p.startMs.toFixed(1)}`;
  return `migration sender: ${r.rounds.length} rounds, ${r.pagesSent} pages sent, ${mib(r.bytes)} MiB in ${r.totalMs.toFixed(0)} ms, downtime ${r.downtimeMs.toFixed(1)} ms (${parts})\n`;
}

/** main_migrate(). */
export async function xlMigrate(ctx: XlContext, o: XlMigrateOptions): Promise<XlOutput<MigrationReport>> {
  const client = await ctx.client();
  const domid = await findDomain(client, o.domain);
  const rune = migrationRune(o);
  const channel = channelSocket();
  const child = spawn('sh', ['-c', rune], { stdio: ['pipe', 'pipe', 'inherit'] });
  // A consumer from the start: Node discards what an exited child wrote to a stdout
  // nobody reads yet (flushStdio), and the daemon may connect after a quick receiver exits.
  const fromReceiver = child.stdout.pipe(new PassThrough());
  // The receiver going away is an answer the daemon reads from the stream, not a crash here.
  child.stdin.on('error', () => {});
  child.on('error', (err) => ctx.note(`failed to exec sh: ${err.message}\n`));
  void channel.connection.then((conn) => {
    conn.on('error', () => {});
    fromReceiver.pipe(conn);
    conn.pipe(child.stdin);
    // The receiver is gone (its stdin closed): once all it said has reached the daemon,
    // close the channel so that the daemon's next write fails, as xl's gets EPIPE.
    child.stdin.once('close', () => {
      if (conn.writableFinished) conn.destroy();
      else conn.once('finish', () => conn.destroy());
    });
  });
  const mig = new TypedClient<MigrateRpc>(client.rpc);
  try {
    const report = await relayedCall(ctx, mig, () => mig.call('domain.migrateSend', { ref: String(domid), channel: channel.path, rune, debug: o.debug, ...(o.config !== undefined ? { config: resolve(o.cwd, o.config) } : {}) }));
    if (o.debug) for (const r of report.rounds) ctx.note(`migration sender: round ${r.round}${r.final ? ' (suspended)' : ''}: ${r.pages} pages in ${r.ms.toFixed(1)} ms\n`);
    ctx.note(migrationSummary(report));
    return { stdout: '', data: report };
  } finally {
    await channel.drained();
    await waitForExit(child, CHILD_EXIT_WAIT_MS);
    if (child.exitCode !== null && child.exitCode !== 0) ctx.note(`migration transport process [${child.pid}] exited with error status ${child.exitCode}\n`);
    child.stdout.destroy();
    channel.close();
  }
}

/** main_migrate_receive(): the stream on stdin, the answers on stdout, messages on stderr. */
export async function xlMigrateReceive(ctx: XlContext, o: { paused: boolean }): Promise<XlOutput<ReceiveResult>> {
  const client = await ctx.client();
  const channel = channelSocket();
  void channel.connection.then((conn) => {
    conn.on('error', () => {});
    process.stdin.pipe(conn);
    conn.pipe(process.stdout, { end: false });
  });
  const mig = new TypedClient<MigrateRpc>(client.rpc);
  try {
    return { stdout: '', data: await relayedCall(ctx, mig, () => mig.call('domain.migrateReceive', { channel: channel.path, paused: o.paused })) };
  } finally {
    await channel.drained();
    process.stdin.unpipe();
    process.stdin.destroy();
    channel.close();
  }
}
