import test from 'ava';
import { parseByteSize } from '../../src/common/byte-size.js';
import { patternBytes, shuffled } from '../../src/kernel/blk/block-io.js';

test('sizes as dd takes them: binary units, s for 512-byte sectors; anything else is refused naming the option', (t) => {
  t.deepEqual(['512', '4k', '4K', '1m', '2MiB', '1g', '8s', '0'].map((s) => parseByteSize(s, '--bs')), [512, 4096, 4096, 1048576, 2097152, 1073741824, 4096, 0]);
  t.throws(() => parseByteSize('1.5m', '--length'), { message: /^--length: "1.5m" is not a size/ });
  t.throws(() => parseByteSize('-1', '--offset'), { code: 'EINVAL' });
});

test('the offset pattern puts each word\'s disk offset in it, so any block can be checked alone', (t) => {
  const whole = patternBytes('offset', 1, 4096, 8192);
  t.deepEqual(patternBytes('offset', 1, 8192, 4096), whole.subarray(4096));
  t.is(new DataView(whole.buffer).getBigUint64(8, true), 4104n);
  t.deepEqual(patternBytes('random', 5, 1024, 512), patternBytes('random', 5, 0, 2048).subarray(1024, 1536), 'random is keyed by sector');
  t.notDeepEqual(patternBytes('random', 5, 0, 512), patternBytes('random', 6, 0, 512));
});

test('a random order visits every block once, the same for the same seed', (t) => {
  const a = shuffled(1000, 3);
  t.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  t.deepEqual(shuffled(1000, 3), a);
  t.notDeepEqual(shuffled(1000, 4), a);
});
