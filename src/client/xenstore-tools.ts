import { replyErrno, strerror } from './strerror.js';
import { InvalidPermSpec, normalisePerms, parsePermSpecs } from './xenstore-perms.js';
import { XsRequestError, type WatchEvent, type XsClient } from '../protocol/xs-client.js';
import { XenemuError } from '../common/errors.js';

/**
 * The work of the xenstore-* tools (xenstore_client.c, Xen 4.17) over an XsClient:
 * the same requests, the same transactions (rm, exists, list and chmod always; read
 * for more than one key; write for more than one pair; ls and watch never), the same
 * EAGAIN retry, and the same stop at the first failing key. Each returns a typed result
 * that `--json` prints and the text renderers turn into the tools' exact output.
 *
 * Paths and names are byte strings (one char per byte), as they travel on the wire.
 */

/** A value that survives JSON: UTF-8 text when the bytes are valid UTF-8, else base64. */
export interface XsValue {
  value: string;
  encoding: 'utf8' | 'base64';
}

export function toXsValue(bytes: Buffer): XsValue {
  const text = bytes.toString('utf8');
  return Buffer.byteLength(text) === bytes.length && !text.includes('\uFFFD')
    ? { value: text, encoding: 'utf8' }
    : { value: bytes.toString('base64'), encoding: 'base64' };
}

export function xsValueBytes(v: XsValue): Buffer {
  return Buffer.from(v.value, v.encoding);
}

/** Why a tool stopped; `message` is its stderr text without the program name. */
export interface ToolFailure {
  message: string;
  path?: string;
  errno?: string;
}

/**
 * A failure after which the C tool exits at once with status 1 and prints nothing it had
 * buffered (errx on a transaction that cannot start or end).
 */
export class ToolAbort extends XenemuError {
  constructor(message: string) {
    super('EIO', message);
  }
}

