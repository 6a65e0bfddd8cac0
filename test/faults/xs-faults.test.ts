import test from 'ava';
import { VirtualClock } from '../../src/hypervisor/clock.js';
import { FaultRegistry, type FaultSpec } from '../../src/faults/registry.js';
import { XsFaults } from '../../src/faults/xs-faults.js';
import { XsType } from '../../src/protocol/xs-wire.js';
import type { XenStored } from '../../src/xenstore/xenstored.js';
import { EngineClient, newEngine } from '../helpers/engine.js';

const MS = 1e6;

interface Rig {
  xs: XenStored;
  clock: VirtualClock;
  faults: FaultRegistry;
  log: string[];
  add(spec: Partial<FaultSpec> & Pick<FaultSpec, 'kind'>): number;
}

/** xenstored with the fault hooks on a virtual clock, dom0's tree and domain 5's home. */
function rig(): Rig {
  const clock = new VirtualClock();
  const log: string[] = [];
  const faults = new FaultRegistry(clock, (l) => log.push(l));
  const xs: XenStored = newEngine({ faults: new XsFaults(faults, clock, () => xs.quota) });
  const dom0 = new EngineClient(xs);
  dom0.ask(XsType.MKDIR, '/local/domain/5\0');
  dom0.ask(XsType.SET_PERMS, '/local/domain/5\0n5\0');
  return {
    xs,
    clock,
    faults,
    log,
    add: (spec) => faults.add({ target: null, probability: 1, count: null, durationMs: null, seed: 1, options: {}, ...spec }).id,
  };
}

const dom5 = { domid: 5, name: 'web' };

test('xs-errno answers the targeted domain with the errno, leaves other clients alone, and ends after its count', (t) => {
  const r = rig();
  const guest = new EngineClient(r.xs, 5, 'domain');
  const dom0 = new EngineClient(r.xs);
  guest.write('data', 'x');
  const id = r.add({ kind: 'xs-errno', target: dom5, count: 2, options: { errno: 'EACCES' } });
  t.is(guest.read('data'), 'ERROR:EACCES');
  t.is(dom0.read('/local/domain/5/data'), 'x', 'dom0 is not the target');
  t.is(guest.write('data', 'y'), 'ERROR:EACCES');
  t.is(guest.read('data'), 'x', 'after 2 firings it is over, and the refused write changed nothing');
  t.is(r.faults.size, 0);
  t.true(r.log.some((l) => l === `fault ${id} (xs-errno) fired: D5 READ /local/domain/5/data`), r.log.join('\n'));
  t.true(r.log.some((l) => l === `fault ${id} (xs-errno) ended (its count is reached) after firing 2 times`));
});

test('xs-errno with --op and --path fires only on the requests named, relative paths resolved', (t) => {
  const r = rig();
  const guest = new EngineClient(r.xs, 5, 'domain');
  guest.write('data/a', '1');
  guest.write('other', '2');
  r.add({ kind: 'xs-errno', target: dom5, options: { errno: 'EIO', op: 'READ', path: '/local/domain/5/data' } });
  t.is(guest.read('data/a'), 'ERROR:EIO');
  t.is(guest.read('/local/domain/5/data'), 'ERROR:EIO');
  t.is(guest.read('other'), '2', 'outside the path');
  t.is(guest.read('/local/domain/5/datax'), 'ERROR:ENOENT', 'a sibling whose name starts the same is not under it');
  t.is(guest.write('data/a', '3'), 'OK\0', 'not a READ');
  t.is(r.faults.rows()[0]!.fired, 2);
});

test('a fault of probability p fires about p of the time, and the same seed fires on the same requests', (t) => {
  const firings = (seed: number): number[] => {
    const r = rig();
    const dom0 = new EngineClient(r.xs);
    r.add({ kind: 'xs-errno', probability: 0.3, seed, options: { errno: 'EAGAIN' } });
    const hit: number[] = [];
    for (let i = 0; i < 2000; i++) if (dom0.read('/local/domain/5').startsWith('ERROR:EAGAIN')) hit.push(i);
    t.is(r.faults.rows()[0]!.fired, hit.length);
    return hit;
  };
  const a = firings(42);
  // 2000 draws at 0.3: mean 600, sd 20.5; 6 sd either side.
  t.true(a.length > 477 && a.length < 723, `${a.length} firings`);
  t.deepEqual(firings(42), a);
  t.notDeepEqual(firings(43), a);
});

