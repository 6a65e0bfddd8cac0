import { DEFAULT_PERMS, permsFromText, type Perms } from './perms.js';
import { DeltaCounts, OwnerCounts, type QuotaTable } from './quota.js';
import { accessChanged, applyOp, StoreView, type Caller, type Change, type Clocks, type TxOp } from './store.js';
import { Tree, walkTree, XsNode } from './tree.js';
import { baseName, parentPath } from './path.js';

/** A transaction: a private view over the store as it was at TRANSACTION_START. */
export class Transaction {
  readonly ops: TxOp[] = [];

  constructor(
    readonly id: number,
    /** The live root when the transaction started. */
    readonly base: XsNode,
    readonly view: StoreView,
  ) {}
}

/** One node to load: what the persistence layer stores per node. */
export interface NodeRecord {
  path: string;
  value: string;
  perms: string;
}

/**
 * The live store and its transactions.
 *
 * Commit rule (C xenstored's generation rule, made exact): a commit fails with EAGAIN
 * when a node the transaction read or wrote, or a directory it listed, changed in the
 * live store after the transaction started. Reads come from the snapshot, so a
 * transaction always sees one consistent state. When nothing at all changed since the
 * start, the transaction's tree simply becomes the live tree; otherwise its recorded
 * operations are replayed on a copy-on-write of the live tree, which cannot diverge
 * from what the transaction saw because everything it depended on is unchanged.
 */
export class Database implements Clocks {
  private generation = 0;
  private epoch = 0;
  readonly counts = new OwnerCounts();
  readonly live: StoreView;
  /** The live root as of the last snapshot: if it is still current, no write happened since. */
  private frozenRoot: XsNode | null = null;

  constructor(private readonly quota: QuotaTable) {
    const root = new XsNode('', DEFAULT_PERMS, null, 0, 0, this.nextEpoch());
    this.live = new StoreView(new Tree(root, root.epoch), this.counts, quota, this);
  }

  nextGeneration(): number {
    return ++this.generation;
  }

  nextEpoch(): number {
    return ++this.epoch;
  }

  get root(): XsNode {
    return this.live.tree.root;
  }

  /** The live root, frozen: later writes to the live tree copy rather than change it. */
  snapshot(): XsNode {
    const tree = this.live.tree;
    if (tree.root !== this.frozenRoot) {
      tree.epoch = this.nextEpoch();
      this.frozenRoot = tree.root;
    }
    return tree.root;
  }

  begin(id: number): Transaction {
    const base = this.snapshot();
    const view = new StoreView(new Tree(base, this.nextEpoch()), new DeltaCounts(this.counts), this.quota, this, new Map());
    return new Transaction(id, base, view);
  }

  /** Nodes a transaction depends on (for the transaction-nodes quota). */
  touched(tx: Transaction): number {
    return tx.view.accessed!.size;
  }

  /** Commit; false means a conflict (EAGAIN) and nothing was changed. */
  commit(tx: Transaction, caller: Caller): boolean {
    const live = this.live.tree.root;
    if (live !== tx.base) {
      for (const [path, how] of tx.view.accessed!) {
        if (accessChanged(tx.base, live, path, how)) return false;
      }
    }
    if (tx.ops.length === 0) return true;
    let result: StoreView;
    if (live === tx.base) {
      result = tx.view;
    } else {
      const tree = new Tree(this.snapshot(), this.nextEpoch());
      result = new StoreView(tree, new DeltaCounts(this.counts), this.quota, this);
      result.enforceQuota = false;
      for (const op of tx.ops) applyOp(result, caller, op);
    }
    // The committed tree becomes the live one; the live view owns its nodes from now on.
    this.live.tree.root = result.tree.root;
    this.live.tree.epoch = result.tree.epoch;
    (result.counts as DeltaCounts).applyTo(this.counts);
    for (const change of result.changes) this.live.changes.push(change);
    return true;
  }

  /** Drain the changes made to the live store since the last call. */
  takeChanges(): Change[] {
    const changes = this.live.changes;
    // Most requests change nothing: keep the empty array rather than allocate one.
    if (changes.length > 0) this.live.changes = [];
    return changes;
  }

  /**
   * Replace the whole store with loaded records (parents before children, as a sorted
   * path order gives). Used at start-up, before any client connects.
   */
  load(records: Iterable<NodeRecord>): void {
    const epoch = this.live.tree.epoch;
    const root = this.live.tree.root;
    root.children = null;
    root.sorted = null;
    let last: { path: string; node: XsNode } = { path: '/', node: root };
    let perms: Perms = DEFAULT_PERMS;
    for (const r of records) {
      if (perms.text !== r.perms) perms = permsFromText(r.perms);
      if (r.path === '/') {
        root.value = r.value;
        root.perms = perms;
        continue;
      }
      const parentOfR = parentPath(r.path);
      const parent = parentOfR === last.path ? last.node : this.live.tree.lookup(parentOfR);
      if (parent === undefined) throw new Error(`store load: ${r.path} has no parent`);
      const node = new XsNode(r.value, perms, null, 0, 0, epoch);
      if (parent.children === null) parent.children = new Map();
      parent.children.set(baseName(r.path), node);
      parent.sorted = null;
      this.counts.add(perms.owner, 1);
      last = { path: r.path, node };
    }
  }

  /** Every node, parents first (for dumps, compaction and checks). */
  dump(): NodeRecord[] {
    const out: NodeRecord[] = [];
    walkTree(this.root, '/', (path, node) => out.push({ path, value: node.value, perms: node.perms.text }));
    return out;
  }

  /** Recount node owners from the tree; returns whether the running counts were right. */
  verifyCounts(): boolean {
    const fresh = new OwnerCounts();
    walkTree(this.root, '/', (path, node) => {
      if (path !== '/') fresh.add(node.perms.owner, 1);
    });
    return fresh.equals(this.counts);
  }
}
