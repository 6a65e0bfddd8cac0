/**
 * How many event-channel ports per second the 2-level pending scan can dispatch, and
 * why src/abi represents the 64-bit evtchn_pending/evtchn_mask/pending_sel words as
 * pairs of 32-bit lanes instead of BigUint64Array.
 *
 * One cycle = raise K ports (event_2l.c order: test-and-set pending, check mask,
 * test-and-set the selector bit, set upcall_pending), then the guest's scan (clear
 * upcall_pending, exchange the selector with 0, per selected word take pending & ~mask,
 * clear each port's pending bit, dispatch it). Every variant does exactly that on the
 * same page bytes; they differ only in how they touch the 64-bit words:
 *
 *   lanes        src/abi SharedInfoView/VcpuInfoView on an ArrayBuffer (plain ops)
 *   lanes+atomic the same views on a SharedArrayBuffer (every read-modify-write is Atomics)
 *   bigint64     BigUint64Array words, written inline here
 *   dataview     DataView getBigUint64/setBigUint64, written inline here
 *
 * Output: for each pending pattern, ports dispatched per second (raise + scan, median of
 * alternating rounds), and for the dense pattern the scan alone. Plain text.
 *
 *   node --import tsx bench/abi-evtchn-scan.ts [--rounds 7] [--ms 200]
 */
import { parseArgs } from 'node:util';
import { lowestSetBit, SharedInfoView } from '../src/abi/index.js';
import { machine, median, table } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    ms: { type: 'string', default: '200' },
  },
});
const ROUNDS = Number(values.rounds);
const MS = Number(values.ms);

const PENDING = 2048;
const MASK = 2560;
const SEL = 8; // vcpu_info[0].evtchn_pending_sel

/** A variant: raise a list of ports, then scan and dispatch; returns ports dispatched. */
interface Variant {
  name: string;
  raise(ports: Uint16Array): void;
  scan(): number;
}

let sink = 0;
const dispatch = (port: number): void => {
  sink = (sink + port) | 0;
};

function lanesVariant(name: string, shared: boolean): Variant {
  const buf = shared ? new SharedArrayBuffer(4096) : new ArrayBuffer(4096);
  const si = new SharedInfoView(buf);
  const v = si.vcpuInfo(0);
  for (let p = 4000; p < 4096; p++) si.testAndSetMask(p); // some masked ports, as in life
  return {
    name,
    raise(ports) {
      for (let i = 0; i < ports.length; i++) {
        const p = ports[i]!;
        if (si.testAndSetPending(p)) continue;
        if (!si.isMasked(p) && !v.testAndSetSel(p >>> 6)) v.testAndSetUpcallPending();
      }
    },
    scan() {
      let n = 0;
      v.evtchnUpcallPending = 0;
      for (let half = 0; half < 2; half++) {
        let sel = v.exchangeSelHalf(half as 0 | 1);
        while (sel !== 0) {
          const w = (half << 5) | lowestSetBit(sel);
          sel &= sel - 1;
          for (let lane = w << 1; lane <= (w << 1) + 1; lane++) {
            let active = si.pendingLane(lane) & ~si.maskLane(lane);
            while (active !== 0) {
              const port = (lane << 5) | lowestSetBit(active);
              active &= active - 1;
              si.clearPending(port);
              dispatch(port);
              n++;
            }
          }
        }
      }
      return n;
    },
  };
}

function ctz64(x: bigint): number {
  const lo = Number(x & 0xffffffffn);
  if (lo !== 0) return lowestSetBit(lo);
  return 32 + lowestSetBit(Number(x >> 32n));
}

function bigintVariant(): Variant {
  const buf = new ArrayBuffer(4096);
  const u8 = new Uint8Array(buf);
  const pending = new BigUint64Array(buf, PENDING, 64);
  const mask = new BigUint64Array(buf, MASK, 64);
  const sel = new BigUint64Array(buf, SEL, 1);
  for (let p = 4000; p < 4096; p++) mask[p >>> 6]! |= 1n << BigInt(p & 63);
  return {
    name: 'bigint64',
    raise(ports) {
      for (let i = 0; i < ports.length; i++) {
        const p = ports[i]!;
        const w = p >>> 6;
        const bit = 1n << BigInt(p & 63);
        const old = pending[w]!;
        if (old & bit) continue;
        pending[w] = old | bit;
        if ((mask[w]! & bit) === 0n) {
          const sbit = 1n << BigInt(w);
          const s = sel[0]!;
          if ((s & sbit) === 0n) {
            sel[0] = s | sbit;
            u8[0] = 1;
          }
        }
      }
    },
    scan() {
      let n = 0;
      u8[0] = 0;
      let s = sel[0]!;
      sel[0] = 0n;
      while (s !== 0n) {
        const w = ctz64(s);
        s &= s - 1n;
        let active = pending[w]! & ~mask[w]!;
        while (active !== 0n) {
          const b = ctz64(active);
          active &= active - 1n;
          pending[w] = pending[w]! & ~(1n << BigInt(b));
          dispatch((w << 6) | b);
          n++;
        }
      }
      return n;
    },
  };
}

