import { xsFail } from './errors.js';
import { baseName, parentPath } from './path.js';
import { PERM_READ, PERM_WRITE, permits, withOwner, type Access, type Perms } from './perms.js';
import { overLimit, type NodeCounts, type QuotaTable } from './quota.js';
import { lookupNode, Tree, walkTree, XsNode } from './tree.js';

/** Who is asking: the domain behind a connection. */
export interface Caller {
  readonly domid: number;
  /** The domain this one may act for (SET_TARGET), if any. */
  readonly target: number | null;
  /** dom0 and socket clients: no permission checks, no quota but node size. */
  readonly privileged: boolean;
}

/** What a mutation did to one node, for persistence. */
export type Change =
  | { readonly op: 'set'; readonly path: string; readonly value: string; readonly perms: string }
  | { readonly op: 'rm'; readonly path: string };

/**
 * How a transaction depended on a node, checked at commit: NODE means the node's
 * existence, value and permissions; LIST means its existence and set of children.
 */
export const ACCESS_NODE = 1;
export const ACCESS_LIST = 2;

/** Shared counters: node generations and tree epochs (see tree.ts). */
export interface Clocks {
  nextGeneration(): number;
  nextEpoch(): number;
}

/**
 * The store operations, on one tree. The live store is a view whose tree is the
 * current one; a transaction is a view over its snapshot that also records what it
 * depended on. Paths are absolute and already validated.
 */
export class StoreView {
  /** Changes to persist, drained by the owner after each request. */
  changes: Change[] = [];
  /** Whether quota checks apply (off while replaying an already checked transaction). */
  enforceQuota = true;

  constructor(
    readonly tree: Tree,
    readonly counts: NodeCounts,
    private readonly quota: QuotaTable,
    private readonly clocks: Clocks,
    /** Paths this view depended on (transactions only). */
    readonly accessed: Map<string, number> | null = null,
  ) {}

  private touch(path: string, how: number): void {
    if (this.accessed === null) return;
    this.accessed.set(path, (this.accessed.get(path) ?? 0) | how);
  }

  private check(node: XsNode, caller: Caller, access: Access): void {
    if (!caller.privileged && !permits(node.perms, caller.domid, caller.target, access)) {
      xsFail('EACCES', 'permission denied');
    }
  }

  lookup(path: string): XsNode | undefined {
    return this.tree.lookup(path);
  }

  /** A readable node, or ENOENT / EACCES. */
  private readable(caller: Caller, path: string, how: number): XsNode {
    this.touch(path, how);
    const node = this.tree.lookup(path);
    if (node === undefined) xsFail('ENOENT', `${path} does not exist`);
    this.check(node, caller, PERM_READ);
    return node;
  }

  read(caller: Caller, path: string): string {
    return this.readable(caller, path, ACCESS_NODE).value;
  }

  getPerms(caller: Caller, path: string): Perms {
    return this.readable(caller, path, ACCESS_NODE).perms;
  }

  /** The node whose children a DIRECTORY lists. */
  list(caller: Caller, path: string): XsNode {
    return this.readable(caller, path, ACCESS_LIST);
  }

  /**
   * WRITE: set the value, creating the node and any missing parents. New nodes inherit
   * their parent's permissions, except that an unprivileged creator becomes the owner.
   */
  write(caller: Caller, path: string, value: string): void {
    if (this.enforceQuota && overLimit(value.length, this.quota.limit(caller.domid, 'nodeSize'))) {
      xsFail('E2BIG', `value of ${value.length} bytes is over the node size quota`);
    }
    this.touch(path, ACCESS_NODE);
    const node = this.tree.lookup(path);
    if (node !== undefined) {
      this.check(node, caller, PERM_WRITE);
      const own = this.tree.writable(path);
      own.value = value;
      own.gen = this.clocks.nextGeneration();
      this.recordSet(path, own);
      return;
    }
    this.create(caller, path, value);
  }

  /** MKDIR: create the node (and parents) with an empty value; true if it was created. */
  mkdir(caller: Caller, path: string): boolean {
    this.touch(path, ACCESS_NODE);
    const node = this.tree.lookup(path);
    if (node !== undefined) {
      // oxenstored checks write access even when there is nothing to do.
      this.check(node, caller, PERM_WRITE);
      return false;
    }
    this.create(caller, path, '');
    return true;
  }

