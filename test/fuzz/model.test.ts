/**
 * Model check: after any sequence of dom0 READ/WRITE/MKDIR/RM/DIRECTORY requests, some
 * of them in transactions that commit, abort or conflict, the store equals a plain
 * Map of path → value, and every reply is the one the map predicts. A transaction's
 * operations reach the map only if its commit said OK.
 */
import assert from 'node:assert/strict';
import test from 'ava';
import fc from 'fast-check';
import { XsType } from '../../src/protocol/xs-wire.js';
import { EngineClient, newEngine } from '../helpers/engine.js';

const ROOT = '/m';

type Op =
  | { kind: 'write'; path: string; value: string }
  | { kind: 'mkdir' | 'rm' | 'read' | 'dir'; path: string };

/** The reference: a map of every node below ROOT (ROOT itself always exists). */
class MapModel {
  constructor(readonly nodes = new Map<string, string>([[ROOT, '']])) {}

  clone(): MapModel {
    return new MapModel(new Map(this.nodes));
  }

  private create(path: string, value: string): void {
    const names = path.slice(ROOT.length + 1).split('/');
    let p = ROOT;
    for (const [i, n] of names.entries()) {
      p = `${p}/${n}`;
      if (!this.nodes.has(p)) this.nodes.set(p, i === names.length - 1 ? value : '');
    }
    this.nodes.set(path, value);
  }

  /** The reply the engine must give (as EngineClient.ask shows it). */
  apply(op: Op): string {
    const parent = op.path.slice(0, op.path.lastIndexOf('/'));
    switch (op.kind) {
      case 'write':
        this.create(op.path, op.value);
        return 'OK\0';
      case 'mkdir':
        if (!this.nodes.has(op.path)) this.create(op.path, '');
        return 'OK\0';
      case 'rm':
        if (!this.nodes.has(op.path)) return this.nodes.has(parent) ? 'OK\0' : 'ERROR:ENOENT';
        for (const p of [...this.nodes.keys()]) if (p === op.path || p.startsWith(`${op.path}/`)) this.nodes.delete(p);
        return 'OK\0';
      case 'read':
        return this.nodes.get(op.path) ?? 'ERROR:ENOENT';
      case 'dir': {
        if (!this.nodes.has(op.path)) return 'ERROR:ENOENT';
        const prefix = `${op.path}/`;
        const names = [...this.nodes.keys()].filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes('/')).map((p) => p.slice(prefix.length));
        return names.sort().map((n) => `${n}\0`).join('');
      }
    }
  }
}

function send(c: EngineClient, op: Op, tx: number): string {
  const types = { write: XsType.WRITE, mkdir: XsType.MKDIR, rm: XsType.RM, read: XsType.READ, dir: XsType.DIRECTORY } as const;
  const payload = op.kind === 'write' ? `${op.path}\0${op.value}` : `${op.path}\0`;
  return c.ask(types[op.kind], payload, tx);
}

const pathArb = fc
  .array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 3 })
  .map((names) => `${ROOT}/${names.join('/')}`);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('write' as const), path: pathArb, value: fc.constantFrom('', 'v', 'w\0x', '\xff') }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constantFrom('mkdir' as const, 'rm' as const), path: pathArb }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constantFrom('read' as const, 'dir' as const), path: pathArb }), weight: 3 },
);

/** A step: a plain request, or a transaction (its ops, interleaved outside ops, its verdict). */
const stepArb = fc.oneof(
  { arbitrary: fc.record({ plain: opArb }), weight: 3 },
  {
    arbitrary: fc.record({
      inside: fc.array(opArb, { minLength: 1, maxLength: 6 }),
      outside: fc.array(opArb, { maxLength: 2 }),
      commit: fc.nat(3).map((n) => n > 0),
    }),
    weight: 1,
  },
);

test('model: dom0 READ/WRITE/MKDIR/RM/DIRECTORY agree with a Map, transactions included', (t) => {
  fc.assert(
    fc.property(fc.array(stepArb, { minLength: 1, maxLength: 40 }), (steps) => {
      const xs = newEngine();
      const a = new EngineClient(xs);
      const b = new EngineClient(xs);
      a.ask(XsType.MKDIR, `${ROOT}\0`);
      let model = new MapModel();
      for (const step of steps) {
        if ('plain' in step) {
          assert.equal(send(a, step.plain, 0), model.apply(step.plain), `${step.plain.kind} ${step.plain.path}`);
          continue;
        }
        const tx = a.start();
        const view = model.clone();
        for (const op of step.inside) assert.equal(send(a, op, tx), view.apply(op), `in tx: ${op.kind} ${op.path}`);
        let outsideChanged = false;
        for (const op of step.outside) {
          const before = model.clone();
          assert.equal(send(b, op, 0), model.apply(op), `outside: ${op.kind} ${op.path}`);
          outsideChanged ||= op.kind === 'write' || op.kind === 'mkdir' ? true : op.kind === 'rm' && before.nodes.has(op.path);
        }
        const verdict = a.end(tx, step.commit);
        if (!step.commit) assert.equal(verdict, 'OK\0');
        else if (!outsideChanged) assert.equal(verdict, 'OK\0', 'nothing changed outside: the commit succeeds');
        else assert.ok(verdict === 'OK\0' || verdict === 'ERROR:EAGAIN', `commit: ${verdict}`);
        if (step.commit && verdict === 'OK\0') {
          // Committed: the transaction's writes land on the current store.
          for (const op of step.inside) if (op.kind !== 'read' && op.kind !== 'dir') model.apply(op);
          // The result must equal the transaction's own view when nothing else changed.
          if (!outsideChanged) assert.deepEqual([...model.nodes].sort(), [...view.nodes].sort());
        }
        model = model.clone();
      }
      // The whole store below ROOT, from the engine's own dump.
      const dump = xs.db
        .dump()
        .filter((r) => r.path === ROOT || r.path.startsWith(`${ROOT}/`))
        .map((r): [string, string] => [r.path, r.value]);
      assert.deepEqual(dump.sort(), [...model.nodes].sort());
      assert.ok(xs.db.verifyCounts());
      assert.equal(a.conn.transactions.size, 0);
    }),
    { seed: 0xabcdef, numRuns: 500 },
  );
  t.pass();
});
