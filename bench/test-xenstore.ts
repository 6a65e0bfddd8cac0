/**
 * Xen's own test-xenstore against xenemu and against the real oxenstored 4.17, side by
 * side: for each test, rounds alternate between the two daemons (so machine noise
 * hits both alike), and the per-test ratio of medians is reported. Persistence is on
 * for xenemu (journal flushed before every reply), as users run it.
 *
 *   node --import tsx bench/test-xenstore.ts [--rounds 15] [--iterations 2000] [--test NAME ...]
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { peerBinDir, startPeer } from './lib/peer.js';
import { machine, median, table } from './lib/stats.js';
import { startXenemu, stopXenemu } from './lib/xenemu-host.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '15' },
    iterations: { type: 'string', default: '2000' },
    test: { type: 'string', multiple: true },
  },
});
const rounds = Number(values.rounds);
const iterations = Number(values.iterations);

const testXenstore = join(peerBinDir(), 'test-xenstore');
const tests = execFileSync(testXenstore, ['-l'], { encoding: 'utf8' })
  .split('\n')
  .filter((l) => l.includes(':'))
  .map((l) => l.slice(0, l.indexOf(':')).trim())
  .filter((name) => !values.test || values.test.includes(name));

/** ns per operation for one test, as test-xenstore prints it. */
function runOnce(socket: string, test: string): number {
  const out = execFileSync(testXenstore, ['-t', test, '-i', String(iterations)], {
    encoding: 'utf8',
    env: { ...process.env, XENSTORED_PATH: socket },
  });
  const m = /avg: (\d+) ns/.exec(out);
  if (!m) throw new Error(`test-xenstore ${test}: unexpected output ${out}`);
  return Number(m[1]);
}

const peer = startPeer();
const xenemu = await startXenemu();
try {
  const rows: Array<Array<string | number>> = [];
  let worst = 0;
  for (const test of tests) {
    const ox: number[] = [];
    const xe: number[] = [];
    runOnce(xenemu.paths.socket, test); // warm up the JIT; oxenstored is compiled ahead of time
    for (let r = 0; r < rounds; r++) {
      // Alternate which daemon goes first, so neither always runs on a warmer machine.
      if (r % 2 === 0) {
        ox.push(runOnce(peer.socket, test));
        xe.push(runOnce(xenemu.paths.socket, test));
      } else {
        xe.push(runOnce(xenemu.paths.socket, test));
        ox.push(runOnce(peer.socket, test));
      }
    }
    const ratio = median(xe) / median(ox);
    worst = Math.max(worst, ratio);
    rows.push([test, Math.round(median(ox)), Math.round(median(xe)), ratio.toFixed(2)]);
  }
  console.log(`test-xenstore, ${rounds} alternating rounds x ${iterations} iterations, medians in ns per operation`);
  console.log(`machine: ${machine()}`);
  console.log(table(['test', 'oxenstored', 'xenemu', 'ratio'], rows));
  console.log(`worst ratio: ${worst.toFixed(2)} (target <= 1.00)`);
} finally {
  await stopXenemu(xenemu);
  peer.stop();
}
