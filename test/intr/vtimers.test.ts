import test from 'ava';
import { VirtualClock } from '../../src/hypervisor/clock.js';
import { DomainTimers, expiriesBy } from '../../src/hypervisor/vtimers.js';

// One clock timer per domain: expiries coalesced to the slop, counted exactly.

test('expiries are counted exactly, whole rates and fractional ones', (t) => {
  t.is(expiriesBy(10e9, 100), 1000);
  t.is(expiriesBy(10e9, 3), 30);
  t.is(expiriesBy(9_999_999_999, 3), 29);
  t.is(expiriesBy(10e9, 0.5), 5);
  t.is(expiriesBy(86_400e9, 1_000_000), 86_400_000_000);
  t.is(expiriesBy(0, 100), 0);
});

test('a 100 Hz timer fires once per slop with the ticks it stands for; flush delivers early; cancel stops it', (t) => {
  const clock = new VirtualClock();
  const timers = new DomainTimers(clock, () => 100e6);
  const fired: Array<[number, number]> = [];
  const h = timers.periodic(10e6, { fire: (n, now) => fired.push([n, now]) });
  clock.advance(300e6);
  t.deepEqual(fired, [
    [10, 100e6],
    [10, 200e6],
    [10, 300e6],
  ]);
  clock.advance(55e6);
  timers.flush();
  t.deepEqual(fired.at(-1), [5, 355e6], 'what was due, at once');
  clock.advance(45e6);
  t.deepEqual(fired.at(-1), [5, 400e6], 'the rest at the boundary');
  h.cancel();
  clock.advance(1e9);
  t.is(fired.length, 5);
  t.is(timers.size, 0);
});

test('several sources share the clock timer; a slow one fires only when one of its periods passed', (t) => {
  const clock = new VirtualClock();
  const timers = new DomainTimers(clock, () => 100e6);
  const fast: number[] = [];
  const slow: number[] = [];
  timers.rate(1000, { fire: (n) => fast.push(n) });
  timers.rate(3, { fire: (n) => slow.push(n) });
  clock.advance(10e9);
  t.is(fast.reduce((a, b) => a + b, 0), 10_000);
  t.is(fast.length, 100, 'one delivery per 100 ms');
  t.is(slow.reduce((a, b) => a + b, 0), 30);
  t.true(slow.every((n) => n === 1));
  timers.close();
  clock.advance(1e9);
  t.is(fast.length, 100);
});
