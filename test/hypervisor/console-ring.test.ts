import test from 'ava';
import { VirtualClock } from '../../src/hypervisor/clock.js';
import { CONSOLE_LINE_MAX, CONSOLE_RING_BYTES, ConsoleRing } from '../../src/hypervisor/console-ring.js';
import { defaultHostModel } from '../../src/hypervisor/host-model.js';
import { Hypervisor } from '../../src/hypervisor/hypervisor.js';

const bytes = (lines: readonly string[]) => lines.reduce((n, l) => n + l.length + 1, 0);

test('the ring keeps the newest lines that fit, oldest dropped first', (t) => {
  const ring = new ConsoleRing(100);
  for (let i = 0; i < 50; i++) ring.push(`line ${String(i).padStart(3, '0')}`);
  const kept = ring.lines();
  t.true(bytes(kept) <= 100);
  t.is(kept.at(-1), 'line 049');
  t.is(kept.length, Math.floor(100 / 9));
  t.deepEqual(kept, Array.from({ length: kept.length }, (_, i) => `line ${String(50 - kept.length + i).padStart(3, '0')}`));
});

test('a line over the limit is cut; clear empties the ring and it fills again', (t) => {
  const ring = new ConsoleRing();
  ring.push('x'.repeat(CONSOLE_LINE_MAX * 3));
  t.is(ring.lines()[0]!.length, CONSOLE_LINE_MAX);
  ring.clear();
  t.deepEqual(ring.lines(), []);
  ring.push('after');
  t.deepEqual(ring.lines(), ['after']);
});

test('the hypervisor log stays within its ring through a long run (guests writing CONSOLEIO lines)', (t) => {
  const hv = new Hypervisor(defaultHostModel({ pcpus: 2 }), new VirtualClock());
  for (let i = 0; i < 100_000; i++) hv.log(`(d1) message ${i}`);
  const kept = hv.console.lines();
  t.true(bytes(kept) <= CONSOLE_RING_BYTES);
  t.is(kept.at(-1), '(XEN) (d1) message 99999');
  t.false(kept.some((l) => l.includes('Xen version')), 'the boot lines went first');
});
