import { DOMID } from '../abi/constants.js';
import { encodeMessage, OK_PAYLOAD, PAYLOAD_MAX, splitNul, XsType, xsTypeName, type XsErrno, type XsMessage } from '../protocol/xs-wire.js';
import { XsConnection, type ConnectionKind, type MessageSink } from './connection.js';
import { Database, type Transaction } from './database.js';
import { XsError, xsFail } from './errors.js';
import { parentPath, resolvePath } from './path.js';
import { PERM_READ, permits, permsFromEntries, withOwner, withoutDomain, type Perms } from './perms.js';
import { overLimit, QUOTA_NAMES, QuotaTable, quotaKey, type QuotaLimits } from './quota.js';
import type { Caller, Change, StoreView, TxOp } from './store.js';
import { applyOp } from './store.js';
import { lookupNode, walkTree, type XsNode } from './tree.js';
import { WatchIndex, type Watch } from './watches.js';
import { controlCommand } from './control.js';
import { ocamlIntOfString } from './ocaml-int.js';

/** What INTRODUCE and RELEASE do outside the store: mapping rings, binding ports. */
export interface DomainHooks {
  /** Connect to a domain's ring; throw an XsError to refuse. */
  introduce(domid: number, mfn: bigint, port: number): void;
  release(domid: number): void;
}

/**
 * Faults put on xenstored on purpose (`xenemu fault add xs-...`). The engine asks
 * only while `armed`, so a host without faults takes one field load per request.
 */
export interface XsFaultHooks {
  readonly armed: boolean;
  /** An errno to answer `msg` with instead of handling it, or null. */
  refuse(conn: XsConnection, msg: XsMessage): XsErrno | null;
  /** Whether this commit fails with EAGAIN as if it had conflicted. */
  failCommit(conn: XsConnection, tx: Transaction): boolean;
  /** Deliver a reply or watch event now or later, keeping each connection's order. */
  deliver(conn: XsConnection, frame: Buffer, event: boolean): void;
}

export interface IntroducedDomain {
  readonly domid: number;
  mfn: bigint;
  port: number;
}

export interface XenStoredOptions {
  quota?: Partial<QuotaLimits>;
  domains?: DomainHooks;
  /** Called with the live store's changes after each request that made some. */
  onChanges?: (changes: Change[]) => void;
  /** Diagnostic lines (CONTROL print, refused requests). */
  log?: (line: string) => void;
  /** Extra lines for CONTROL memreport (the host adds process figures). */
  memoryReport?: () => string[];
  faults?: XsFaultHooks;
}

export type SpecialEvent = '@introduceDomain' | '@releaseDomain';


/** The daemon acting on its own behalf (initial nodes, domain clean-up). */
const DOM0: Caller = { domid: 0, target: null, privileged: true };

/** A handler's answer: payload bytes (a latin1 string or a Buffer) or plain OK. */
type Reply = string | Buffer | typeof OK;
const OK = Symbol('OK');

interface Request {
  readonly conn: XsConnection;
  readonly msg: XsMessage;
  readonly tx: Transaction | null;
  readonly view: StoreView;
}

interface Handler {
  (this: XenStored, req: Request): Reply;
}

/** Request types that change state and are refused on the read-only socket. */
const WRITE_TYPES = new Set<number>([
  XsType.WRITE, XsType.MKDIR, XsType.RM, XsType.SET_PERMS, XsType.INTRODUCE, XsType.RELEASE,
  XsType.RESUME, XsType.SET_TARGET, XsType.SET_QUOTA, XsType.SET_FEATURE,
]);

/**
 * Whether a request can change what is persisted: the write types (a write, mkdir, rm
 * or set-perms inside a transaction only reaches the store at its commit) and a
 * committing TRANSACTION_END. The daemon refuses these up front while it cannot
 * record changes (a full disk).
 */
export function changesStore(msg: XsMessage): boolean {
  if (msg.type === XsType.TRANSACTION_END) return msg.payload[0] === 0x54; // 'T'
  return WRITE_TYPES.has(msg.type) && (msg.txId === 0 || !TRANSACTIONAL_TYPES.has(msg.type));
}

