/**
 * Differential check: replay the dom0 rows of the protocol tables against a real
 * xenstored over its unix socket and against xenemu's engine in-process, and print
 * every row where the two answer differently (reply type, payload or watch events).
 *
 *   node --import tsx scripts/differential/run.ts [--socket PATH] [--group TEXT] [--all]
 *
 * Without --socket, the socket of the reference peer is used
 * (/work/shared/tools/oxenstored-peer path). Each group works below a fresh
 * top-level node /diff-<run>-<n> (and /local/domain/0/diff-<run>-<n> for relative
 * paths), which is removed from the peer afterwards. Rows marked `differs` in the
 * tables are reported as known differences with their reason; anything else that
 * differs is UNEXPECTED and makes the exit status 1. --all also prints the rows
 * that agree.
 *
 * Safety: the peer may be shared. Requests that act on the whole store (anything
 * on "/" that changes it, domain management of domain 0) are refused here.
 */
import { execFileSync } from 'node:child_process';
import { XsType } from '../../src/protocol/xs-wire.js';
import { EngineTarget, runGroup, type GroupOutcome, type Row, type RowGroup } from '../../test/helpers/xs-rows.js';
import { allGroups } from '../../test/protocol/tables/index.js';
import { SocketClient } from './socket-client.js';
import { SocketTarget } from './socket-target.js';

interface Options {
  socket: string;
  filter: string | null;
  all: boolean;
}

function parseArgs(argv: string[]): Options {
  let socket: string | null = null;
  let filter: string | null = null;
  let all = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--socket') socket = argv[++i] ?? null;
    else if (a === '--group') filter = argv[++i] ?? null;
    else if (a === '--all') all = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: node --import tsx scripts/differential/run.ts [--socket PATH] [--group TEXT] [--all]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (socket === null) {
    socket = execFileSync('/work/shared/tools/oxenstored-peer', ['path'], { encoding: 'utf8' }).trim();
  }
  return { socket, filter, all };
}

/** Types that change global (non-node) state of the daemon. */
const DOMAIN_OPS = new Set<number>([XsType.INTRODUCE, XsType.RELEASE, XsType.RESUME, XsType.SET_TARGET, XsType.SET_QUOTA, XsType.SET_FEATURE]);
const STORE_WRITES = new Set<number>([XsType.WRITE, XsType.MKDIR, XsType.RM, XsType.SET_PERMS]);

/** Why a row must not reach a shared peer, or null. */
function unsafe(group: RowGroup, row: Row): string | null {
  if (typeof row.p === 'function') return null;
  const type = typeof row.op === 'number' ? row.op : XsType[row.op];
  const text = typeof row.p === 'string' ? row.p : row.p.toString('latin1');
  const first = text.split('\0')[0] ?? '';
  if (STORE_WRITES.has(type) && first !== '' && !first.startsWith('$R') && !first.startsWith('$L') && !first.startsWith('/local/domain/0/$L')) {
    return `${group.name}: ${text} writes outside the group's own nodes`;
  }
  if (DOMAIN_OPS.has(type) && /^0*$/.test(first)) return `${group.name}: domain management of domain 0`;
  return null;
}

function peerRoot(run: string, n: number): string {
  return `/diff-${run}-${n}`;
}

/** Which of /local/domain and /local/domain/0 exist, so that cleanup can remove only what a group created. */
async function existing(socket: string): Promise<string[]> {
  const c = await SocketClient.open(socket);
  const out: string[] = [];
  let reqId = 1;
  for (const p of ['/local/domain', '/local/domain/0']) {
    const r = await c.request(XsType.READ, reqId++, 0, Buffer.from(`${p}\0`, 'latin1'));
    if (r !== null && r.type !== XsType.ERROR) out.push(p);
  }
  c.close();
  return out;
}

async function cleanup(socket: string, root: string, group: RowGroup, before: string[]): Promise<void> {
  const c = await SocketClient.open(socket);
  let reqId = 1;
  const rm = (p: string) => c.request(XsType.RM, reqId++, 0, Buffer.from(`${p}\0`, 'latin1'));
  await rm(root);
  await rm(`/local/domain/0/${root.slice(1)}`);
  // Relative paths create /local/domain/0 (and /local/domain) when missing; undo that too.
  for (const p of ['/local/domain', '/local/domain/0']) {
    if (before.includes(p)) continue;
    const r = await c.request(XsType.DIRECTORY, reqId++, 0, Buffer.from(`${p}\0`, 'latin1'));
    const children = r === null || r.type === XsType.ERROR ? null : r.payload.toString('latin1');
    if (children === '' || (p === '/local/domain' && children === '0\0')) {
      await rm(p);
      break;
    }
  }
  for (const row of group.peerCleanup ?? []) {
    const type = typeof row.op === 'number' ? row.op : XsType[row.op];
    const p = typeof row.p === 'string' ? row.p : '';
    await c.request(type, reqId++, 0, Buffer.from(p.replaceAll('$R', root), 'latin1'));
  }
  c.close();
}

