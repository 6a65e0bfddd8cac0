/**
 * The commit rule: "EAGAIN exactly when a node the transaction read or wrote, or a
 * directory it listed, changed since the transaction started" (per-node generations,
 * snapshot reads). The rows pin the named cases; the property below checks the rule
 * exactly against a small model; the last tests run libxl-like device creation
 * concurrently with a retry loop.
 */
import test from 'ava';
import fc from 'fast-check';
import { XsType } from '../../src/protocol/xs-wire.js';
import { EngineClient, newEngine } from '../helpers/engine.js';
import { registerGroups } from '../helpers/register-rows.js';
import { commitRuleGroups } from './tables/transactions.js';

registerGroups(test, commitRuleGroups, 'commit');

// ---------------------------------------------------------------- a model of the rule

interface ModelNode {
  value: string;
  /** Bumped when the node is created or its value or perms are set. */
  gen: number;
  /** Bumped when the node is created or a child is added or removed. */
  cgen: number;
}

const NODE = 1;
const LIST = 2;

function parentOf(p: string): string {
  return p.slice(0, p.lastIndexOf('/')) || '/';
}

/** A store as a map of path → node, with generations drawn from a shared clock. */
class Model {
  constructor(
    readonly nodes: Map<string, ModelNode>,
    private readonly clock: { now: number },
  ) {}

  clone(): Model {
    return new Model(new Map([...this.nodes].map(([k, v]) => [k, { ...v }])), this.clock);
  }

  private tick(): number {
    return ++this.clock.now;
  }

  /** Missing ancestors of `p` from the top down, and the deepest existing one. */
  private missing(p: string): { create: string[]; anchor: string } {
    const create: string[] = [];
    let q = p;
    while (!this.nodes.has(q)) {
      create.unshift(q);
      q = parentOf(q);
    }
    return { create, anchor: q };
  }

  /** The paths (and how) the engine records as touched by an operation, before it runs. */
  touches(op: Op): Array<[string, number]> {
    switch (op.kind) {
      case 'read':
      case 'setperms':
        return [[op.path, NODE]];
      case 'list':
        return [[op.path, LIST]];
      case 'write':
      case 'mkdir': {
        if (this.nodes.has(op.path)) return [[op.path, NODE]];
        const { create, anchor } = this.missing(op.path);
        return [...create.map((p): [string, number] => [p, NODE]), [anchor, NODE]];
      }
      case 'rm': {
        if (!this.nodes.has(op.path)) return [[op.path, NODE], [parentOf(op.path), NODE]];
        return [...this.nodes.keys()].filter((p) => p === op.path || p.startsWith(`${op.path}/`)).map((p): [string, number] => [p, NODE | LIST]);
      }
    }
  }

  /** Apply an operation; returns the errno the engine should answer, or null. */
  apply(op: Op): string | null {
    const node = this.nodes.get(op.path);
    switch (op.kind) {
      case 'read':
      case 'list':
        return node === undefined ? 'ENOENT' : null;
      case 'setperms':
        if (node === undefined) return 'ENOENT';
        node.gen = this.tick();
        return null;
      case 'mkdir':
      case 'write': {
        if (node !== undefined) {
          if (op.kind === 'write') {
            node.value = op.value;
            node.gen = this.tick();
          }
          return null;
        }
        const { create, anchor } = this.missing(op.path);
        let parent = this.nodes.get(anchor)!;
        for (const [i, p] of create.entries()) {
          const g = this.tick();
          const child = { value: i === create.length - 1 && op.kind === 'write' ? op.value : '', gen: g, cgen: g };
          this.nodes.set(p, child);
          parent.cgen = g;
          parent = child;
        }
        return null;
      }
      case 'rm': {
        if (node === undefined) return this.nodes.has(parentOf(op.path)) ? null : 'ENOENT';
        for (const p of [...this.nodes.keys()]) if (p === op.path || p.startsWith(`${op.path}/`)) this.nodes.delete(p);
        this.nodes.get(parentOf(op.path))!.cgen = this.tick();
        return null;
      }
    }
  }
}