/** The write types a transaction holds back until its commit. */
const TRANSACTIONAL_TYPES = new Set<number>([XsType.WRITE, XsType.MKDIR, XsType.RM, XsType.SET_PERMS]);

/** Server features of xenstore-ring.txt we offer: reconnection, error indicator, watch depth. */
export const SERVER_FEATURES = 0b111;

/**
 * xenstored: the protocol engine over the store. It holds no sockets and no timers;
 * transports hand it requests and it answers through each connection's sink.
 */
export class XenStored {
  readonly quota: QuotaTable;
  readonly db: Database;
  readonly watches = new WatchIndex<XsConnection>();
  readonly connections = new Set<XsConnection>();
  readonly domains = new Map<number, IntroducedDomain>();
  private readonly features = new Map<number, number>();
  private readonly hooks: DomainHooks | null;
  private readonly onChanges: ((changes: Change[]) => void) | null;
  private readonly faults: XsFaultHooks | null;
  readonly log: (line: string) => void;
  readonly memoryReport: () => string[];
  /** Watch events raised while handling a request, sent after its reply. */
  private events: Array<[XsConnection, string, string]> = [];
  private readonly handlers: Array<Handler | undefined> = [];
  /** Commits that failed with EAGAIN, for CONTROL memreport. */
  conflicts = 0;
  commits = 0;

  constructor(options: XenStoredOptions = {}) {
    this.quota = new QuotaTable(options.quota);
    this.db = new Database(this.quota);
    this.hooks = options.domains ?? null;
    this.onChanges = options.onChanges ?? null;
    this.faults = options.faults ?? null;
    this.log = options.log ?? (() => {});
    this.memoryReport = options.memoryReport ?? (() => []);
    const h = this.handlers;
    h[XsType.CONTROL] = this.control;
    h[XsType.DIRECTORY] = this.directory;
    h[XsType.DIRECTORY_PART] = this.directoryPart;
    h[XsType.READ] = this.read;
    h[XsType.GET_PERMS] = this.getPerms;
    h[XsType.WATCH] = this.watch;
    h[XsType.UNWATCH] = this.unwatch;
    h[XsType.TRANSACTION_START] = this.transactionStart;
    h[XsType.TRANSACTION_END] = this.transactionEnd;
    h[XsType.INTRODUCE] = this.introduce;
    h[XsType.RELEASE] = this.release;
    h[XsType.GET_DOMAIN_PATH] = this.getDomainPath;
    h[XsType.WRITE] = this.write;
    h[XsType.MKDIR] = this.mkdir;
    h[XsType.RM] = this.rm;
    h[XsType.SET_PERMS] = this.setPerms;
    h[XsType.IS_DOMAIN_INTRODUCED] = this.isDomainIntroduced;
    h[XsType.RESUME] = this.resume;
    h[XsType.SET_TARGET] = this.setTarget;
    h[XsType.RESET_WATCHES] = this.resetWatches;
    h[XsType.GET_FEATURE] = this.getFeature;
    h[XsType.SET_FEATURE] = this.setFeature;
    h[XsType.GET_QUOTA] = this.getQuota;
    h[XsType.SET_QUOTA] = this.setQuota;
  }

  /**
   * Create the nodes a fresh oxenstored has, so clients see the same tree:
   * the special-watch nodes, dom0's home and /tool/xenstored.
   */
  initialise(daemonPath: string): void {
    const live = this.db.live;
    live.enforceQuota = false;
    for (const p of ['/@introduceDomain', '/@releaseDomain', '/local/domain/0']) live.mkdir(DOM0, p);
    live.write(DOM0, '/tool/xenstored', daemonPath);
    live.enforceQuota = true;
    this.settle();
  }

  connect(domid: number, kind: ConnectionKind, sink: MessageSink): XsConnection {
    const conn = new XsConnection(domid, kind, sink);
    this.connections.add(conn);
    return conn;
  }