  private create(caller: Caller, path: string, value: string): void {
    // Find the deepest existing ancestor; everything below it is created.
    const missing: string[] = [path];
    let anchorPath = parentPath(path);
    let anchor = this.tree.lookup(anchorPath);
    while (anchor === undefined) {
      missing.push(anchorPath);
      this.touch(anchorPath, ACCESS_NODE);
      anchorPath = parentPath(anchorPath);
      anchor = this.tree.lookup(anchorPath);
    }
    this.touch(anchorPath, ACCESS_NODE);
    this.check(anchor, caller, PERM_WRITE);

    const perms = caller.privileged ? anchor.perms : withOwner(anchor.perms, caller.domid);
    if (this.enforceQuota && !caller.privileged) {
      const limit = this.quota.limit(caller.domid, 'nodes');
      if (overLimit(this.counts.get(perms.owner) + missing.length, limit)) {
        xsFail('EQUOTA', `domain ${caller.domid} is over its node quota`);
      }
    }

    let parent = this.tree.writable(anchorPath);
    for (let i = missing.length - 1; i >= 0; i--) {
      const childPath = missing[i]!;
      const gen = this.clocks.nextGeneration();
      const child = new XsNode(i === 0 ? value : '', perms, null, gen, gen, this.tree.epoch);
      this.tree.addChild(parent, baseName(childPath), child, gen);
      this.recordSet(childPath, child);
      parent = child;
    }
    this.counts.add(perms.owner, missing.length);
  }

  /**
   * RM: delete the node and everything below it; false if it did not exist (which is
   * fine when its parent exists, and ENOENT when the parent is missing too).
   * Removing '/' removes all of its children, as oxenstored does.
   */
  rm(caller: Caller, path: string): boolean {
    const node = this.tree.lookup(path);
    if (node === undefined) {
      this.touch(path, ACCESS_NODE);
      const parent = parentPath(path);
      this.touch(parent, ACCESS_NODE);
      if (this.tree.lookup(parent) === undefined) xsFail('ENOENT', `${parent} does not exist`);
      return false;
    }
    this.check(node, caller, PERM_WRITE);
    // The removal depends on the whole subtree staying as it was.
    walkTree(node, path, (p, n) => {
      this.touch(p, ACCESS_NODE | ACCESS_LIST);
      if (n !== this.tree.root) this.counts.add(n.perms.owner, -1);
    });
    const gen = this.clocks.nextGeneration();
    if (path === '/') {
      const root = this.tree.writable('/');
      for (const name of [...(root.children?.keys() ?? [])]) this.tree.removeChild(root, name, gen);
    } else {
      this.tree.removeChild(this.tree.writable(parentPath(path)), baseName(path), gen);
    }
    this.changes.push({ op: 'rm', path });
    return true;
  }

  /**
   * SET_PERMS: only the owner (or a privileged caller) with write access may change a
   * node's permissions, and only a privileged caller may give the node away.
   */
  setPerms(caller: Caller, path: string, perms: Perms): void {
    this.touch(path, ACCESS_NODE);
    const node = this.tree.lookup(path);
    if (node === undefined) xsFail('ENOENT', `${path} does not exist`);
    if (!caller.privileged) {
      const owner = node.perms.owner;
      if (owner !== caller.domid && owner !== caller.target) xsFail('EACCES', 'only the owner may change permissions');
      this.check(node, caller, PERM_WRITE);
      if (perms.owner !== owner) xsFail('EACCES', 'only a privileged domain may change the owner');
      if (this.enforceQuota && overLimit(perms.acl.length + 1, this.quota.limit(caller.domid, 'permissions'))) {
        xsFail('ENOSPC', 'too many permission entries');
      }
    }
    const own = this.tree.writable(path);
    if (path !== '/') {
      this.counts.add(own.perms.owner, -1);
      this.counts.add(perms.owner, 1);
    }
    own.perms = perms;
    own.gen = this.clocks.nextGeneration();
    this.recordSet(path, own);
  }

  private recordSet(path: string, node: XsNode): void {
    this.changes.push({ op: 'set', path, value: node.value, perms: node.perms.text });
  }
}

/** A recorded transaction operation, replayed on the live tree at commit if needed. */
export type TxOp =
  | { readonly kind: 'write'; readonly path: string; readonly value: string }
  | { readonly kind: 'mkdir'; readonly path: string }
  | { readonly kind: 'rm'; readonly path: string }
  | { readonly kind: 'setperms'; readonly path: string; readonly perms: Perms };

/** True if the node at `path` differs between two roots in a way `how` cares about. */
export function accessChanged(before: XsNode, after: XsNode, path: string, how: number): boolean {
  const a = lookupNode(before, path);
  const b = lookupNode(after, path);
  if (a === undefined || b === undefined) return a !== b;
  if (a === b) return false;
  if ((how & ACCESS_NODE) !== 0 && a.gen !== b.gen) return true;
  if ((how & ACCESS_LIST) !== 0 && a.cgen !== b.cgen) return true;
  return false;
}

/** Apply one recorded operation to a view; returns whether it changed anything. */
export function applyOp(view: StoreView, caller: Caller, op: TxOp): boolean {
  switch (op.kind) {
    case 'write':
      view.write(caller, op.path, op.value);
      return true;
    case 'mkdir':
      return view.mkdir(caller, op.path);
    case 'rm':
      return view.rm(caller, op.path);
    case 'setperms':
      view.setPerms(caller, op.path, op.perms);
      return true;
  }
}
