/**
 * RealClock.defer: work runs after the current work, in order; what deferred work
 * defers runs in the same turn of the event loop (a chain of hops is one turn), but a
 * chain that keeps deferring lets the loop poll after a bounded number of rounds.
 */
import test from 'ava';
import { RealClock } from '../../src/hypervisor/clock.js';

test('deferred work runs after the current work, in the order it was deferred', async (t) => {
  const clock = new RealClock();
  const order: string[] = [];
  await new Promise<void>((resolve) => {
    clock.defer(() => order.push('a'));
    clock.defer(() => order.push('b'));
    clock.defer(() => resolve());
    order.push('now');
  });
  t.deepEqual(order, ['now', 'a', 'b']);
});

test('work deferred by deferred work runs in the same turn, before an immediate queued after the first', async (t) => {
  const clock = new RealClock();
  const order: string[] = [];
  await new Promise<void>((resolve) => {
    clock.defer(() => {
      order.push('upcall');
      clock.defer(() => {
        order.push('interrupt thread');
        clock.defer(() => order.push('backend taskqueue'));
      });
    });
    setImmediate(() => {
      order.push('next turn');
      resolve();
    });
  });
  t.deepEqual(order, ['upcall', 'interrupt thread', 'backend taskqueue', 'next turn']);
});

test('a chain that keeps deferring lets the event loop run after a bounded number of rounds', async (t) => {
  const clock = new RealClock();
  let rounds = 0;
  let stop = false;
  const again = (): void => {
    rounds++;
    if (!stop) clock.defer(again);
  };
  const seenAt = await new Promise<number>((resolve) => {
    clock.defer(again);
    setImmediate(() => {
      stop = true;
      resolve(rounds);
    });
  });
  t.true(seenAt >= 2 && seenAt <= 64, `the loop got a turn after ${seenAt} rounds`);
});
