import test from 'ava';
import { XsType } from '../../src/protocol/xs-wire.js';
import { EngineClient, newEngine } from '../helpers/engine.js';
import { registerGroups } from '../helpers/register-rows.js';
import { watchGroups } from './tables/watches.js';

registerGroups(test, watchGroups, 'watches');

test('watching and unwatching distinct paths leaves no trace in the watch index', (t) => {
  const xs = newEngine();
  const a = new EngineClient(xs);
  const b = new EngineClient(xs);
  t.is(a.ask(XsType.WATCH, '/keep/me\0k\0'), 'OK\0', 'a live watch whose branch must survive the pruning');
  const paths = (i: number): string[] => [`/p${i}/q/r${i}`, `/keep/x${i}`, `@special${i}`, `@special${i}/sub`];
  for (let i = 0; i < 3000; i++) {
    for (const p of paths(i)) t.is(b.ask(XsType.WATCH, `${p}\0tok\0`), 'OK\0');
    for (const p of paths(i)) {
      if (b.ask(XsType.UNWATCH, `${p}\0tok\0`) !== 'OK\0') t.fail(`UNWATCH ${p}`);
    }
  }
  b.ask(XsType.WATCH, '/r/s\0t\0');
  b.ask(XsType.RESET_WATCHES, '\0');
  t.is(xs.watches.size, 1);
  // Only the root, /keep and /keep/me are left.
  t.is(xs.watches.entries, 3);
  t.regex(a.ask(XsType.CONTROL, 'memreport\0'), /\nwatch index entries: 3\n/);
  a.takeEvents();
  a.write('/keep/me/now', 'v');
  t.deepEqual(a.takeEvents(), [['/keep/me/now', 'k']], 'the kept watch still fires');
});
