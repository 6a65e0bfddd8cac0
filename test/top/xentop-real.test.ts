import test from 'ava';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DomainStats, NetStats, StatsFrame, VbdStats } from '../../src/protocol/stats.js';
import { XentopBatch, type XentopBatchOptions } from '../../src/ui/xentop-batch.js';
import { buildXentopStub, XENTOP } from '../helpers/xentop-stub.js';

// The real xentop of Xen 4.17 (from xen-utils-4.17, see scripts/fetch-xen-tools.sh) run
// in batch mode against a stand-in libxenstat (fixtures/xenstat-stub.c) that serves
// hosts we describe, with gettimeofday() stepping exactly one second per iteration
// (fixtures/clock-stub.c): its output is the reference for xenemu's -b printer, byte
// for byte, on hand-picked hosts and on random ones.

const STEP_US = 1_000_000;
let dir: string;

test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'xe-xentop-'));
  buildXentopStub(dir);
});

test.after.always(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Dom {
  domid: number;
  name: string;
  /** Letters of "dsbcpr" the domain has. */
  state: string;
  cpuNs: number;
  memKiB: number;
  maxMemKiB: number | null;
  ssid: number;
  /** ns per vCPU, null for an offline one. */
  vcpus: Array<number | null>;
  nets: NetStats[];
  vbds: VbdStats[];
}

interface Host {
  totalKiB: number;
  freeKiB: number;
  pcpus: number;
  mhz: number;
  domains: Dom[];
}

const VBD_TYPES = ['Unidentified', 'BlkBack', 'BlkTap'] as const;

/** The stub's description of a run: one node per iteration. */
function stubText(hosts: readonly Host[]): string {
  return hosts
    .map((h) => {
      const lines = [`node ${h.totalKiB * 1024} ${h.freeKiB * 1024} ${h.pcpus} ${h.mhz * 1e6} 4.17.7-xenemu`];
      for (const d of h.domains) {
        lines.push(`dom ${d.domid} ${d.name} ${d.state || '-'} ${d.cpuNs} ${d.memKiB * 1024} ${d.maxMemKiB === null ? -1 : d.maxMemKiB * 1024} ${d.ssid}`);
        for (const v of d.vcpus) lines.push(`vcpu ${v === null ? 0 : 1} ${v ?? 0}`);
        for (const n of d.nets) lines.push(`net ${n.rbytes} ${n.rpackets} ${n.rerrs} ${n.rdrop} ${n.tbytes} ${n.tpackets} ${n.terrs} ${n.tdrop}`);
        for (const b of d.vbds) lines.push(`vbd ${VBD_TYPES.indexOf(b.backend)} ${b.dev} ${b.error ? 1 : 0} ${b.oo} ${b.rd} ${b.wr} ${b.rsect} ${b.wsect}`);
      }
      lines.push('end');
      return lines.join('\n');
    })
    .join('\n');
}

function flagsOf(o: XentopBatchOptions): string[] {
  return [o.vcpus && '-v', o.networks && '-n', o.vbds && '-x', o.repeatHeader && '-r', o.fullName && '-f'].filter((f): f is string => typeof f === 'string');
}

function realXentop(hosts: readonly Host[], o: XentopBatchOptions): string {
  const file = join(dir, `hosts-${process.pid}.txt`);
  writeFileSync(file, stubText(hosts));
  const r = spawnSync(XENTOP, ['-b', '-d', '1', '-i', String(hosts.length), ...flagsOf(o)], {
    env: { ...process.env, XENSTAT_STUB: file, LD_LIBRARY_PATH: dir, LD_PRELOAD: join(dir, 'libclock.so'), XENTOP_STEP_US: String(STEP_US) },
    encoding: 'latin1',
  });
  if (r.status !== 0) throw new Error(`xentop exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** The frames xenemu's daemon would send for the same hosts, CPU(%) as get_cpu_pct computes it. */
function frames(hosts: readonly Host[]): StatsFrame[] {
  return hosts.map((h, i) => {
    const prev = i === 0 ? null : hosts[i - 1]!;
    const domains: DomainStats[] = h.domains.map((d) => {
      const old = prev?.domains.find((p) => p.domid === d.domid);
      return {
        domid: d.domid,
        name: d.name,
        state: {
          dying: d.state.includes('d'),
          shutdown: d.state.includes('s'),
          blocked: d.state.includes('b'),
          crashed: d.state.includes('c'),
          paused: d.state.includes('p'),
          running: d.state.includes('r'),
        },
        cpuNs: d.cpuNs,
        // ((cpu_ns - old cpu_ns)/10.0)/us_elapsed, 0.0 without a previous sample.
        cpuPct: old === undefined ? 0 : (d.cpuNs - old.cpuNs) / 10 / STEP_US,
        memKiB: d.memKiB,
        maxMemKiB: d.maxMemKiB,
        vcpus: d.vcpus.length,
        vcpusOnline: d.vcpus.filter((v) => v !== null).length,
        nets: d.nets,
        vbds: d.vbds,
        ssid: d.ssid,
        eventsPerSec: 0,
        vcpuNs: d.vcpus,
      };
    });
    return {
      seq: i + 1,
      timeMs: 0,
      elapsedNs: i === 0 ? 0 : STEP_US * 1000,
      intervalMs: 1000,
      host: { hostname: 'h', xenVersion: '4.17.7-xenemu', pcpus: h.pcpus, cpuMhz: h.mhz, totalKiB: h.totalKiB, freeKiB: h.freeKiB, uptimeSec: 0, faults: [] },
      domains,
      selected: null,
    };
  });
}

function ours(hosts: readonly Host[], o: XentopBatchOptions): string {
  const printer = new XentopBatch(o);
  return frames(hosts)
    .map((f) => printer.iteration(f))
    .join('');
}

const ALL: XentopBatchOptions = { vcpus: true, networks: true, vbds: true, repeatHeader: false, fullName: false };
const net = (rbytes: number, tbytes: number): NetStats => ({ rbytes, rpackets: 7, rerrs: 1, rdrop: 2, tbytes, tpackets: 9, terrs: 0, tdrop: 3 });
const vbd = (dev: number, error: boolean, rd: number): VbdStats => ({ backend: 'BlkBack', dev, error, oo: 3, rd, wr: 17, rsect: rd * 8, wsect: 136 });

const HOST: Host = {
  totalKiB: 16777216,
  freeKiB: 12000000,
  pcpus: 8,
  mhz: 2400,
  domains: [
    { domid: 0, name: 'Domain-0', state: 'r', cpuNs: 1234.5e9, memKiB: 1048576, maxMemKiB: null, ssid: 0, vcpus: [1e12, 2e12, null, 4e12, 5e12, 6e12], nets: [], vbds: [] },
    { domid: 3, name: 'web', state: 'b', cpuNs: 50e9, memKiB: 524288, maxMemKiB: 1048576, ssid: 0, vcpus: [25e9, 25e9], nets: [net(123456789012, 98765)], vbds: [vbd(51712, false, 1000), vbd(51728, true, 0)] },
    { domid: 4, name: 'a-rather-long-name', state: 'sc', cpuNs: 1e9, memKiB: 262144, maxMemKiB: 262144, ssid: 3, vcpus: [1e9], nets: [], vbds: [vbd(768, true, 5)] },
    { domid: 7, name: 'Batch_7', state: 'bp', cpuNs: 7e9, memKiB: 4096, maxMemKiB: 8192, ssid: 0, vcpus: [null, 7e9], nets: [net(0, 0), net(5, 1024 * 1024)], vbds: [] },
  ],
};

/** The same host a second later: CPU(%) values that include exact ties (1.25, 0.75). */
function later(h: Host): Host {
  const add = [2.5e9, 12.5e6, 7.5e6, 123456789];
  return { ...h, domains: h.domains.map((d, i) => ({ ...d, cpuNs: d.cpuNs + add[i % add.length]! })) };
}

test('a host with every field: the real xentop -b and xenemu print the same bytes', (t) => {
  for (const o of [ALL, { ...ALL, repeatHeader: true }, { ...ALL, fullName: true }, { vcpus: false, networks: false, vbds: false, repeatHeader: false, fullName: false }]) {
    const hosts = [HOST, later(HOST), later(later(HOST))];
    const expected = realXentop(hosts, o);
    t.is(ours(hosts, o), expected, `flags ${flagsOf(o).join(' ')}`);
  }
});

// ------------------------------------------------------------------ random hosts

const nameArb = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,17}$/);
const u = (max: number) => fc.integer({ min: 0, max });
const netArb = fc.record({ rbytes: u(2 ** 42), rpackets: u(2 ** 32), rerrs: u(99), rdrop: u(999), tbytes: u(2 ** 42), tpackets: u(2 ** 32), terrs: u(99), tdrop: u(999) });
const vbdArb = fc.record({
  backend: fc.constantFrom(...VBD_TYPES),
  dev: u(65535),
  error: fc.boolean(),
  oo: u(2 ** 36),
  rd: u(2 ** 36),
  wr: u(2 ** 36),
  rsect: u(2 ** 40),
  wsect: u(2 ** 40),
});
const domArb = fc.record({
  state: fc.subarray(['d', 's', 'b', 'c', 'p', 'r']).map((s) => s.join('')),
  cpuNs: u(2 ** 50),
  // Deltas that hit %.1f's exact ties (multiples of 2.5 ms at 1 s), and any others.
  delta: fc.oneof(
    fc.integer({ min: 0, max: 400 }).map((k) => k * 2_500_000),
    u(2 ** 34),
  ),
  memKiB: u(2 ** 32),
  maxMemKiB: fc.option(u(2 ** 32), { nil: null }),
  ssid: u(9),
  vcpus: fc.array(fc.option(u(2 ** 44), { nil: null }), { minLength: 1, maxLength: 12 }),
  nets: fc.array(netArb, { maxLength: 2 }),
  vbds: fc.array(vbdArb, { maxLength: 2 }),
});
const hostArb = fc
  .record({
    totalKiB: fc.integer({ min: 1, max: 2 ** 34 }),
    pcpus: fc.integer({ min: 1, max: 256 }),
    mhz: u(5000),
    // Names differ even ignoring case: xentop's qsort order of equal names is its own business.
    names: fc.uniqueArray(nameArb, { minLength: 1, maxLength: 7, selector: (n) => n.toLowerCase() }),
    doms: fc.array(domArb, { minLength: 7, maxLength: 7 }),
    options: fc.record({ vcpus: fc.boolean(), networks: fc.boolean(), vbds: fc.boolean(), repeatHeader: fc.boolean(), fullName: fc.boolean() }),
  })
  .map(({ totalKiB, pcpus, mhz, names, doms, options }) => {
    const first: Host = {
      totalKiB,
      freeKiB: Math.floor(totalKiB / 2),
      pcpus,
      mhz,
      domains: names.map((name, i) => {
        const { delta: _delta, ...d } = doms[i]!;
        return { ...d, domid: i * 3, name };
      }),
    };
    const second: Host = { ...first, domains: first.domains.map((d, i) => ({ ...d, cpuNs: d.cpuNs + doms[i]!.delta })) };
    return { hosts: [first, second], options };
  });

test('random hosts: the real xentop -b and xenemu print the same bytes', (t) => {
  fc.assert(
    fc.property(hostArb, ({ hosts, options }) => {
      const expected = realXentop(hosts, options);
      const actual = ours(hosts, options);
      if (actual !== expected) throw new Error(`flags ${flagsOf(options).join(' ')}\nxentop:\n${expected}\nxenemu:\n${actual}`);
    }),
    { numRuns: 150 },
  );
  t.pass();
});