function dataViewVariant(): Variant {
  const buf = new ArrayBuffer(4096);
  const dv = new DataView(buf);
  for (let p = 4000; p < 4096; p++) {
    const o = MASK + 8 * (p >>> 6);
    dv.setBigUint64(o, dv.getBigUint64(o, true) | (1n << BigInt(p & 63)), true);
  }
  return {
    name: 'dataview',
    raise(ports) {
      for (let i = 0; i < ports.length; i++) {
        const p = ports[i]!;
        const w = p >>> 6;
        const bit = 1n << BigInt(p & 63);
        const old = dv.getBigUint64(PENDING + 8 * w, true);
        if (old & bit) continue;
        dv.setBigUint64(PENDING + 8 * w, old | bit, true);
        if ((dv.getBigUint64(MASK + 8 * w, true) & bit) === 0n) {
          const sbit = 1n << BigInt(w);
          const s = dv.getBigUint64(SEL, true);
          if ((s & sbit) === 0n) {
            dv.setBigUint64(SEL, s | sbit, true);
            dv.setUint8(0, 1);
          }
        }
      }
    },
    scan() {
      let n = 0;
      dv.setUint8(0, 0);
      let s = dv.getBigUint64(SEL, true);
      dv.setBigUint64(SEL, 0n, true);
      while (s !== 0n) {
        const w = ctz64(s);
        s &= s - 1n;
        let active = dv.getBigUint64(PENDING + 8 * w, true) & ~dv.getBigUint64(MASK + 8 * w, true);
        while (active !== 0n) {
          const b = ctz64(active);
          active &= active - 1n;
          const o = PENDING + 8 * w;
          dv.setBigUint64(o, dv.getBigUint64(o, true) & ~(1n << BigInt(b)), true);
          dispatch((w << 6) | b);
          n++;
        }
      }
      return n;
    },
  };
}

/** Pending patterns: which ports are raised per cycle (ports 4000..4095 are masked). */
function pattern(name: string): Uint16Array {
  switch (name) {
    case 'dense: ports 1..3999':
      return Uint16Array.from({ length: 3999 }, (_, i) => i + 1);
    case 'typical: 64 ports, 1 per 64':
      return Uint16Array.from({ length: 64 }, (_, i) => ((i * 64 + 17) % 3999) + 1);
    case 'busy device: 8 ports in one word':
      return Uint16Array.from({ length: 8 }, (_, i) => 129 + i);
    case 'single port':
      return Uint16Array.of(42);
    default:
      throw new Error(name);
  }
}
const PATTERNS = ['dense: ports 1..3999', 'typical: 64 ports, 1 per 64', 'busy device: 8 ports in one word', 'single port'];

/** Raise + scan cycles for about MS milliseconds; returns ports dispatched per second. */
function cyclesPerSecond(v: Variant, ports: Uint16Array): number {
  let dispatched = 0;
  let cycles = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(MS * 1e6);
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 64; i++) {
      v.raise(ports);
      dispatched += v.scan();
    }
    cycles += 64;
    now = process.hrtime.bigint();
  }
  if (dispatched !== cycles * ports.length) throw new Error(`${v.name}: dispatched ${dispatched}, expected ${cycles * ports.length}`);
  return dispatched / (Number(now - start) / 1e9);
}

/** The scan alone, timed per scan (dense pattern only, so the timer is noise). */
function scanOnlyPerSecond(v: Variant, ports: Uint16Array): number {
  let dispatched = 0;
  let ns = 0n;
  const deadline = process.hrtime.bigint() + BigInt(MS * 1e6);
  while (process.hrtime.bigint() < deadline) {
    v.raise(ports);
    const t0 = process.hrtime.bigint();
    dispatched += v.scan();
    ns += process.hrtime.bigint() - t0;
  }
  return dispatched / (Number(ns) / 1e9);
}

const variants = [lanesVariant('lanes', false), lanesVariant('lanes+atomic', true), bigintVariant(), dataViewVariant()];
const results = new Map<string, number[]>();
const record = (key: string, value: number): void => {
  const list = results.get(key) ?? [];
  list.push(value);
  results.set(key, list);
};

// Warm up every path, then alternate variants within each round so drift hits all alike.
for (const v of variants) for (const p of PATTERNS) cyclesPerSecond(v, pattern(p));
for (let r = 0; r < ROUNDS; r++) {
  for (const p of PATTERNS) for (const v of variants) record(`${p}|${v.name}`, cyclesPerSecond(v, pattern(p)));
  for (const v of variants) record(`scan only|${v.name}`, scanOnlyPerSecond(v, pattern(PATTERNS[0]!)));
}

const mps = (x: number): string => (x / 1e6).toFixed(1);
const rows = [...PATTERNS, 'scan only'].map((p) => {
  const cells = variants.map((v) => median(results.get(`${p}|${v.name}`)!));
  const label = p === 'scan only' ? 'dense, scan alone (no raise)' : `${p} (raise + scan)`;
  return [label, ...cells.map(mps), `${(cells[0]! / cells[2]!).toFixed(1)}x`];
});

console.log(`abi-evtchn-scan: 2-level event channel dispatch, ${ROUNDS} alternating rounds x ${MS} ms, medians`);
console.log(`machine: ${machine()}`);
console.log('million ports dispatched per second (higher is better)\n');
console.log(table(['pattern', ...variants.map((v) => v.name), 'lanes/bigint64'], rows));
console.log(`\n(checksum ${sink})`);