test('xs-eagain fails only commits writing under its path, ends the transaction, and clearing restores commits', (t) => {
  const r = rig();
  const dom0 = new EngineClient(r.xs);
  const id = r.add({ kind: 'xs-eagain', options: { path: '/local/domain/0/backend' } });
  const tx = dom0.start();
  dom0.write('/local/domain/0/backend/vbd/5/51712/state', '1', tx);
  t.is(dom0.end(tx), 'ERROR:EAGAIN');
  t.is(dom0.end(tx), 'ERROR:EIO', 'the failed commit ended it: no such transaction');
  t.is(dom0.read('/local/domain/0/backend/vbd/5/51712/state'), 'ERROR:ENOENT', 'nothing of it was applied');
  const other = dom0.start();
  dom0.write('/local/domain/5/data', 'x', other);
  t.is(dom0.end(other), 'OK\0', 'a transaction elsewhere commits');
  t.true(r.faults.clear(id));
  const again = dom0.start();
  dom0.write('/local/domain/0/backend/vbd/5/51712/state', '1', again);
  t.is(dom0.end(again), 'OK\0');
  t.is(r.xs.conflicts, 1, 'counted as the conflict it stands for');
});

test('xs-delay holds replies and events for the delay, in order, and what it held still comes after it is cleared', (t) => {
  const r = rig();
  const dom0 = new EngineClient(r.xs);
  const frames: string[] = [];
  const conn = dom0.conn;
  const sink = conn.sink.deliver.bind(conn.sink);
  (conn.sink as { deliver: (f: Buffer) => void }).deliver = (f) => {
    frames.push(`${f.readUInt32LE(0)}:${f.readUInt32LE(4)}`);
    sink(f);
  };
  const id = r.add({ kind: 'xs-delay', target: 'socket', options: { delayMs: 100 } });
  const send = (reqId: number, type: number, payload: string) => r.xs.handle(conn, { type, reqId, txId: 0, payload: Buffer.from(payload, 'latin1') });
  send(1, XsType.WATCH, '/local/domain/5\0tok\0');
  r.clock.advance(50 * MS);
  send(2, XsType.WRITE, '/local/domain/5/a\0v');
  t.deepEqual(frames, [], 'nothing before the delay');
  r.clock.advance(50 * MS);
  t.deepEqual(frames, [`${XsType.WATCH}:1`, `${XsType.WATCH_EVENT}:0`], 'the first reply and its initial event at 100 ms');
  r.faults.clear(id);
  send(3, XsType.READ, '/local/domain/5/a\0');
  t.deepEqual(frames.length, 2, 'a reply after the clear waits behind the held ones');
  r.clock.advance(50 * MS);
  t.deepEqual(frames.slice(2), [`${XsType.WRITE}:2`, `${XsType.WATCH_EVENT}:0`, `${XsType.READ}:3`]);
  send(4, XsType.READ, '/local/domain/5/a\0');
  t.deepEqual(frames.slice(5), [`${XsType.READ}:4`], 'then straight through again');
  t.false((r.xs as unknown as { faults: { armed: boolean } }).faults.armed, 'and the hooks are idle');
});

test('xs-watch-delay holds events, not replies; with coalesce a repeat of a held event is dropped', (t) => {
  const r = rig();
  const dom0 = new EngineClient(r.xs);
  t.is(dom0.ask(XsType.WATCH, '/local/domain/5/a\0tok\0'), 'OK\0');
  dom0.takeEvents();
  r.add({ kind: 'xs-watch-delay', options: { delayMs: 1000, coalesce: true } });
  t.is(dom0.write('/local/domain/5/a', '1'), 'OK\0', 'the reply is not held');
  t.is(dom0.write('/local/domain/5/a', '2'), 'OK\0');
  t.is(dom0.write('/local/domain/5/a', '3'), 'OK\0');
  t.deepEqual(dom0.takeEvents(), []);
  r.clock.advance(1000 * MS);
  t.deepEqual(dom0.takeEvents(), [['/local/domain/5/a', 'tok']], 'three changes, one event');
  t.is(r.faults.rows()[0]!.fired, 1, 'the repeats were dropped, not fired');
});

test('xs-quota lowers a domain\'s quota while it lasts and the old one is back when it expires', (t) => {
  const r = rig();
  const guest = new EngineClient(r.xs, 5, 'domain');
  r.add({ kind: 'xs-quota', target: dom5, durationMs: 60_000, options: { quota: { nodes: 2 } } });
  t.is(r.faults.rows()[0]!.fired, 1, 'applying it counts');
  t.is(guest.write('a', '1'), 'OK\0');
  t.is(guest.write('b', '1'), 'ERROR:EQUOTA', 'its home and a: two nodes');
  r.clock.advance(60_000 * MS);
  t.is(r.faults.size, 0, 'expired');
  t.is(guest.write('b', '1'), 'OK\0');
  t.true(r.log.some((l) => /^fault 1 \(xs-quota\) ended \(expired\)/.test(l)));
});

test('the daemon\'s own connections are never faulted', (t) => {
  const r = rig();
  const internal = new EngineClient(r.xs, 0, 'internal');
  r.add({ kind: 'xs-errno', options: { errno: 'EIO' } });
  t.is(internal.read('/local/domain/5'), '');
});
