import test from 'ava';
import { VirtualClock } from '../../src/hypervisor/clock.js';
import { KernelLog } from '../../src/kernel/kernel-log.js';

test('the kernel log round-trips: a loaded log keeps its lines and stamps new ones from the same boot', (t) => {
  const clock = new VirtualClock();
  clock.advance(5e9);
  const log = new KernelLog(clock);
  clock.advance(1_234_567_000);
  log.print('before the save');
  const saved = JSON.parse(JSON.stringify(log.save())) as ReturnType<KernelLog['save']>;
  clock.advance(2e9);
  const loaded = new KernelLog(clock);
  loaded.load(saved);
  t.deepEqual(loaded.save(), saved);
  loaded.print('after the load');
  t.deepEqual(loaded.lines, ['[    1.234567] before the save', '[    3.234567] after the load']);
});
