import type { Perms } from './perms.js';

/**
 * The node tree, persistent where it has to be and mutable where it can be.
 *
 * A transaction needs the store as it was when the transaction started, and starting
 * one must cost O(1). So nodes are shared between the live tree and every open
 * snapshot, and nobody may change a shared node: a writer copies the nodes on the way
 * from the root to what it changes (path copying) and links the copies in.
 *
 * Copying on every write would make the common case (no transaction open) pay for the
 * rare one, so each tree has an `epoch` and each node records the epoch of the tree
 * that created it. A tree may change its own nodes in place. Taking a snapshot moves
 * the live tree to a fresh epoch, which turns every existing node into a shared one at
 * once; the first write after that copies its path and later writes there are in place
 * again. (Clojure's transients use the same idea.)
 *
 * Each node carries two generations, drawn from one counter shared by all trees:
 * `gen` changes when the node's own value or permissions change or it is created, and
 * `cgen` changes when its set of children does. A transaction's commit compares them
 * between its snapshot and the live tree to find conflicts.
 */
export class XsNode {
  constructor(
    /** The value's bytes as a latin1 string: one byte per char, compact in V8. */
    public value: string,
    public perms: Perms,
    public children: Map<string, XsNode> | null,
    public gen: number,
    public cgen: number,
    public epoch: number,
    /** Child names in byte order, or null until someone lists them. */
    public sorted: string[] | null = null,
  ) {}

  get childCount(): number {
    return this.children === null ? 0 : this.children.size;
  }

  /** Child names in byte order (what oxenstored returns for DIRECTORY). */
  sortedNames(): string[] {
    if (this.sorted === null) {
      // Node names are ASCII, so UTF-16 order is byte order.
      this.sorted = this.children === null ? [] : [...this.children.keys()].sort();
    }
    return this.sorted;
  }
}

/** Call `visit` for `node` and every node below it, depth first, with absolute paths. */
export function walkTree(node: XsNode, path: string, visit: (path: string, node: XsNode) => void): void {
  visit(path, node);
  if (node.children === null) return;
  const prefix = path === '/' ? '/' : `${path}/`;
  for (const [name, child] of node.children) walkTree(child, prefix + name, visit);
}

/** The node at an absolute, validated path, or undefined. Allocates no arrays. */
export function lookupNode(root: XsNode, path: string): XsNode | undefined {
  if (path.length === 1) return root;
  let node: XsNode | undefined = root;
  let start = 1;
  for (;;) {
    const end = path.indexOf('/', start);
    const name = end < 0 ? path.slice(start) : path.slice(start, end);
    node = node.children?.get(name);
    if (node === undefined || end < 0) return node;
    start = end + 1;
  }
}

/** A tree that owns the nodes stamped with its epoch and copies all others before writing. */
export class Tree {
  constructor(
    public root: XsNode,
    public epoch: number,
  ) {}

  lookup(path: string): XsNode | undefined {
    return lookupNode(this.root, path);
  }

  /** A node this tree may change: `node` itself if it owns it, else a copy. */
  private own(node: XsNode): XsNode {
    if (node.epoch === this.epoch) return node;
    return new XsNode(
      node.value,
      node.perms,
      node.children === null ? null : new Map(node.children),
      node.gen,
      node.cgen,
      this.epoch,
      node.sorted,
    );
  }

  /**
   * The node at `path` made writable, with every ancestor made writable and relinked.
   * The path must exist.
   */
  writable(path: string): XsNode {
    let node = (this.root = this.own(this.root));
    if (path.length === 1) return node;
    let start = 1;
    for (;;) {
      const end = path.indexOf('/', start);
      const name = end < 0 ? path.slice(start) : path.slice(start, end);
      const child = node.children?.get(name);
      if (child === undefined) throw new Error(`xenstore tree: ${path} does not exist`);
      const owned = this.own(child);
      if (owned !== child) node.children!.set(name, owned);
      node = owned;
      if (end < 0) return node;
      start = end + 1;
    }
  }

  /** Link a new child under a writable parent. */
  addChild(parent: XsNode, name: string, child: XsNode, gen: number): void {
    if (parent.children === null) parent.children = new Map();
    parent.children.set(name, child);
    parent.sorted = null;
    parent.cgen = gen;
  }

  /** Unlink a child from a writable parent. */
  removeChild(parent: XsNode, name: string, gen: number): void {
    parent.children!.delete(name);
    if (parent.children!.size === 0) parent.children = null;
    parent.sorted = null;
    parent.cgen = gen;
  }
}