  /** Forget a connection: its watches and transactions go with it. */
  disconnect(conn: XsConnection): void {
    if (!this.connections.delete(conn)) return;
    conn.closed = true;
    for (const w of conn.watches.values()) this.watches.remove(w);
    conn.watches.clear();
    conn.transactions.clear();
  }

  /** Handle one request; the reply, then any watch events, go to the sinks. */
  handle(conn: XsConnection, msg: XsMessage): void {
    if (this.faults !== null && this.faults.armed) {
      const errno = this.faults.refuse(conn, msg);
      if (errno !== null) {
        this.refuse(conn, msg, errno);
        return;
      }
    }
    conn.ops++;
    const type = msg.type;
    // WATCH and UNWATCH ignore the transaction field (xenstore.txt) and answer with 0.
    const ignoresTx = type === XsType.WATCH || type === XsType.UNWATCH;
    const txId = ignoresTx ? 0 : msg.txId;
    try {
      let tx: Transaction | null = null;
      if (txId !== 0) {
        tx = conn.transactions.get(txId) ?? null;
        if (tx === null) xsFail('EIO', `no transaction ${txId}`);
      }
      const handler = this.handlers[type];
      if (handler === undefined) xsFail('ENOSYS', `unknown message type ${type}`);
      if (conn.readOnly && WRITE_TYPES.has(type)) xsFail('EROFS', 'read-only connection');
      const reply = handler.call(this, { conn, msg, tx, view: tx ? tx.view : this.db.live });
      this.send(conn, type, msg.reqId, txId, reply === OK ? OK_PAYLOAD : reply);
    } catch (err) {
      // Like oxenstored's process_packet, never let one request take the daemon down:
      // an unexpected failure is a bug, logged, and answered with EIO.
      let errno = 'EIO';
      if (err instanceof XsError) errno = err.errno;
      else this.log(`internal error handling ${xsTypeName(type)}: ${(err as Error).stack ?? String(err)}`);
      this.send(conn, XsType.ERROR, msg.reqId, ignoresTx ? 0 : msg.txId, `${errno}\0`);
    }
    this.settle();
  }

  /**
   * Answer a request with `errno` without handling it (the daemon cannot record a
   * change now). A refused commit ends its transaction, as a failed commit does.
   */
  refuse(conn: XsConnection, msg: XsMessage, errno: string): void {
    conn.ops++;
    if (msg.type === XsType.TRANSACTION_END) conn.transactions.delete(msg.txId);
    this.send(conn, XsType.ERROR, msg.reqId, msg.txId, `${errno}\0`);
  }

  /**
   * Hand what the last operation produced onwards: changes to persistence, then watch
   * events to their connections. handle() does this after every request; anything that
   * changes the store outside a request (the hypervisor releasing a domain) calls it.
   */
  settle(): void {
    this.flushChanges();
    this.flushEvents();
  }

  private send(conn: XsConnection, type: number, reqId: number, txId: number, payload: string | Buffer): void {
    if (conn.closed) return;
    const len = typeof payload === 'string' ? payload.length : payload.length;
    if (len > PAYLOAD_MAX) {
      // Clients cannot take more; C xenstored answers E2BIG and libxenstore then
      // falls back to DIRECTORY_PART for long directories.
      this.deliver(conn, encodeMessage(XsType.ERROR, reqId, txId, 'E2BIG\0'), false);
      return;
    }
    this.deliver(conn, encodeMessage(type, reqId, txId, payload), false);
  }

  private deliver(conn: XsConnection, frame: Buffer, event: boolean): void {
    if (this.faults !== null && this.faults.armed) this.faults.deliver(conn, frame, event);
    else conn.sink.deliver(frame);
  }

  private flushChanges(): void {
    const changes = this.db.takeChanges();
    if (changes.length > 0 && this.onChanges) this.onChanges(changes);
  }

  private flushEvents(): void {
    if (this.events.length === 0) return;
    const events = this.events;
    this.events = [];
    for (const [conn, path, token] of events) {
      if (!conn.closed) this.deliver(conn, encodeMessage(XsType.WATCH_EVENT, 0, 0, `${path}\0${token}\0`), true);
    }
  }