type Op =
  | { kind: 'read' | 'list' | 'rm' | 'setperms' | 'mkdir'; path: string }
  | { kind: 'write'; path: string; value: string };

const PATHS = ['/r/a', '/r/a/b', '/r/a/b/c', '/r/a/f', '/r/d', '/r/d/e'];
const pathArb = fc.constantFrom(...PATHS);
const txOpArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constantFrom('read' as const, 'list' as const), path: pathArb }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constantFrom('rm' as const, 'setperms' as const, 'mkdir' as const), path: pathArb }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('write' as const), path: pathArb, value: fc.constantFrom('x', 'y', '') }), weight: 2 },
);
const outsideOpArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom('rm' as const, 'setperms' as const, 'mkdir' as const), path: pathArb }),
  fc.record({ kind: fc.constant('write' as const), path: pathArb, value: fc.constantFrom('x', 'z') }),
);

function send(c: EngineClient, op: Op, tx: number): string {
  switch (op.kind) {
    case 'read':
      return c.ask(XsType.READ, `${op.path}\0`, tx);
    case 'list':
      return c.ask(XsType.DIRECTORY, `${op.path}\0`, tx);
    case 'rm':
      return c.ask(XsType.RM, `${op.path}\0`, tx);
    case 'mkdir':
      return c.ask(XsType.MKDIR, `${op.path}\0`, tx);
    case 'setperms':
      return c.ask(XsType.SET_PERMS, `${op.path}\0n0\0`, tx);
    case 'write':
      return c.write(op.path, op.value, tx);
  }
}

test('commit rule: EAGAIN exactly when a touched node changed (model check)', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ path: pathArb, value: fc.constantFrom('0', '1') }), { maxLength: 6 }),
      fc.array(fc.record({ inside: fc.boolean(), tx: txOpArb, out: outsideOpArb }), { minLength: 1, maxLength: 8 }),
      fc.nat(4).map((n) => n === 0),
      (setup, steps, abort) => {
        const xs = newEngine();
        const a = new EngineClient(xs);
        const b = new EngineClient(xs);
        const clock = { now: 0 };
        const live = new Model(new Map([['/r', { value: '', gen: 0, cgen: 0 }]]), clock);
        a.write('/r', '');
        for (const s of setup) {
          a.write(s.path, s.value);
          live.apply({ kind: 'write', path: s.path, value: s.value });
        }
        const start = live.clone();
        const view = live.clone();
        const touched = new Map<string, number>();
        const txOps: Op[] = [];
        const tx = a.start();
        for (const step of steps) {
          if (step.inside) {
            for (const [p, how] of view.touches(step.tx)) touched.set(p, (touched.get(p) ?? 0) | how);
            const err = view.apply(step.tx);
            const got = send(a, step.tx, tx);
            if (err !== null) {
              if (got !== `ERROR:${err}`) return false;
            } else {
              if (got.startsWith('ERROR:')) return false;
              txOps.push(step.tx);
            }
          } else {
            const err = live.apply(step.out);
            const got = send(b, step.out, 0);
            if ((err === null) !== !got.startsWith('ERROR:')) return false;
          }
        }
        let conflict = false;
        for (const [p, how] of touched) {
          const s = start.nodes.get(p);
          const l = live.nodes.get(p);
          if ((s === undefined) !== (l === undefined)) conflict = true;
          else if (s !== undefined && l !== undefined && (((how & NODE) !== 0 && s.gen !== l.gen) || ((how & LIST) !== 0 && s.cgen !== l.cgen))) conflict = true;
        }
        const end = a.end(tx, !abort);
        const want = abort ? 'OK\0' : conflict ? 'ERROR:EAGAIN' : 'OK\0';
        if (end !== want) throw new Error(`commit answered ${end}, the rule says ${want}`);
        if (!abort && !conflict) for (const op of txOps) live.apply(op);
        for (const p of PATHS) {
          const node = live.nodes.get(p);
          const got = a.read(p);
          if (got !== (node === undefined ? 'ERROR:ENOENT' : node.value)) throw new Error(`${p}: store has ${got}, model ${node?.value}`);
        }
        return xs.db.verifyCounts() && [...a.conn.transactions.keys()].length === 0;
      },
    ),
    { seed: 20241126, numRuns: 600 },
  );
  t.pass();
});

