import test from 'ava';
import { VirtualClock } from '../../src/hypervisor/clock.js';
import { Bridge, DEFAULT_AGEING_NS } from '../../src/net/bridge.js';
import { parseMac } from '../../src/net/mac.js';
import { linkedPair } from '../helpers/fake-links.js';

/** A bridge with `n` ports; guest end i records what reaches it. */
function rig(n: number) {
  const clock = new VirtualClock();
  const captured: Uint8Array[] = [];
  const bridge = new Bridge('xenbr0', clock, { write: (f) => captured.push(new Uint8Array(f)) });
  const got: string[][] = [];
  const guests = Array.from({ length: n }, (_, i) => {
    const p = linkedPair();
    bridge.addPort(`vif${i + 1}.0`, p.a);
    got.push([]);
    p.b.onFrame = (f) => got[i]!.push(Buffer.from(f).toString('hex'));
    return p;
  });
  const mac = (i: number): Uint8Array => parseMac(`00:16:3e:00:00:${(i + 1).toString(16).padStart(2, '0')}`)!;
  /** Guest `from` sends a frame to `to` (an index, or 'bcast'); returns its hex. */
  const send = (from: number, to: number | 'bcast'): string => {
    const f = new Uint8Array(60);
    f.set(to === 'bcast' ? [255, 255, 255, 255, 255, 255] : mac(to), 0);
    f.set(mac(from), 6);
    f.set([0x88, 0xb5, from, typeof to === 'number' ? to : 99], 12);
    guests[from]!.b.send(f);
    return Buffer.from(f).toString('hex');
  };
  const clear = (): void => got.forEach((g) => (g.length = 0));
  return { clock, bridge, guests, got, send, clear, captured };
}

test('broadcast reaches every port but the sender\'s', (t) => {
  const r = rig(4);
  const f = r.send(2, 'bcast');
  t.deepEqual(r.got, [[f], [f], [], [f]]);
  t.is(r.captured.length, 1, 'the bridge captures each frame once');
});

test('unknown unicast is flooded; once the destination has spoken, frames go to its port only', (t) => {
  const r = rig(3);
  const f1 = r.send(0, 1);
  t.deepEqual(r.got, [[], [f1], [f1]], 'MAC 2 not learned yet: flooded');
  r.clear();
  const f2 = r.send(1, 0);
  t.deepEqual(r.got, [[f2], [], []], 'MAC 1 learned from its first frame');
  r.clear();
  const f3 = r.send(0, 1);
  t.deepEqual(r.got, [[], [f3], []]);
  const v = r.bridge.view();
  t.deepEqual(v.macs.map((m) => [m.mac, m.port]), [['00:16:3e:00:00:01', 'vif1.0'], ['00:16:3e:00:00:02', 'vif2.0']]);
  t.deepEqual([v.forwarded, v.flooded], [2, 1]);
  t.deepEqual(v.ports.map((p) => [p.name, p.rxFrames, p.txFrames]), [['vif1.0', 2, 1], ['vif2.0', 1, 2], ['vif3.0', 0, 1]]);
});

test('a learned MAC ages out on the hypervisor clock, and goes with its port', (t) => {
  const r = rig(3);
  r.send(1, 'bcast');
  r.clock.advance(DEFAULT_AGEING_NS);
  r.clear();
  r.send(0, 1);
  t.deepEqual(r.got.map((g) => g.length), [0, 1, 0], 'still learned at exactly the ageing time');
  t.is(r.bridge.view().macs.find((m) => m.port === 'vif2.0')?.ageSeconds, 300);
  r.clock.advance(DEFAULT_AGEING_NS + 1);
  r.clear();
  r.send(0, 1);
  t.deepEqual(r.got.map((g) => g.length), [0, 1, 1], 'aged out: flooded again');
  t.deepEqual(r.bridge.view().macs.map((m) => m.port), ['vif1.0']);
  r.bridge.removePort('vif1.0');
  t.deepEqual(r.bridge.view().macs, []);
  r.clear();
  r.send(1, 0);
  t.deepEqual(r.got.map((g) => g.length), [0, 0, 1], 'a removed port gets nothing');
});

test('a frame to a MAC on its own port is filtered; runts and refused sends are counted, never thrown', (t) => {
  const r = rig(2);
  r.send(0, 'bcast');
  r.clear();
  // Guest 1 sends to guest 0's MAC but the bridge learned it on port 0: goes there. Now make port 1 claim it too.
  const f = new Uint8Array(60);
  f.set(parseMac('00:16:3e:00:00:01')!, 0);
  f.set(parseMac('00:16:3e:00:00:01')!, 6);
  r.guests[0]!.b.send(f);
  t.deepEqual(r.got, [[], []]);
  t.is(r.bridge.view().filtered, 1);
  r.guests[1]!.b.send(new Uint8Array(5));
  t.is(r.bridge.view().filtered, 2);
  r.guests[1]!.up = false;
  r.send(0, 'bcast');
  t.is(r.bridge.view().ports[1]!.txDropped, 1);
});