  // ---------------------------------------------------------------- watch events

  /**
   * Queue the events a change at `path` raises. An unprivileged watcher only hears
   * about nodes it may read, before or after the change (`roots`): xenstore.txt allows
   * suppressing events for unreadable paths but promises one when a readable node is
   * deleted.
   */
  private raise(path: string, recursive: boolean, roots: readonly XsNode[]): void {
    for (const [w, reported] of this.watches.match(path, recursive)) {
      const conn = w.owner;
      const abs = reported.charCodeAt(0) === 0x2f ? reported : w.relativeBase + reported;
      if (roots.some((root) => canFire(root, abs, conn))) {
        this.events.push([conn, reported, w.token]);
      }
    }
  }

  /**
   * Fire @introduceDomain / @releaseDomain now (the hypervisor calls this when a domain
   * dies); `domid` feeds depth-1 and per-domain watches.
   */
  fireSpecial(name: SpecialEvent, domid: number | null): void {
    this.queueSpecial(name, domid);
    this.flushEvents();
  }

  /** Unprivileged domains hear special events only if SET_PERMS on the node lets them read it. */
  private queueSpecial(name: SpecialEvent, domid: number | null): void {
    const node = lookupNode(this.db.root, `/${name}`);
    for (const [w, reported] of this.watches.matchSpecial(name, domid)) {
      const conn = w.owner;
      if (conn.privileged || (node !== undefined && permits(node.perms, conn.domid, conn.target, PERM_READ))) {
        this.events.push([conn, reported, w.token]);
      }
    }
  }

  /** Raise the events of operations applied to the live tree (direct or committed). */
  private raiseOps(ops: readonly TxOp[], before: XsNode): void {
    const after = this.db.root;
    for (const op of ops) {
      if (op.kind === 'rm') this.raise(op.path, true, [before]);
      else if (op.kind === 'setperms') this.raise(op.path, false, [before, after]);
      else this.raise(op.path, false, [after]);
    }
  }

  // ---------------------------------------------------------------- helpers

  private path(req: Request, raw: string): string {
    return resolvePath(raw, req.conn.domid, { pathMax: this.quota.limit(req.conn.domid, 'pathMax') });
  }

  /** The single `<path>|` argument most requests take. */
  private onePath(req: Request): string {
    const parts = splitNul(req.msg.payload);
    if (parts.length !== 2 || parts[1] !== '') xsFail('EINVAL', 'expected <path>|');
    return this.path(req, parts[0]!);
  }

  /** Arguments of a `<a>|<b>|...|` payload; EINVAL unless exactly `count` of them. */
  private args(req: Request, count: number): string[] {
    const parts = splitNul(req.msg.payload);
    if (parts.length !== count + 1 || parts[count] !== '') xsFail('EINVAL', `expected ${count} arguments`);
    return parts.slice(0, count);
  }

  /**
   * Apply a mutation in a transaction (recorded, events at commit) or on the live
   * tree (events now).
   */
  private mutate(req: Request, op: TxOp): void {
    const { conn, tx } = req;
    if (tx !== null) {
      if (!conn.privileged && overLimit(this.db.touched(tx) + 1, this.quota.limit(conn.domid, 'transactionNodes'))) {
        xsFail('EQUOTA', 'transaction touches too many nodes');
      }
      if (applyOp(tx.view, conn, op)) tx.ops.push(op);
      return;
    }
    const before = op.kind === 'write' || op.kind === 'mkdir' ? null : this.beforeRoot(op.path);
    if (applyOp(this.db.live, conn, op)) this.raiseOps([op], before ?? this.db.root);
  }

  /**
   * The live root as it is before a removal or permission change, for deciding who
   * hears about it. Freezing costs a path copy on the next write, so it is only done
   * when some watch could fire.
   */
  private beforeRoot(path: string): XsNode | null {
    return this.watches.match(path, true).length > 0 ? this.db.snapshot() : null;
  }

  // ---------------------------------------------------------------- handlers

  private read(req: Request): Reply {
    return req.view.read(req.conn, this.onePath(req));
  }