/** The errno libxenstore would report for a failed request. */
export function errnoOf(err: unknown): string {
  if (err instanceof XsRequestError) return replyErrno(err.errno);
  return (err as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
}

function failure(err: unknown, path: string, message: string): ToolFailure {
  return { message, path, errno: errnoOf(err) };
}

/**
 * Run `body` as the C tools do: in a transaction when asked, committing when
 * `succeeded`, else aborting; a commit that loses a race (EAGAIN) runs the body again
 * and its earlier result is dropped, as the tool drops its buffered output.
 */
async function inTransaction<T>(client: XsClient, use: boolean, succeeded: (r: T) => boolean, body: (tx: number) => Promise<T>): Promise<T> {
  if (!use) return body(0);
  for (;;) {
    let tx: number;
    try {
      tx = await client.transactionStart();
    } catch {
      throw new ToolAbort("couldn't start transaction");
    }
    const result = await body(tx);
    const commit = succeeded(result);
    try {
      await client.transactionEnd(tx, commit);
      return result;
    } catch (err) {
      if (commit && errnoOf(err) === 'EAGAIN') continue;
      throw new ToolAbort("couldn't end transaction");
    }
  }
}

const noFailure = (r: { error?: ToolFailure }): boolean => r.error === undefined;

/** Settle every promise first, so one rejection does not leave the others unobserved. */
async function inOrder<T>(promises: Array<Promise<T>>): Promise<Array<PromiseSettledResult<T>>> {
  return Promise.allSettled(promises);
}

// ---------------------------------------------------------------- read

export interface ReadEntry extends XsValue {
  path: string;
}

export interface ReadResult {
  entries: ReadEntry[];
  error?: ToolFailure;
}

export async function readKeys(client: XsClient, keys: readonly string[]): Promise<ReadResult> {
  return inTransaction(client, keys.length > 1, noFailure, async (tx) => {
    // All requests go out at once (the daemon answers in order); the result still
    // stops at the first key that fails, as the tool's loop does.
    const replies = await inOrder(keys.map((k) => client.read(k, tx)));
    const entries: ReadEntry[] = [];
    for (const [i, r] of replies.entries()) {
      const path = keys[i]!;
      if (r.status === 'rejected') return { entries, error: failure(r.reason, path, `couldn't read path ${path}`) };
      entries.push({ path, ...toXsValue(r.value) });
    }
    return { entries };
  });
}

// ---------------------------------------------------------------- write

export interface WriteResult {
  written: Array<{ path: string; bytes: number }>;
  error?: ToolFailure;
}

export async function writePairs(client: XsClient, pairs: ReadonlyArray<readonly [path: string, value: Buffer]>): Promise<WriteResult> {
  return inTransaction(client, pairs.length > 1, noFailure, async (tx) => {
    const replies = await inOrder(pairs.map(([path, value]) => client.write(path, value, tx)));
    const written: WriteResult['written'] = [];
    for (const [i, r] of replies.entries()) {
      const [path, value] = pairs[i]!;
      if (r.status === 'rejected') return { written, error: failure(r.reason, path, `could not write path ${path}`) };
      written.push({ path, bytes: value.length });
    }
    return { written };
  });
}

// ---------------------------------------------------------------- list

export interface ListResult {
  lists: Array<{ path: string; children: string[] }>;
  error?: ToolFailure;
}

export async function listKeys(client: XsClient, keys: readonly string[]): Promise<ListResult> {
  return inTransaction(client, true, noFailure, async (tx) => {
    const replies = await inOrder(keys.map((k) => client.directory(k, tx)));
    const lists: ListResult['lists'] = [];
    for (const [i, r] of replies.entries()) {
      const path = keys[i]!;
      if (r.status === 'rejected') return { lists, error: failure(r.reason, path, `could not list path ${path}`) };
      lists.push({ path, children: r.value });
    }
    return { lists };
  });
}

// ---------------------------------------------------------------- exists

export interface ExistsResult {
  /** True when every key exists. */
  exists: boolean;
  /** One entry per key checked; checking stops at the first missing key. */
  keys: Array<{ path: string; exists: boolean }>;
}

export async function existKeys(client: XsClient, keys: readonly string[]): Promise<ExistsResult> {
  return inTransaction(client, true, (r) => r.exists, async (tx) => {
    const replies = await inOrder(keys.map((k) => client.read(k, tx)));
    const checked: ExistsResult['keys'] = [];
    for (const [i, r] of replies.entries()) {
      const found = r.status === 'fulfilled';
      checked.push({ path: keys[i]!, exists: found });
      if (!found) return { exists: false, keys: checked };
    }
    return { exists: true, keys: checked };
  });
}

// ---------------------------------------------------------------- rm

export interface RmResult {
  /** Every node removed, tidied parents included, in order. */
  removed: string[];
  error?: ToolFailure;
}

/**
 * Remove each key; with `tidy`, then remove each parent that is left with an empty
 * value and no children, up to the root (the C tool's `-t`).
 */
export async function rmKeys(client: XsClient, keys: readonly string[], tidy: boolean): Promise<RmResult> {
  return inTransaction(client, true, noFailure, async (tx) => {
    const removed: string[] = [];
    for (const key of keys) {
      let path = key;
      for (;;) {
        try {
          await client.rm(path, tx);
        } catch (err) {
          return { removed, error: failure(err, path, `could not remove path ${path}`) };
        }
        removed.push(path);
        if (!tidy) break;
        const slash = path.lastIndexOf('/');
        if (slash < 0) break;
        path = path.slice(0, slash);
        if (!(await isEmptyLeaf(client, path, tx))) break;
      }
    }
    return { removed };
  });
}

async function isEmptyLeaf(client: XsClient, path: string, tx: number): Promise<boolean> {
  try {
    const [value, children] = await Promise.all([client.read(path, tx), client.directory(path, tx)]);
    return value.length === 0 && children.length === 0;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- mkdir (xenemu only)

export interface MkdirResult {
  created: string[];
  error?: ToolFailure;
}

export async function mkdirKeys(client: XsClient, keys: readonly string[]): Promise<MkdirResult> {
  return inTransaction(client, keys.length > 1, noFailure, async (tx) => {
    const replies = await inOrder(keys.map((k) => client.mkdir(k, tx)));
    const created: string[] = [];
    for (const [i, r] of replies.entries()) {
      const path = keys[i]!;
      if (r.status === 'rejected') return { created, error: failure(r.reason, path, `could not create path ${path}`) };
      created.push(path);
    }
    return { created };
  });
}

// ---------------------------------------------------------------- chmod

export interface ChmodResult {
  /** The SET_PERMS entries sent, after the C tool's parsing (`r1x` → `r1`). */
  perms: string[];
  /** Every node whose permissions were set, in order. */
  changed: string[];
  error?: ToolFailure;
}

/** snprintf(buf, MAX_PATH_LEN, ...) in the C tool's -r walk cuts child paths at 255 bytes. */
const CHMOD_CHILD_PATH_MAX = 255;

/**
 * Set `specs` on `path`; `upto` also sets them on every ancestor below "/", `recurse`
 * on every descendant. The first failure stops everything and nothing is committed.
 */
export async function chmodKey(client: XsClient, path: string, specs: readonly string[], opts: { upto: boolean; recurse: boolean }): Promise<ChmodResult> {
  let perms: string[];
  try {
    perms = parsePermSpecs(specs);
  } catch (err) {
    if (err instanceof InvalidPermSpec) return { perms: [], changed: [], error: { message: err.message } };
    throw err;
  }
  return inTransaction(client, true, noFailure, async (tx) => {
    const changed: string[] = [];
    const visit = async (p: string, upto: boolean, recurse: boolean): Promise<ToolFailure | undefined> => {
      if (p === '') return undefined;
      try {
        await client.setPerms(p, perms, tx);
      } catch (err) {
        const errno = errnoOf(err);
        return { message: `Error occurred setting permissions on '${p}': ${strerror(errno)}`, path: p, errno };
      }
      changed.push(p);
      if (upto) {
        const slash = p.lastIndexOf('/');
        if (slash < 0) return { message: `Unable to locate path separator '/' in '${p}'`, path: p };
        const e = await visit(p.slice(0, slash), true, false);
        if (e) return e;
      }
      if (recurse) {
        // A child that cannot be listed is skipped, as in the C tool.
        const children = await client.directory(p, tx).catch(() => [] as string[]);
        for (const child of children) {
          const e = await visit(`${p}/${child}`.slice(0, CHMOD_CHILD_PATH_MAX), false, true);
          if (e) return e;
        }
      }
      return undefined;
    };
    const error = await visit(path, opts.upto, opts.recurse);
    return error ? { perms, changed, error } : { perms, changed };
  });
}

// ---------------------------------------------------------------- ls

export interface LsNode {
  path: string;
  name: string;
  /** 0 for the children of the listed path. */
  depth: number;
  /** The value, or null when it could not be read (ls then prints `name:`). */
  value: string | null;
  encoding: XsValue['encoding'];
  /** Asked for with -p: the entries as libxenstore prints them, or null when that failed. */
  perms?: string[] | null;
  permsErrno?: string;
}

export interface LsResult {
  paths: string[];
  nodes: LsNode[];
  error?: ToolFailure;
}

/**
 * Walk each path's subtree in xenstore-ls order (depth first, children in the
 * daemon's order), outside any transaction. A node that vanishes during the walk is
 * skipped; any other failure to list one stops the walk there.
 */
export async function lsTree(client: XsClient, paths: readonly string[], withPerms: boolean): Promise<LsResult> {
  const nodes: LsNode[] = [];
  for (const root of paths) {
    let children: string[];
    try {
      children = await client.directory(root);
    } catch (err) {
      return { paths: [...paths], nodes, error: dirFailure(err, root) };
    }
    const error = await lsLevel(client, root, children, 0, withPerms, nodes);
    if (error) return { paths: [...paths], nodes, error };
  }
  return { paths: [...paths], nodes };
}

function dirFailure(err: unknown, path: string): ToolFailure {
  const errno = errnoOf(err);
  return { message: `xs_directory (${path}): ${strerror(errno)}`, path, errno };
}

async function lsLevel(client: XsClient, dir: string, names: readonly string[], depth: number, withPerms: boolean, out: LsNode[]): Promise<ToolFailure | undefined> {
  const base = dir.endsWith('/') ? dir : `${dir}/`;
  // One round trip per directory rather than three per node: ask for every child's
  // value, perms and children at once, then print them in order.
  const fetched = names.map((name) => {
    const path = base + name;
    return {
      name,
      path,
      value: settle(client.read(path)),
      perms: withPerms ? settle(client.getPerms(path)) : null,
      children: settle(client.directory(path)),
    };
  });
  for (const f of fetched) {
    const value = await f.value;
    const node: LsNode = {
      path: f.path,
      name: f.name,
      depth,
      ...(value.ok ? toXsValue(value.value) : { value: null, encoding: 'utf8' as const }),
    };
    if (f.perms) {
      const perms = await f.perms;
      const parsed = perms.ok ? normalisePerms(perms.value) : null;
      node.perms = parsed;
      if (parsed === null) node.permsErrno = perms.ok ? 'EINVAL' : errnoOf(perms.error);
    }
    out.push(node);
    const children = await f.children;
    if (children.ok) {
      const error = await lsLevel(client, f.path, children.value, depth + 1, withPerms, out);
      if (error) return error;
    } else if (errnoOf(children.error) !== 'ENOENT') {
      return dirFailure(children.error, f.path);
    }
  }
  return undefined;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

// ---------------------------------------------------------------- watch

/**
 * Watch each key (the token is the key itself, as xenstore-watch does) and report
 * event paths, starting with the event every new watch fires for its own path.
 * Resolves once `maxEvents` events were reported (never when it is -1); `onEvent`
 * runs synchronously so output keeps the daemon's order. As in the C tool, nothing
 * is reported before every watch is set (a failing one prints no event at all), and
 * the events that arrived meanwhile count.
 */
export async function watchKeys(
  client: XsClient,
  keys: readonly string[],
  maxEvents: number,
  onEvent: (path: string) => void,
): Promise<{ error?: ToolFailure }> {
  let seen = 0;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  // The C loop is `for (count = 0; max == -1 || count < max; count++)`: a max of 0 or
  // below -1 ends before the first event.
  const wanted = (): boolean => maxEvents === -1 || seen < maxEvents;
  let early: string[] | null = [];
  const report = (path: string): void => {
    if (!wanted()) return;
    onEvent(path);
    seen++;
    if (!wanted()) finish();
  };
  // Once enough events were reported, report() ignores the rest; the watches stay until
  // the tool closes its connection, as the C tool's do (it never unwatches).
  const heard = (e: WatchEvent): void => void (early ? early.push(e.path) : report(e.path));
  for (const key of keys) {
    try {
      await client.watch(key, key, heard);
    } catch (err) {
      // The tool's errx format carries its own "\n", so the message ends in an empty line.
      return { error: { message: `Unable to add watch on ${key}\n`, path: key, errno: errnoOf(err) } };
    }
  }
  const queued = early;
  early = null;
  if (!wanted()) finish();
  for (const path of queued) report(path);
  await done;
  return {};
}

// ---------------------------------------------------------------- control

export interface ControlReply {
  /** The reply text up to its first NUL, as xs_control_command's caller sees it. */
  reply: string;
}

export async function control(client: XsClient, command: string, args: readonly string[]): Promise<ControlReply> {
  const text = await client.control([command, ...args]);
  const nul = text.indexOf('\0');
  return { reply: nul < 0 ? text : text.slice(0, nul) };
}