test('commit rule: transactions on disjoint subtrees never conflict, whatever the interleaving', (t) => {
  const opsIn = (root: string) =>
    fc.array(
      fc.oneof(
        fc.record({ kind: fc.constantFrom('read' as const, 'list' as const, 'rm' as const, 'mkdir' as const), path: fc.constantFrom(`${root}/a`, `${root}/a/b`, `${root}/c`) }),
        fc.record({ kind: fc.constant('write' as const), path: fc.constantFrom(`${root}/a`, `${root}/a/b`, `${root}/c`), value: fc.constant('v') }),
      ),
      { maxLength: 6 },
    );
  fc.assert(
    fc.property(opsIn('/p1'), opsIn('/p2'), opsIn('/p3'), fc.array(fc.nat(2), { maxLength: 18 }), (ops1, ops2, outside, order) => {
      const xs = newEngine();
      const c1 = new EngineClient(xs);
      const c2 = new EngineClient(xs);
      const c3 = new EngineClient(xs);
      for (const r of ['/p1', '/p2', '/p3']) c1.write(r, '');
      const t1 = c1.start();
      const t2 = c2.start();
      const queues: Array<[EngineClient, Op[], number]> = [[c1, [...ops1], t1], [c2, [...ops2], t2], [c3, [...outside], 0]];
      for (const who of [...order, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]) {
        const [c, q, tx] = queues[who]!;
        const op = q.shift();
        if (op) send(c, op, tx);
      }
      for (const [c, q, tx] of queues) for (const op of q) send(c, op, tx);
      return c1.end(t1) === 'OK\0' && c2.end(t2) === 'OK\0' && xs.db.verifyCounts();
    }),
    { seed: 7, numRuns: 200 },
  );
  t.pass();
});

// ---------------------------------------------------------------- device creation

/** The nodes libxl writes for one vif: frontend dir, backend dir, /libxl bookkeeping. */
function deviceWrites(fe: number, devid: number): Array<[string, string]> {
  const front = `/local/domain/${fe}/device/vif/${devid}`;
  const back = `/local/domain/0/backend/vif/${fe}/${devid}`;
  return [
    [`${front}/backend`, back],
    [`${front}/backend-id`, '0'],
    [`${front}/state`, '1'],
    [`${front}/handle`, String(devid)],
    [`${back}/frontend`, front],
    [`${back}/frontend-id`, String(fe)],
    [`${back}/online`, '1'],
    [`${back}/state`, '1'],
    [`/libxl/${fe}/device/vif/${devid}/frontend`, front],
    [`/libxl/${fe}/device/vif/${devid}/backend`, back],
  ];
}

/**
 * One toolstack connection adding a device: each step is one request, so a scheduler
 * can interleave several of them. Like libxl it reads what exists first (the backend
 * directory of its domain), writes, commits, and starts over on EAGAIN.
 */
class DeviceAdder {
  private step = 0;
  private tx = 0;
  attempts = 0;
  done = false;
  private readonly plan: Array<() => void>;

  constructor(
    readonly c: EngineClient,
    fe: number,
    devid: number,
  ) {
    const writes = deviceWrites(fe, devid);
    this.plan = [
      () => {
        this.tx = this.c.start();
        this.attempts++;
      },
      () => {
        const r = this.c.ask(XsType.DIRECTORY, `/local/domain/0/backend/vif/${fe}\0`, this.tx);
        if (r !== 'ERROR:ENOENT' && r.startsWith('ERROR:')) throw new Error(r);
      },
      ...writes.map(([p, v]) => () => {
        const r = this.c.write(p, v, this.tx);
        if (r !== 'OK\0') throw new Error(`${p}: ${r}`);
      }),
      () => {
        const r = this.c.end(this.tx);
        if (r === 'OK\0') this.done = true;
        else if (r === 'ERROR:EAGAIN') this.step = -1;
        else throw new Error(`commit: ${r}`);
      },
    ];
  }