  private getPerms(req: Request): Reply {
    return req.view.getPerms(req.conn, this.onePath(req)).wire;
  }

  private directory(req: Request): Reply {
    const names = req.view.list(req.conn, this.onePath(req)).sortedNames();
    return names.length === 0 ? '' : `${names.join('\0')}\0`;
  }

  /**
   * DIRECTORY_PART: `<path>|<offset>|` returns `<gen>|` and the children from that byte
   * offset of the full list, as many as fit; the final part ends with an empty name
   * (C xenstored's format, which libxenstore's xs_directory relies on).
   */
  private directoryPart(req: Request): Reply {
    const [raw, offsetText] = this.args(req, 2);
    if (!/^[0-9]{1,10}$/.test(offsetText!)) xsFail('EINVAL', `bad offset ${offsetText}`);
    const offset = Number(offsetText);
    const node = req.view.list(req.conn, this.path(req, raw!));
    const all = node.sortedNames().length === 0 ? '' : `${node.sortedNames().join('\0')}\0`;
    const gen = `${node.cgen}\0`;
    if (offset >= all.length) return `${gen}\0`;
    const room = PAYLOAD_MAX - gen.length - 1;
    let end = offset;
    while (end < all.length) {
      const next = all.indexOf('\0', end) + 1;
      if (next - offset > room) break;
      end = next;
    }
    return gen + all.slice(offset, end) + (end === all.length ? '\0' : '');
  }

  private write(req: Request): Reply {
    const payload = req.msg.payload;
    const nul = payload.indexOf(0);
    if (nul < 0) xsFail('EINVAL', 'expected <path>|<value>');
    const path = this.path(req, payload.toString('latin1', 0, nul));
    this.mutate(req, { kind: 'write', path, value: payload.toString('latin1', nul + 1) });
    return OK;
  }

  private mkdir(req: Request): Reply {
    this.mutate(req, { kind: 'mkdir', path: this.onePath(req) });
    return OK;
  }

  private rm(req: Request): Reply {
    this.mutate(req, { kind: 'rm', path: this.onePath(req) });
    return OK;
  }

  /**
   * SET_PERMS `<path>|<perm>|+`. Like oxenstored, the text after the last NUL is
   * ignored, so a list must end with a NUL to count.
   */
  private setPerms(req: Request): Reply {
    const parts = splitNul(req.msg.payload);
    if (parts.length < 2) xsFail('EINVAL', 'expected <path>|<perms>|');
    const path = this.path(req, parts[0]!);
    const perms = permsFromEntries(parts.slice(1, -1));
    this.mutate(req, { kind: 'setperms', path, perms });
    return OK;
  }

  private watch(req: Request): Reply {
    const parts = splitNul(req.msg.payload);
    if ((parts.length !== 3 && parts.length !== 4) || parts[parts.length - 1] !== '') {
      xsFail('EINVAL', 'expected <path>|<token>|[<depth>|]');
    }
    const [path, token] = parts as [string, string];
    let depth = -1;
    if (parts.length === 4) {
      if (!/^[0-9]{1,9}$/.test(parts[2]!)) xsFail('EINVAL', 'watch depth must be a decimal number');
      depth = Number(parts[2]);
    }
    const { conn } = req;
    const abs = this.watchPath(req, path);
    const key = `${abs}\0${token}`;
    if (conn.watches.has(key)) xsFail('EEXIST', 'watch exists');
    if (!conn.privileged && overLimit(conn.watches.size + 1, this.quota.limit(conn.domid, 'watches'))) {
      xsFail('EQUOTA', 'too many watches');
    }
    const relative = path.charCodeAt(0) !== 0x2f && path.charCodeAt(0) !== 0x40;
    const w: Watch<XsConnection> = { owner: conn, path, abs, token, depth, relativeBase: relative ? conn.home : null };
    conn.watches.set(key, w);
    this.watches.add(w);
    // xenstore.txt: a new watch fires once straight away, whether or not the path exists.
    this.events.push([conn, path, token]);
    return OK;
  }