interface Difference {
  group: string;
  index: number;
  request: string;
  note: string | undefined;
  engine: string;
  peer: string;
  marked: string | undefined;
}

function compare(engine: GroupOutcome, peer: GroupOutcome): { compared: number; diffs: Difference[] } {
  const diffs: Difference[] = [];
  let compared = 0;
  for (const [i, e] of engine.rows.entries()) {
    const p = peer.rows[i]!;
    if (e.reply === 'SKIPPED' || p.reply === 'SKIPPED') continue;
    compared++;
    const eText = `${e.reply}${e.closed ? ' [closed]' : ''}${e.events.length ? `\n      events: ${e.events.join(' | ')}` : ''}`;
    const pText = `${p.reply}${p.closed ? ' [closed]' : ''}${p.events.length ? `\n      events: ${p.events.join(' | ')}` : ''}`;
    if (eText !== pText) {
      diffs.push({ group: engine.group.name, index: i, request: e.request, note: e.row.note, engine: eText, peer: pText, marked: e.row.differs });
    }
  }
  return { compared, diffs };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const run = `${process.pid.toString(36)}${(Date.now() % 1e6).toString(36)}`;
  const groups = allGroups.filter((g) => (opts.filter === null || g.name.includes(opts.filter)));
  console.log(`differential: xenemu engine vs ${opts.socket} (run ${run}, ${groups.length} groups)\n`);

  let compared = 0;
  let skippedGroups = 0;
  const unexpected: Difference[] = [];
  const known: Difference[] = [];
  for (const [n, group] of groups.entries()) {
    const dom0Only = Object.values(group.conns ?? {}).every((c) => c.domid === 0 && (c.kind ?? 'socket') === 'socket');
    if (group.engineOnly !== undefined || !dom0Only) {
      skippedGroups++;
      continue;
    }
    for (const row of group.rows) {
      const why = row.engineOnly === undefined ? unsafe(group, row) : null;
      if (why !== null) throw new Error(`refusing to send to the peer: ${why}`);
    }
    const root = peerRoot(run, n);
    const before = await existing(opts.socket);
    const engineTarget = new EngineTarget(group.options);
    const engine = await runGroup(group, engineTarget, root, true);
    await engineTarget.closeAll();
    const socketTarget = new SocketTarget(opts.socket);
    let peer: GroupOutcome;
    try {
      peer = await runGroup(group, socketTarget, root, true);
    } finally {
      await socketTarget.closeAll();
      await cleanup(opts.socket, root, group, before);
    }
    const result = compare(engine, peer);
    compared += result.compared;
    for (const d of result.diffs) (d.marked === undefined ? unexpected : known).push(d);
    if (opts.all) {
      for (const [i, e] of engine.rows.entries()) {
        if (e.reply === 'SKIPPED') continue;
        console.log(`  [${group.name}] #${i} ${e.request}\n      ${e.reply}  ||  ${peer.rows[i]!.reply}`);
      }
    }
  }

  const print = (d: Difference): void => {
    console.log(`[${d.group}] #${d.index} ${d.request}${d.note ? `   (${d.note})` : ''}`);
    console.log(`    xenemu:     ${d.engine}`);
    console.log(`    oxenstored: ${d.peer}`);
    if (d.marked !== undefined) console.log(`    known: ${d.marked}`);
  };
  if (known.length > 0) {
    console.log(`=== ${known.length} known differences (marked in the tables) ===`);
    for (const d of known) print(d);
    console.log('');
  }
  console.log(`=== ${unexpected.length} UNEXPECTED differences ===`);
  for (const d of unexpected) print(d);
  console.log(
    `\n${compared} rows compared in ${groups.length - skippedGroups} groups (${skippedGroups} engine-only groups skipped): ` +
      `${compared - known.length - unexpected.length} identical, ${known.length} known differences, ${unexpected.length} unexpected`,
  );
  process.exitCode = unexpected.length > 0 ? 1 : 0;
}

await main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 2;
});

