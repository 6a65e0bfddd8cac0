import test from 'ava';
import { MICROTASK_CHAIN, RealClock } from '../../src/hypervisor/clock.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

test('RealClock.defer runs after the current work, in order, before the event loop turns', async (t) => {
  const clock = new RealClock();
  const order: string[] = [];
  setImmediate(() => order.push('next turn'));
  clock.defer(() => order.push('a'));
  clock.defer(() => order.push('b'));
  order.push('caller');
  t.deepEqual(order, ['caller'], 'nothing deferred runs inside the call that deferred it');
  await turn();
  t.deepEqual(order, ['caller', 'a', 'b', 'next turn']);
});

test('RealClock.defer: a chain of deferred work that never ends lets the event loop turn every MICROTASK_CHAIN steps', async (t) => {
  const clock = new RealClock();
  const total = 20 * MICROTASK_CHAIN;
  let steps = 0;
  const ping = (): void => {
    steps++;
    if (steps < total) clock.defer(ping);
  };
  let atTurn = -1;
  setImmediate(() => {
    atTurn = steps;
  });
  clock.defer(ping);
  await turn();
  t.true(atTurn >= 1 && atTurn <= MICROTASK_CHAIN, `the event loop turned after ${atTurn} steps`);
  for (let i = 0; i < 10 * total && steps < total; i++) await turn();
  t.is(steps, total, 'and the chain still runs to its end');
});
