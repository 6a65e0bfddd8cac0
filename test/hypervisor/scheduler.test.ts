import test from 'ava';
import { VirtualClock } from '../../src/hypervisor/clock.js';
import { Domctl } from '../../src/hypervisor/domctl.js';
import { defaultHostModel, type XenScheduler } from '../../src/hypervisor/host-model.js';
import { Hypervisor, HypervisorError } from '../../src/hypervisor/hypervisor.js';

// XEN_DOMCTL_scheduler_op and XEN_SYSCTL_scheduler_op as Xen 4.17 answers them
// (sched_adjust, sched_adjust_global, csched_sys_cntl, csched2_sys_cntl,
// csched2_dom_cntl): defaults, what is kept, what is refused (EINVAL).

function setup(scheduler: XenScheduler = 'credit2') {
  const hv = new Hypervisor(defaultHostModel({ pcpus: 4, totalMemoryMiB: 4096, scheduler }), new VirtualClock());
  const ctl = new Domctl(hv);
  ctl.createDomain({ domid: 1, name: 'g', uuid: '00000000-0000-0000-0000-000000000001', type: 'pv', memoryKiB: 8192, maxMemKiB: 8192, maxVcpus: 2, onlineVcpus: 1 });
  return { hv, ctl };
}

const einval = { instanceOf: HypervisorError, code: 'EINVAL' } as const;

test('a new domain has weight 256 and no cap; a weight of 0 keeps the weight; the cap is bounded by 100 per vCPU', (t) => {
  const { ctl } = setup();
  t.deepEqual(ctl.schedulerOp(1, 'credit2'), { weight: 256, cap: 0 });
  t.deepEqual(ctl.schedulerOp(1, 'credit2', { weight: 0, cap: 200 }), { weight: 256, cap: 200 });
  t.deepEqual(ctl.schedulerOp(1, 'credit2', { weight: 65535, cap: 0 }), { weight: 65535, cap: 0 });
  t.throws(() => ctl.schedulerOp(1, 'credit2', { weight: 1, cap: 201 }), einval);
  t.throws(() => ctl.schedulerOp(1, 'credit2', { weight: 65536, cap: 0 }), einval);
  t.throws(() => ctl.schedulerOp(1, 'credit2', { weight: -1, cap: 0 }), einval);
  t.deepEqual(ctl.schedulerOp(1, 'credit2'), { weight: 65535, cap: 0 });
});

test('an op for a scheduler the pool does not run is EINVAL, for a domain and for the pool', (t) => {
  const { ctl } = setup('credit2');
  t.throws(() => ctl.schedulerOp(1, 'credit'), { ...einval, message: 'cpupool Pool-0 runs the credit2 scheduler, not credit' });
  t.throws(() => ctl.creditParams(0), einval);
  t.throws(() => setup('credit').ctl.credit2Params(0), einval);
  t.throws(() => ctl.credit2Params(1), { ...einval, message: 'there is no cpupool 1' });
});

test('credit2: the rate limit starts at 1000 us; 0 or 100-500000 us is taken', (t) => {
  const { ctl } = setup('credit2');
  t.deepEqual(ctl.credit2Params(0), { ratelimitUs: 1000 });
  t.deepEqual(ctl.credit2Params(0, { ratelimitUs: 0 }), { ratelimitUs: 0 });
  t.deepEqual(ctl.credit2Params(0, { ratelimitUs: 500000 }), { ratelimitUs: 500000 });
  for (const ratelimitUs of [99, 500001, -1]) t.throws(() => ctl.credit2Params(0, { ratelimitUs }), einval, String(ratelimitUs));
  t.deepEqual(ctl.credit2Params(0), { ratelimitUs: 500000 });
});

test('credit: tslice 30 ms, ratelimit 1000 us, no migration delay at boot; each put is checked whole', (t) => {
  const { ctl } = setup('credit');
  t.deepEqual(ctl.creditParams(0), { tsliceMs: 30, ratelimitUs: 1000, vcpuMigrDelayUs: 0 });
  t.deepEqual(ctl.creditParams(0, { tsliceMs: 1, ratelimitUs: 1000, vcpuMigrDelayUs: 100000 }), { tsliceMs: 1, ratelimitUs: 1000, vcpuMigrDelayUs: 100000 });
  for (const bad of [
    { tsliceMs: 0, ratelimitUs: 0, vcpuMigrDelayUs: 0 },
    { tsliceMs: 1001, ratelimitUs: 0, vcpuMigrDelayUs: 0 },
    { tsliceMs: 1, ratelimitUs: 1001, vcpuMigrDelayUs: 0 },
    { tsliceMs: 10, ratelimitUs: 50, vcpuMigrDelayUs: 0 },
    { tsliceMs: 10, ratelimitUs: 0, vcpuMigrDelayUs: 100001 },
    { tsliceMs: 10, ratelimitUs: 0, vcpuMigrDelayUs: -1 },
  ]) {
    t.throws(() => ctl.creditParams(0, bad), einval, JSON.stringify(bad));
  }
  t.deepEqual(ctl.creditParams(0), { tsliceMs: 1, ratelimitUs: 1000, vcpuMigrDelayUs: 100000 });
});

test('rtds: vCPUs start at 10000/4000 us with extra time; getinfo answers the defaults; a put below 10 us, a budget over the period or a missing vCPU is EINVAL', (t) => {
  const { ctl } = setup('rtds');
  const dflt = { periodUs: 10000, budgetUs: 4000, extratime: true };
  t.deepEqual(ctl.rtdsVcpus(1, [0, 1]), [dflt, dflt]);
  t.deepEqual(ctl.rtdsVcpus(1, [1], [{ periodUs: 10, budgetUs: 10, extratime: false }]), [{ periodUs: 10, budgetUs: 10, extratime: false }]);
  t.deepEqual(ctl.rtdsDomainGet(1), { periodUs: 10000, budgetUs: 4000 });
  for (const bad of [
    { periodUs: 9, budgetUs: 9, extratime: true },
    { periodUs: 100, budgetUs: 9, extratime: true },
    { periodUs: 100, budgetUs: 101, extratime: true },
  ]) {
    t.throws(() => ctl.rtdsVcpus(1, [0], [bad]), einval, JSON.stringify(bad));
  }
  t.throws(() => ctl.rtdsVcpus(1, [2]), einval);
  t.deepEqual(ctl.rtdsVcpus(1, [0, 1]), [dflt, { periodUs: 10, budgetUs: 10, extratime: false }]);
  t.throws(() => setup('credit2').ctl.rtdsVcpus(1, [0]), { ...einval, message: 'cpupool Pool-0 runs the credit2 scheduler, not rtds' });
  t.throws(() => setup('credit2').ctl.rtdsDomainGet(1), einval);
});
