import test from 'ava';
import { DEFAULT_COST_MODEL } from '../../src/kernel/intr/cost-model.js';
import type { IntrRow } from '../../src/kernel/intr/stats.js';
import type { DomainIntrStats, EvtchnPortRow } from '../../src/protocol/evtchn-rpc.js';
import { formatEvtchnStatus, formatLsevtchn, formatVmstatI, formatVmstatPerCpu, vmstatRate } from '../../src/ui/interrupts.js';

// The text formats: vmstat -i's columns and rate, lsevtchn's lines.

function intrRow(intrname: string, perCpu: number[], extra: Partial<IntrRow> = {}): IntrRow {
  const name = intrname.replace(/^irq[0-9]+: /, '');
  return {
    intrname,
    name,
    kind: intrname.endsWith(':xen') ? 'upcall' : 'port',
    irq: null,
    port: null,
    virq: null,
    vcpu: 0,
    handler: 'filter',
    total: perCpu.reduce((a, b) => a + b, 0),
    perCpu,
    dispatches: 0,
    filterNs: 0,
    ithreadNs: 0,
    ithreadRuns: 0,
    modelledNs: 0,
    apicNs: 0,
    stray: 0,
    ...extra,
  };
}

function stats(rows: IntrRow[], uptimeNs: number): DomainIntrStats {
  return {
    domid: 1,
    name: 'web',
    type: 'hvm',
    uptimeNs,
    callback: 'vector',
    vcpus: 2,
    online: [0, 1],
    hz: 100,
    cost: { ...DEFAULT_COST_MODEL },
    rows,
    hypervisor: { injected: [0, 0], intxAssertions: 0, sends: 0, raises: 0, coalesced: 0, masked: 0, kicks: 0, portsInUse: 0 },
  };
}

test("vmstat's rate is rounded events per second of uptime, in integer arithmetic", (t) => {
  t.is(vmstatRate(1000, 10e9), 100);
  t.is(vmstatRate(15, 10e9), 2, '1.5 rounds up');
  t.is(vmstatRate(14, 10e9), 1);
  t.is(vmstatRate(7, 0.5e6), 7, 'no whole millisecond yet: the count');
});

test('vmstat -i: "%-*s %20s %10s", names padded to the longest, zero rows hidden unless -a, then Total', (t) => {
  const s = stats(
    [
      intrRow('cpu0:xen', [1234, 0]),
      intrRow('cpu1:xen', [0, 0]),
      intrRow('irq768: cpu0:timer', [1000, 0]),
      intrRow('irq779: xenstore0', [0, 56]),
    ],
    10e9,
  );
  t.is(
    formatVmstatI(s),
    [
      'interrupt                         total       rate',
      'cpu0:xen                           1234        123',
      'irq768: cpu0:timer                 1000        100',
      'irq779: xenstore0                    56          6',
      'Total                              2290        229',
    ].join('\n'),
  );
  t.true(formatVmstatI(s, { all: true }).includes('\ncpu1:xen                              0          0\n'));
  // The header from the brief, with a 19-character name ("irq1000: cpu9:timer").
  t.is(formatVmstatI(stats([intrRow('irq1000: cpu9:timer', [1, 0])], 1e9)).split('\n')[0], 'interrupt                          total       rate');
  // One character more, one column more.
  t.is(formatVmstatI(stats([intrRow('irq1000: cpu10:timer', [1, 0])], 1e9)).split('\n')[0], 'interrupt                           total       rate');
});

test('vmstat -i -t adds filter, ithread and modelled time in µs; -P a column per vCPU', (t) => {
  const s = stats([intrRow('cpu0:xen', [10, 5], { filterNs: 2500, modelledNs: 3750 }), intrRow('irq770: xn0', [0, 5], { ithreadNs: 12_000 })], 1e9);
  t.is(
    formatVmstatI(s, { times: true }),
    [
      'interrupt                  total       rate    filter-us   ithread-us  modelled-us',
      'cpu0:xen                      15         15          2.5          0.0          3.8',
      'irq770: xn0                    5          5          0.0         12.0          0.0',
      'Total                         20         20',
    ].join('\n'),
  );
  t.is(
    formatVmstatPerCpu(s),
    [
      'interrupt   cpu0 cpu1                total       rate',
      'cpu0:xen      10    5                   15         15',
      'irq770: xn0    0    5                    5          5',
      'Total         10   10                   20         20',
    ].join('\n'),
  );
});

const port = (p: Partial<EvtchnPortRow> & Pick<EvtchnPortRow, 'port' | 'status' | 'vcpu'>): EvtchnPortRow => ({ masked: false, pending: false, source: null, device: false, ...p });

test("lsevtchn's lines: '%4d: VCPU %u: ' and the binding, word for word", (t) => {
  const rows = [
    port({ port: 1, status: 'interdomain', vcpu: 0, remoteDomid: 0, remotePort: 48 }),
    port({ port: 2, status: 'unbound', vcpu: 1, remoteDomid: 0 }),
    port({ port: 3, status: 'virq', vcpu: 2, virq: 0 }),
    port({ port: 4, status: 'ipi', vcpu: 3 }),
    port({ port: 1234, status: 'pirq', vcpu: 0, pirq: 9 }),
  ];
  t.is(
    formatLsevtchn(rows),
    [
      '   1: VCPU 0: Interdomain (Connected) - Remote Domain 0, Port 48',
      '   2: VCPU 1: Interdomain (Waiting connection) - Remote Domain 0',
      '   3: VCPU 2: Virtual IRQ 0',
      '   4: VCPU 3: IPI',
      '1234: VCPU 0: Physical IRQ 9',
    ].join('\n'),
  );
  const long = formatLsevtchn([port({ port: 5, status: 'ipi', vcpu: 1, masked: true, pending: true, source: { name: 'cpu1:r', intrname: 'irq780: cpu1:r', irq: 780, handler: 'filter', cpu: 1, total: 3 } })], { long: true });
  t.is(long, '   5: VCPU 1: IPI  [masked,pending]  irq780: cpu1:r (filter, 3)');
  t.is(formatEvtchnStatus(1, 'web', port({ port: 9, status: 'closed', vcpu: 0 })), 'port 9 of domain 1 (web): Closed\n  vCPU 0, unmasked, not pending');
});