  /** Run the next request; false when finished. */
  tick(): boolean {
    if (this.done) return false;
    this.plan[this.step]!();
    this.step++;
    return !this.done;
  }
}

function checkDevices(t: import('ava').ExecutionContext, c: EngineClient, fes: number[]): void {
  for (const fe of fes) {
    for (const [p, v] of deviceWrites(fe, 0)) t.is(c.read(p), v, p);
  }
  t.deepEqual(c.dir('/local/domain/0/backend/vif'), fes.map(String).sort());
}

test('device creation: lock-step transactions under missing shared parents each retry at most once', (t) => {
  const xs = newEngine();
  const fes = [11, 12, 13, 14, 15, 16, 17, 18];
  const adders = fes.map((fe) => new DeviceAdder(new EngineClient(xs), fe, 0));
  for (let round = 0; round < 100 && adders.some((a) => !a.done); round++) {
    for (const a of adders) a.tick();
  }
  t.true(adders.every((a) => a.done));
  t.true(adders.every((a) => a.attempts <= 2), `attempts: ${adders.map((a) => a.attempts).join(',')}`);
  checkDevices(t, adders[0]!.c, fes);
  t.true(xs.db.verifyCounts());
  t.is(xs.conflicts, adders.reduce((n, a) => n + a.attempts - 1, 0));
});

test('device creation: with the shared parents in place, no transaction conflicts', (t) => {
  const xs = newEngine();
  const setup = new EngineClient(xs);
  setup.ask(XsType.MKDIR, '/local/domain/0/backend/vif\0');
  setup.ask(XsType.MKDIR, '/libxl\0');
  const fes = [21, 22, 23, 24, 25, 26];
  for (const fe of fes) setup.ask(XsType.MKDIR, `/local/domain/${fe}\0`);
  const adders = fes.map((fe) => new DeviceAdder(new EngineClient(xs), fe, 0));
  for (let round = 0; round < 100 && adders.some((a) => !a.done); round++) for (const a of adders) a.tick();
  t.true(adders.every((a) => a.done && a.attempts === 1), `attempts: ${adders.map((a) => a.attempts).join(',')}`);
  t.is(xs.conflicts, 0);
  checkDevices(t, setup, fes);
});

test('device creation: random interleavings always finish (no livelock)', (t) => {
  fc.assert(
    fc.property(fc.array(fc.nat(9), { minLength: 50, maxLength: 400 }), fc.integer({ min: 2, max: 10 }), (schedule, n) => {
      const xs = newEngine();
      const fes = Array.from({ length: n }, (_, i) => 100 + i);
      const adders = fes.map((fe) => new DeviceAdder(new EngineClient(xs), fe, 0));
      const outsider = new EngineClient(xs);
      let steps = 0;
      for (const pick of schedule) {
        if (pick >= n) {
          // Unrelated traffic: a guest-side write somewhere else.
          outsider.write(`/local/domain/${100 + (pick % n)}/data/counter`, String(steps));
          continue;
        }
        adders[pick]!.tick();
        steps++;
      }
      // Then round-robin until everyone is done; bounded, or it is a livelock.
      for (let round = 0; round < 50 * n && adders.some((a) => !a.done); round++) for (const a of adders) a.tick();
      if (!adders.every((a) => a.done)) return false;
      if (adders.some((a) => a.attempts > n + 1)) return false;
      const list = outsider.dir('/local/domain/0/backend/vif');
      return list.length === n && xs.db.verifyCounts();
    }),
    { seed: 4242, numRuns: 120 },
  );
  t.pass();
});