  /** Watch paths: node paths as usual; any '@...' string names a special event. */
  private watchPath(req: Request, path: string): string {
    // xenstore.txt: after the '@' a special watch "may have any syntax".
    if (path.charCodeAt(0) === 0x40) return path;
    return this.path(req, path);
  }

  private unwatch(req: Request): Reply {
    const [path, token] = this.args(req, 2);
    const { conn } = req;
    const key = `${this.watchPath(req, path!)}\0${token}`;
    const w = conn.watches.get(key);
    if (w === undefined) xsFail('ENOENT', 'no such watch');
    conn.watches.delete(key);
    this.watches.remove(w);
    return OK;
  }

  private resetWatches(req: Request): Reply {
    const { conn } = req;
    for (const w of conn.watches.values()) this.watches.remove(w);
    conn.watches.clear();
    conn.transactions.clear();
    return OK;
  }

  private transactionStart(req: Request): Reply {
    const { conn } = req;
    if (req.tx !== null) xsFail('EBUSY', 'transactions do not nest');
    if (!conn.privileged && overLimit(conn.transactions.size + 1, this.quota.limit(conn.domid, 'transactions'))) {
      xsFail('EQUOTA', 'too many open transactions');
    }
    const id = conn.allocateTxId();
    conn.transactions.set(id, this.db.begin(id));
    return `${id}\0`;
  }

  private transactionEnd(req: Request): Reply {
    const { conn, tx } = req;
    // The verdict is checked first, as oxenstored does: an empty payload is EINVAL
    // even without a transaction.
    const verdict = splitNul(req.msg.payload)[0];
    if (verdict !== 'T' && verdict !== 'F') xsFail('EINVAL', 'expected T or F');
    if (tx === null) xsFail('ENOENT', 'no transaction given');
    conn.transactions.delete(tx.id);
    if (verdict === 'F') return OK;
    if ((this.faults !== null && this.faults.armed && this.faults.failCommit(conn, tx)) || !this.db.commit(tx, conn)) {
      this.conflicts++;
      // oxenstored retries a conflicting commit under a transaction id of its own,
      // so the next id a client sees skips one; clients see the same here.
      conn.allocateTxId();
      xsFail('EAGAIN', 'transaction conflict');
    }
    this.commits++;
    // Who may hear about a removal is judged on the transaction's snapshot, as oxenstored does.
    this.raiseOps(tx.ops, tx.base);
    return OK;
  }

  private requirePrivileged(req: Request): void {
    if (!req.conn.privileged) xsFail('EACCES', 'only a privileged domain may do this');
  }

  private domidArg(text: string | undefined): number {
    if (text === undefined || !/^[0-9]{1,5}$/.test(text) || Number(text) > 0xffff) xsFail('EINVAL', `bad domid ${text}`);
    return Number(text);
  }

  /** INTRODUCE `<domid>|<gfn>|<evtchn>|`: connect to a new domain's ring. */
  private introduce(req: Request): Reply {
    this.requirePrivileged(req);
    const parts = splitNul(req.msg.payload);
    if (parts.length < 3) xsFail('EINVAL', 'expected <domid>|<gfn>|<evtchn>|');
    const domid = this.domidArg(parts[0]);
    if (!/^-?[0-9]{1,20}$/.test(parts[1]!) || !/^[0-9]{1,10}$/.test(parts[2]!)) xsFail('EINVAL', 'bad gfn or port');
    this.introduceDomain(domid, BigInt(parts[1]!), Number(parts[2]));
    return OK;
  }

  /**
   * Start serving a domain through its ring (INTRODUCE, or the toolstack directly):
   * map its page, bind its event channel, fire @introduceDomain.
   */
  introduceDomain(domid: number, mfn: bigint, port: number): void {
    // xenstore.txt: a real domain, not dom0 and not a DOMID_* special value.
    if (domid === 0 || domid >= DOMID.FIRST_RESERVED) xsFail('EINVAL', `domain ${domid} cannot be introduced`);
    const existing = this.domains.get(domid);
    if (existing !== undefined) {
      // Re-introducing with the same page rebinds the event channel (xenstore.txt).
      if (existing.mfn !== mfn) xsFail('EINVAL', 'domain already introduced with another page');
      existing.port = port;
      return;
    }
    this.hooks?.introduce(domid, mfn, port);
    this.domains.set(domid, { domid, mfn, port });
    this.queueSpecial('@introduceDomain', domid);
    this.settle();
  }

