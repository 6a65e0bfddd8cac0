/**
 * Frames between two guests through both netif rings, without a bridge: guest A's
 * netfront (a frame copied into a granted tx buffer, a tx request, an event) → dom0's
 * netback for A (the grant copy into dom0's pages, the tx answer) → A's vif link hands
 * the frame straight to B's vif → netback for B (the copy into dom0's rx pages, the
 * grant copy into B's posted buffer, the rx answer, an event) → B's netfront (the
 * buffer posted again) → B's handler. The first round of each size warms the JIT and
 * is not counted. What a bridge adds on top is the fabric's (see its benchmark).
 *
 *   node --import tsx bench/netif.ts [--rounds 5] [--frames 300000]
 */
import { parseArgs } from 'node:util';
import { until, yamlConfig } from '../test/helpers/machine.js';
import { machineWithGuest } from '../test/kernel/blk/helpers.js';
import { attachVif, frame } from '../test/kernel/net/helpers.js';
import { machine, median, table } from './lib/stats.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, frames: { type: 'string', default: '300000' } } });
const ROUNDS = Number(values.rounds);
const N = Number(values.frames);

const { tm, domid, kernel } = await machineWithGuest('a');
const rb = await tm.m.toolstack.create(yamlConfig('name: b\nmemory: 64\n'));
await until(() => tm.m.toolstack.kernel(rb.domid)?.state === 'running', 'b running');
const a = await attachVif(tm, kernel, { frontDomid: domid, backDomid: 0, devid: 0, mac: '00:16:3e:00:00:0a' });
const b = await attachVif(tm, tm.m.toolstack.kernel(rb.domid)!, { frontDomid: rb.domid, backDomid: 0, devid: 0, mac: '00:16:3e:00:00:0b' });
a.link.onFrame = (f) => void b.link.send(f);

/** One round: N frames of `size` bytes from A to B; frames per second. */
async function round(size: number): Promise<number> {
  let got = 0;
  b.nic.onFrame = () => got++;
  const f = frame(size, '00:16:3e:00:00:0b', '00:16:3e:00:00:0a', size);
  let sent = 0;
  const t0 = process.hrtime.bigint();
  while (sent < N) {
    while (sent < N && a.nic.send(f)) sent++;
    await new Promise((r) => setImmediate(r));
  }
  await until(() => got >= N, `${N} frames at B`, 100_000_000);
  return N / (Number(process.hrtime.bigint() - t0) / 1e9);
}

const rows: Array<Array<string | number>> = [];
for (const size of [64, 1500]) {
  await round(size);
  const fps: number[] = [];
  for (let i = 0; i < ROUNDS; i++) fps.push(await round(size));
  const m = median(fps);
  rows.push([`${size} B`, Math.round(m).toLocaleString('en'), ((m * size) / 1e6).toFixed(1)]);
}
const dropped = tm.m.dom0.netback.vifs().reduce((n, v) => n + v.stats.rxDropped + v.stats.txDropped, 0);
console.log(machine());
console.log(`${N} frames per round, median of ${ROUNDS} rounds; frames dropped: ${dropped}`);
console.log(table(['frame', 'frames/s', 'MB/s'], rows));
await tm.dispose();
