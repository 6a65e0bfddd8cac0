/**
 * Event channel throughput, end to end: another domain's EVTCHNOP_send (interdomain)
 * raises the guest's port on the real bits, the hypervisor queues the upcall, the
 * guest's interrupt layer scans fairly and dispatches, and the source's handler runs
 * (in its filter, or in its interrupt thread after the upcall). Everything runs on a
 * VirtualClock and is pumped with drain(), so the figures are the emulator's own cost
 * per event on one core, without timers or I/O.
 *
 * Rows: handler kind (filter | ithread), callback (vector: per-vCPU upcalls; pci-intx:
 * every upcall on vCPU 0 through the emulated platform device), guest vCPUs (1..64).
 * 64 ports are spread round robin over the vCPUs (all on vCPU 0 with pci-intx).
 *   burst   each round sends once on every port, then drains: many events per upcall;
 *   single  one send, one drain: every event is its own upcall.
 * Columns: events per second and ns per event (host, median of rounds), upcalls per
 * event, the modelled guest time per event (upcall entry, emulated APIC accesses,
 * unmask hypercalls, ithread switches: see src/kernel/intr/cost-model.ts), and the
 * share of the events the busiest vCPU handled: with the vector callback the work
 * spreads over the guest's vCPUs (which real hardware runs in parallel), with INTx it
 * all lands on vCPU 0. The emulator itself runs every vCPU on one host core.
 *
 *   node --import tsx bench/events.ts [--rounds 5] [--ms 300] [--vcpus 1,2,4,8,16,32,64]
 *   node --import tsx bench/events.ts --idle 100 [--hz 100] [--seconds 10]
 *
 * --idle N boots the machine in-process on the real clock with N idle one-vCPU PV guests
 * at --hz and reports the process's CPU use over --seconds (timers, upcalls, the
 * guests' ticks): what idle guests cost the daemon.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { VirtualClock, RealClock } from '../src/hypervisor/clock.js';
import { defaultHostModel } from '../src/hypervisor/host-model.js';
import { Hypercalls } from '../src/hypervisor/hypercalls.js';
import { Hypervisor } from '../src/hypervisor/hypervisor.js';
import { Machine, memoryState } from '../src/host/machine.js';
import type { CallbackMode } from '../src/kernel/intr/stats.js';
import { XenIntr } from '../src/kernel/intr/xen-intr.js';
import { parseDomainConfigText } from '../src/toolstack/config/index.js';
import { HVM_PARAM, HVM_PARAM_CALLBACK_TYPE, HVM_PARAM_CALLBACK_TYPE_SHIFT } from '../src/abi/index.js';
import { machine, median, table } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    ms: { type: 'string', default: '300' },
    vcpus: { type: 'string', default: '1,2,4,8,16,32,64' },
    ports: { type: 'string', default: '64' },
    idle: { type: 'string' },
    hz: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '10' },
  },
});

const ROUNDS = Number(values.rounds);
const MS = Number(values.ms);
const PORTS = Number(values.ports);

interface Rig {
  clock: VirtualClock;
  intr: XenIntr;
  send: (i: number) => void;
  handled: () => number;
}

/** A receiving guest with `vcpus` vCPUs and PORTS device ports, and a sending domain. */
function rig(vcpus: number, mode: CallbackMode, handler: 'filter' | 'ithread'): Rig {
  const clock = new VirtualClock();
  const hv = new Hypervisor(defaultHostModel({ pcpus: 64, totalMemoryMiB: 65536 }), clock);
  const mk = (domid: number, n: number, type: 'pv' | 'hvm') => {
    hv.createDomain({ domid, name: `d${domid}`, uuid: `00000000-0000-0000-0000-00000000000${domid}`, type, memoryKiB: 65536, maxMemKiB: 65536, maxVcpus: n, onlineVcpus: n, maxEventChannels: 4095 });
    hv.unpause(domid);
    return new Hypercalls(hv, domid);
  };
  const guest = mk(1, vcpus, mode === 'pv' ? 'pv' : 'hvm');
  const sender = mk(2, 1, 'pv');
  for (let p = 0; p < 4096; p++) guest.evtchn.shared.testAndSetMask(p);
  for (let v = 32; v < vcpus; v++) guest.registerVcpuInfo(v, 100, (v - 32) * 64);
  const intr = new XenIntr({ hc: guest, clock, nrVcpus: vcpus, mode });
  guest.setUpcallHandler((v) => intr.handleUpcall(v));
  if (mode !== 'pv') {
    const shift = BigInt(HVM_PARAM_CALLBACK_TYPE_SHIFT);
    guest.setHvmParam(HVM_PARAM.CALLBACK_IRQ, mode === 'vector' ? (BigInt(HVM_PARAM_CALLBACK_TYPE.VECTOR) << shift) | 0x93n : (BigInt(HVM_PARAM_CALLBACK_TYPE.PCI_INTX) << shift) | BigInt(3 << 11));
  }
  let handled = 0;
  const handlers = handler === 'filter' ? { filter: () => (handled++, 'handled' as const) } : { ithread: () => void handled++ };
  const senderPorts: number[] = [];
  for (let i = 0; i < PORTS; i++) {
    const remote = sender.evtchn.allocUnbound(1);
    intr.bindRemotePort(`xn${i}`, 2, remote, handlers);
    senderPorts.push(remote);
  }
  clock.drain();
  handled = 0;
  return {
    clock,
    intr,
    send: (i) => sender.evtchn.send(senderPorts[i]!),
    handled: () => handled,
  };
}