  /** RELEASE `<domid>|`: forget the domain (its connection, nodes and permission entries). */
  private release(req: Request): Reply {
    this.requirePrivileged(req);
    const [text] = this.args(req, 1);
    const domid = this.domidArg(text);
    if (!this.domains.has(domid)) xsFail('EINVAL', `domain ${domid} is not introduced`);
    this.releaseDomain(domid);
    this.queueSpecial('@releaseDomain', domid);
    return OK;
  }

  /**
   * Forget a domain as C xenstored does when it frees the domain (domain_tree_remove,
   * remove_domid_from_perm; xenstored_domain.c in 4.17): its connections close, every
   * node it owns is deleted with its subtree (firing watches, as rm_node does), no
   * permission list names it any more, and the special nodes it owned pass to dom0.
   * A domain created later with the same id must inherit nothing.
   */
  releaseDomain(domid: number): void {
    this.domains.delete(domid);
    this.features.delete(domid);
    this.quota.forget(domid);
    this.hooks?.release(domid);
    for (const conn of [...this.connections]) {
      if (conn.kind === 'domain' && conn.domid === domid) {
        this.disconnect(conn);
        conn.sink.close?.('domain released');
      }
    }
    const orphans: string[] = [];
    const stale: Array<[string, Perms]> = [];
    walkTree(this.db.root, '/', (path, node) => {
      const last = orphans[orphans.length - 1];
      if (last !== undefined && path.startsWith(`${last}/`)) return; // deleted with its ancestor
      if (node.perms.owner !== domid) {
        const perms = withoutDomain(node.perms, domid);
        if (perms !== node.perms) stale.push([path, perms]);
      } else if (passesToDom0(path)) {
        stale.push([path, withoutDomain(withOwner(node.perms, 0), domid)]);
      } else {
        orphans.push(path);
      }
    });
    for (const [path, perms] of stale) this.db.live.setPerms(DOM0, path, perms);
    const before = orphans.length > 0 ? this.db.snapshot() : this.db.root;
    const removals: TxOp[] = orphans.map((path) => ({ kind: 'rm', path }));
    for (const op of removals) applyOp(this.db.live, DOM0, op);
    this.raiseOps(removals, before);
    this.settle();
  }

  /**
   * RESUME `<domid>|`: as oxenstored 4.17 does it (process.ml do_resume), OK for an
   * introduced domain and nothing else happens (Domains.resume is empty); the domid is
   * read with OCaml's int_of_string from the first field, whatever follows. C
   * xenstored would clear the domain's shutdown flag, which xenemu does not keep.
   */
  private resume(req: Request): Reply {
    this.requirePrivileged(req);
    const text = splitNul(req.msg.payload)[0] ?? '';
    const domid = ocamlIntOfString(text);
    if (domid === null || domid < 0n || domid > 0xffffn || !this.domains.has(Number(domid))) xsFail('EINVAL', `domain ${text} is not introduced`);
    return OK;
  }

  /** SET_TARGET `<domid>|<tdomid>|`: let a device model act for its guest. */
  private setTarget(req: Request): Reply {
    this.requirePrivileged(req);
    const [a, b] = this.args(req, 2);
    const domid = this.domidArg(a);
    const target = this.domidArg(b);
    const conns = [...this.connections].filter((c) => c.kind === 'domain' && c.domid === domid);
    if (conns.length === 0 && !this.domains.has(domid)) xsFail('ENOENT', `domain ${domid} is not introduced`);
    for (const c of conns) c.target = target;
    return OK;
  }

