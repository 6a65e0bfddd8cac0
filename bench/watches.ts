/**
 * The watch index in-process (no sockets): what firing costs with many watches
 * registered, what WATCH + UNWATCH of a fresh path costs, and the heap such cycles
 * leave behind once every watch is gone.
 *
 *   fire     WRITE of a node under 1000 domains' homes with `--watches` watches spread
 *            over them (each write fires the home's watches): ns per write, events/s
 *   cycle    WATCH then UNWATCH of a distinct path 4 levels deep, and of a special
 *            '@...' path: ns per cycle
 *   retained heap growth after `--cycles` such cycles with no watch left (run with
 *            --expose-gc for a meaningful figure)
 *
 *   node --expose-gc --import tsx bench/watches.ts [--watches 10000] [--writes 200000] [--cycles 300000] [--rounds 5]
 */
import { parseArgs } from 'node:util';
import { XsType } from '../src/protocol/xs-wire.js';
import { XenStored } from '../src/xenstore/xenstored.js';
import { machine, median, table } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    watches: { type: 'string', default: '10000' },
    writes: { type: 'string', default: '200000' },
    cycles: { type: 'string', default: '300000' },
    rounds: { type: 'string', default: '5' },
  },
});
const [watches, writes, cycles, rounds] = [values.watches!, values.writes!, values.cycles!, values.rounds!].map(Number) as [number, number, number, number];
const DOMAINS = 1000;

function engine(): { xs: XenStored; send: (type: number, payload: string) => void; events: () => number } {
  const xs = new XenStored();
  xs.initialise('/usr/lib/xenemu/xenstored');
  let events = 0;
  const conn = xs.connect(0, 'socket', { deliver: () => void events++ });
  let reqId = 0;
  const send = (type: number, payload: string): void => xs.handle(conn, { type, reqId: ++reqId, txId: 0, payload: Buffer.from(payload, 'latin1') });
  return { xs, send, events: () => events };
}

function fire(): { nsPerWrite: number; eventsPerWrite: number } {
  const { send, events } = engine();
  for (let i = 0; i < watches; i++) send(XsType.WATCH, `/local/domain/${i % DOMAINS}/device\0w${i}\0`);
  const before = events();
  const start = process.hrtime.bigint();
  for (let i = 0; i < writes; i++) send(XsType.WRITE, `/local/domain/${i % DOMAINS}/device/vif/0/state\0${i & 7}`);
  const ns = Number(process.hrtime.bigint() - start);
  return { nsPerWrite: ns / writes, eventsPerWrite: (events() - before) / writes - 1 };
}

function cycle(special: boolean): number {
  const { send } = engine();
  const n = Math.min(cycles, 100_000);
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const p = special ? `@w${i}` : `/a${i % 1000}/b${i}/c/d`;
    send(XsType.WATCH, `${p}\0t\0`);
    send(XsType.UNWATCH, `${p}\0t\0`);
  }
  return Number(process.hrtime.bigint() - start) / n;
}

function heapUsed(): number {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
}

function retained(): number {
  const { xs, send } = engine();
  const base = heapUsed();
  for (let i = 0; i < cycles; i++) {
    const p = i % 2 === 0 ? `/a${i % 1000}/b${i}/c/d` : `@w${i}`;
    send(XsType.WATCH, `${p}\0t\0`);
    send(XsType.UNWATCH, `${p}\0t\0`);
  }
  const grown = heapUsed() - base;
  if (xs.watches.size !== 0) throw new Error('watches left');
  return grown;
}

const fires: number[] = [];
const cyclesNs: number[] = [];
const specialNs: number[] = [];
let eventsPerWrite = 0;
for (let r = 0; r < rounds; r++) {
  const f = fire();
  fires.push(f.nsPerWrite);
  eventsPerWrite = f.eventsPerWrite;
  cyclesNs.push(cycle(false));
  specialNs.push(cycle(true));
}
const grown = retained();
console.log(machine());
console.log(`${watches} watches over ${DOMAINS} homes, ${writes} writes, ${rounds} rounds (median)${globalThis.gc ? '' : '; run with --expose-gc for the heap figure'}`);
console.log(
  table(
    ['measure', 'value'],
    [
      ['fire: ns per write', median(fires).toFixed(0)],
      ['fire: events per write', eventsPerWrite.toFixed(1)],
      ['fire: events per second', ((eventsPerWrite * 1e9) / median(fires)).toFixed(0)],
      ['WATCH+UNWATCH of a node path: ns', median(cyclesNs).toFixed(0)],
      ['WATCH+UNWATCH of an @ path: ns', median(specialNs).toFixed(0)],
      [`heap kept after ${cycles} cycles: MB`, (grown / 1e6).toFixed(1)],
    ],
  ),
);