/** Modelled guest ns so far over every row, upcalls, and device events per vCPU. */
function modelled(intr: XenIntr): { ns: number; upcalls: number; perCpu: number[] } {
  let ns = 0;
  let upcalls = 0;
  const perCpu = new Array<number>(intr.nrVcpus).fill(0);
  for (const r of intr.snapshot().rows) {
    ns += r.modelledNs;
    if (r.kind === 'upcall') upcalls += r.total;
    else r.perCpu.forEach((n, v) => (perCpu[v]! += n));
  }
  return { ns, upcalls, perCpu };
}

interface Result {
  eventsPerSec: number;
  nsPerEvent: number;
  upcallsPerEvent: number;
  modelledNsPerEvent: number;
  /** The share of the events the busiest vCPU took (1/vCPUs when spread evenly). */
  busiestShare: number;
}

function measure(vcpus: number, mode: CallbackMode, handler: 'filter' | 'ithread', pattern: 'burst' | 'single'): Result {
  const r = rig(vcpus, mode, handler);
  const cycle = pattern === 'burst'
    ? () => {
        for (let i = 0; i < PORTS; i++) r.send(i);
        r.clock.drain();
        return PORTS;
      }
    : (() => {
        let i = 0;
        return () => {
          r.send(i);
          i = (i + 1) % PORTS;
          r.clock.drain();
          return 1;
        };
      })();
  // Warm up the JIT.
  for (let i = 0; i < 2000; i++) cycle();
  const rates: number[] = [];
  const m0 = modelled(r.intr);
  const h0 = r.handled();
  for (let round = 0; round < ROUNDS; round++) {
    let events = 0;
    const t0 = process.hrtime.bigint();
    const end = t0 + BigInt(MS * 1e6);
    let now = t0;
    while (now < end) {
      for (let k = 0; k < 64; k++) events += cycle();
      now = process.hrtime.bigint();
    }
    rates.push(events / (Number(now - t0) / 1e9));
  }
  const m1 = modelled(r.intr);
  const handled = r.handled() - h0;
  const eps = median(rates);
  return {
    eventsPerSec: eps,
    nsPerEvent: 1e9 / eps,
    upcallsPerEvent: (m1.upcalls - m0.upcalls) / handled,
    modelledNsPerEvent: (m1.ns - m0.ns) / handled,
    busiestShare: Math.max(...m1.perCpu.map((n, v) => n - m0.perCpu[v]!)) / handled,
  };
}

async function idle(count: number, hz: number, seconds: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'xe-idle-'));
  const logLines: string[] = [];
  const m = await Machine.boot({
    clock: new RealClock(),
    host: { pcpus: 16, totalMemoryMiB: count * 128 + 4096 },
    dom0MemoryMiB: 2048,
    state: memoryState(),
    consoleDir: join(dir, 'console'),
    daemonPath: 'xenemu',
    log: (l) => logLines.push(l),
  });
  try {
    for (let i = 0; i < count; i++) {
      const { config } = parseDomainConfigText(`name: idle${i}\ntype: pv\nmemory: 128\nvcpus: 1\nxenemu:\n  hz: ${hz}\n`, 'yaml', 'bench');
      await m.toolstack.create(config);
    }
    await new Promise((r) => setTimeout(r, 2000));
    const u0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const ticks0 = totalTicks(m);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const u = process.cpuUsage(u0);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const ticks = totalTicks(m) - ticks0;
    const cpu = (u.user + u.system) / 1e6;
    console.log(`idle: ${count} PV guests (1 vCPU, hz ${hz}) + dom0 (16 vCPUs, hz 100), in-process machine on the real clock, ${seconds} s`);
    console.log(`machine: ${machine()}`);
    console.log(
      table(
        ['measure', 'value'],
        [
          ['process CPU (% of one core)', ((cpu / wall) * 100).toFixed(2)],
          ['timer ticks counted by all guests per second', (ticks / wall).toFixed(0)],
          ['CPU per counted tick (ns)', ((cpu * 1e9) / ticks).toFixed(0)],
          ['timer slop (ms)', String(m.hv.timerSlopNs / 1e6)],
        ],
      ),
    );
  } finally {
    await m.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function totalTicks(m: Machine): number {
  let n = 0;
  const kernels = [m.dom0, ...[...m.hv.domains.keys()].filter((d) => d !== 0).map((d) => m.toolstack.kernel(d))];
  for (const k of kernels) {
    if (k === undefined || k.intr === undefined) continue;
    for (const r of k.intr.snapshot().rows) if (r.name.endsWith(':timer')) n += r.total;
  }
  return n;
}

if (values.idle !== undefined) {
  await idle(Number(values.idle), Number(values.hz), Number(values.seconds));
  process.exit(0);
}

const vcpuList = values.vcpus.split(',').map(Number);
const rows: Array<Array<string | number>> = [];
const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`);
for (const handler of ['filter', 'ithread'] as const) {
  for (const mode of ['vector', 'pci-intx'] as const) {
    for (const pattern of ['single', 'burst'] as const) {
      for (const vcpus of pattern === 'single' ? [1] : vcpuList) {
        const r = measure(vcpus, mode, handler, pattern);
        rows.push([handler, mode, pattern, vcpus, fmt(r.eventsPerSec), r.nsPerEvent.toFixed(0), r.upcallsPerEvent.toFixed(3), r.modelledNsPerEvent.toFixed(0), `${(r.busiestShare * 100).toFixed(1)}%`]);
      }
    }
  }
}
console.log(`events: ${PORTS} interdomain ports, send → upcall → handler, VirtualClock, median of ${ROUNDS} rounds of ${MS} ms`);
console.log(`machine: ${machine()}`);
console.log(table(['handler', 'callback', 'pattern', 'vCPUs', 'events/s', 'ns/event', 'upcalls/event', 'modelled guest ns/event', 'busiest vCPU'], rows));