  private getDomainPath(req: Request): Reply {
    const [text] = this.args(req, 1);
    // Like oxenstored, take the first run of digits and ignore the rest ("7x" is 7).
    const digits = /[0-9]+/.exec(text!)?.[0] ?? '0';
    return `/local/domain/${BigInt(digits)}\0`;
  }

  private isDomainIntroduced(req: Request): Reply {
    this.requirePrivileged(req);
    const [text] = this.args(req, 1);
    return this.domains.has(this.domidArg(text)) ? 'T\0' : 'F\0';
  }

  private getFeature(req: Request): Reply {
    this.requirePrivileged(req);
    const parts = splitNul(req.msg.payload).slice(0, -1).filter((p) => p !== '');
    if (parts.length === 0) return `${SERVER_FEATURES}\0`;
    const domid = this.domidArg(parts[0]);
    return `${this.features.get(domid) ?? SERVER_FEATURES}\0`;
  }

  private setFeature(req: Request): Reply {
    this.requirePrivileged(req);
    const [a, b] = this.args(req, 2);
    const domid = this.domidArg(a);
    if (this.domains.has(domid)) xsFail('EBUSY', 'domain already introduced');
    if (!/^[0-9]{1,10}$/.test(b!) || (Number(b) & ~SERVER_FEATURES) !== 0) xsFail('EINVAL', 'unsupported features');
    this.features.set(domid, Number(b));
    return OK;
  }

  /** Features a domain's ring will advertise. */
  featuresOf(domid: number): number {
    return this.features.get(domid) ?? SERVER_FEATURES;
  }

  /** GET_QUOTA `[[<domid>|]<quota>|]`. */
  private getQuota(req: Request): Reply {
    this.requirePrivileged(req);
    const parts = splitNul(req.msg.payload).slice(0, -1);
    if (parts.length === 0 || (parts.length === 1 && parts[0] === '')) return `${Object.keys(QUOTA_NAMES).join(' ')}\0`;
    if (parts.length === 1) return `${this.quota.global[quotaKey(parts[0]!)]}\0`;
    if (parts.length === 2) return `${this.quota.limit(this.domidArg(parts[0]), quotaKey(parts[1]!))}\0`;
    xsFail('EINVAL', 'expected [[<domid>|]<quota>|]');
  }

  /** SET_QUOTA `[<domid>|]<quota>|<value>|`. */
  private setQuota(req: Request): Reply {
    this.requirePrivileged(req);
    const parts = splitNul(req.msg.payload).slice(0, -1);
    if (parts.length !== 2 && parts.length !== 3) xsFail('EINVAL', 'expected [<domid>|]<quota>|<value>|');
    const valueText = parts[parts.length - 1]!;
    if (!/^[0-9]{1,10}$/.test(valueText)) xsFail('EINVAL', `bad quota value ${valueText}`);
    const key = quotaKey(parts[parts.length - 2]!);
    const domid = parts.length === 3 ? this.domidArg(parts[0]) : null;
    this.quota.set(domid, key, Number(valueText));
    return OK;
  }

  private control(req: Request): Reply {
    const args = splitNul(req.msg.payload);
    if (args.length > 1 && args[args.length - 1] === '') args.pop();
    const out = controlCommand(this, req.conn, args);
    return out === null ? OK : `${out}\0`;
  }
}

/**
 * Whether a watch event about `abs`, judged on `root`, reaches `conn`: as in
 * oxenstored, the node (or, if it is absent, its parent) must exist there, and an
 * unprivileged connection must be able to read it.
 */
/**
 * Nodes that outlive a released owner, passing to dom0: the root and the nodes behind
 * the special watch paths (/@introduceDomain, ...), whose permissions C xenstored keeps
 * apart from the tree and gives to dom0 (remove_domid_from_perm).
 */
function passesToDom0(path: string): boolean {
  return path === '/' || path.charCodeAt(1) === 0x40;
}

function canFire(root: XsNode, abs: string, conn: XsConnection): boolean {
  const node = lookupNode(root, abs) ?? lookupNode(root, parentPath(abs));
  return node !== undefined && (conn.privileged || permits(node.perms, conn.domid, conn.target, PERM_READ));
}
