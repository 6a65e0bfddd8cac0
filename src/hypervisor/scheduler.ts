import type { XenScheduler } from './host-model.js';
import { HypervisorError } from './hypervisor.js';

/**
 * The scheduler's tunables, as Xen keeps them (xen/common/sched/credit.c, credit2.c):
 * a weight and a cap per domain (struct csched_dom / csched2_dom), and per cpupool
 * the scheduler's global parameters (struct csched_private / csched2_private). xenemu
 * has one cpupool, Pool-0, with every host CPU, run by the scheduler Xen booted with
 * (HostModel.scheduler). Placement does not read these: they are what the toolstack
 * sets and reads back, checked as Xen checks them.
 */

/** The one cpupool: cpupool0, named by libxl (libxl_cpupoolid_to_name). */
export const POOL0 = { id: 0, name: 'Pool-0' } as const;

/** The schedulers with a per-domain weight and cap. */
export type WeightedScheduler = 'credit' | 'credit2';

/** struct xen_domctl_sched_credit / _credit2: what XEN_DOMCTL_SCHEDOP_getinfo answers. */
export interface DomainSchedParams {
  weight: number;
  cap: number;
}

/** CSCHED_DEFAULT_WEIGHT and CSCHED2_DEFAULT_WEIGHT; no cap. */
export const DEFAULT_DOMAIN_SCHED: Readonly<DomainSchedParams> = { weight: 256, cap: 0 };

/** struct xen_sysctl_credit_schedule. */
export interface CreditPoolParams {
  tsliceMs: number;
  ratelimitUs: number;
  vcpuMigrDelayUs: number;
}

/** struct xen_sysctl_credit2_schedule. */
export interface Credit2PoolParams {
  ratelimitUs: number;
}

/** A vCPU's RTDS parameters (struct xen_domctl_schedparam_vcpu's rtds), in microseconds. */
export interface RtdsVcpuParams {
  periodUs: number;
  budgetUs: number;
  extratime: boolean;
}

/** RTDS_DEFAULT_PERIOD and _BUDGET (rt.c), with extra time, as rt_alloc_udata() starts a vCPU. */
export const RTDS_DEFAULT_VCPU: Readonly<RtdsVcpuParams> = { periodUs: 10000, budgetUs: 4000, extratime: true };

/** RTDS_MIN_PERIOD and RTDS_MIN_BUDGET (rt.c), in microseconds. */
const RTDS_MIN_US = 10;

/** XEN_SYSCTL_SCHED_RATELIMIT_MIN / _MAX, XEN_SYSCTL_CSCHED_TSLICE_MIN / _MAX, XEN_SYSCTL_CSCHED_MGR_DLY_MAX_US (public/sysctl.h). */
export const SCHED_LIMITS = { ratelimitMinUs: 100, ratelimitMaxUs: 500000, tsliceMinMs: 1, tsliceMaxMs: 1000, migrDelayMaxUs: 100 * 1000 } as const;

const isU32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;

/** sched_ratelimit_check's rule, on a uint32_t: 0 (off) or within Xen's bounds. */
const ratelimitOk = (us: number): boolean => isU32(us) && (us === 0 || (us >= SCHED_LIMITS.ratelimitMinUs && us <= SCHED_LIMITS.ratelimitMaxUs));

/**
 * cpupool0's scheduler: its global parameters, at Xen's boot defaults
 * (CSCHED_DEFAULT_TSLICE_MS 30 ms, SCHED_DEFAULT_RATELIMIT_US 1000 us, no migration
 * delay), and the sched_id checks every scheduler_op makes.
 */
export class PoolScheduler {
  private credit: CreditPoolParams = { tsliceMs: 30, ratelimitUs: 1000, vcpuMigrDelayUs: 0 };
  private credit2: Credit2PoolParams = { ratelimitUs: 1000 };

  constructor(readonly name: XenScheduler) {}

  /**
   * XEN_SYSCTL_scheduler_op for credit (csched_sys_cntl): `put` sets all three, each
   * a uint32_t, checked as Xen checks them; the answer is what the pool now has.
   * EINVAL for a pool that does not exist or runs another scheduler.
   */
  creditParams(poolid: number, put?: CreditPoolParams): CreditPoolParams {
    this.checkPool(poolid, 'credit');
    if (put !== undefined) {
      const L = SCHED_LIMITS;
      const { tsliceMs, ratelimitUs, vcpuMigrDelayUs } = put;
      if (
        ![tsliceMs, vcpuMigrDelayUs].every(isU32) ||
        tsliceMs > L.tsliceMaxMs ||
        tsliceMs < L.tsliceMinMs ||
        !ratelimitOk(ratelimitUs) ||
        ratelimitUs > tsliceMs * 1000 ||
        vcpuMigrDelayUs > L.migrDelayMaxUs
      ) {
        throw new HypervisorError('EINVAL', `credit parameters out of range: tslice ${tsliceMs} ms, ratelimit ${ratelimitUs} us, migration delay ${vcpuMigrDelayUs} us`);
      }
      this.credit = { tsliceMs, ratelimitUs, vcpuMigrDelayUs };
    }
    return { ...this.credit };
  }

  /** XEN_SYSCTL_scheduler_op for credit2 (csched2_sys_cntl): the rate limit only. */
  credit2Params(poolid: number, put?: Credit2PoolParams): Credit2PoolParams {
    this.checkPool(poolid, 'credit2');
    if (put !== undefined) {
      const { ratelimitUs } = put;
      if (!ratelimitOk(ratelimitUs)) {
        throw new HypervisorError('EINVAL', `credit2 ratelimit ${ratelimitUs} us out of range`);
      }
      this.credit2 = { ratelimitUs };
    }
    return { ...this.credit2 };
  }

  /**
   * XEN_DOMCTL_scheduler_op for credit and credit2 (csched_dom_cntl, csched2_dom_cntl):
   * sched_adjust() refuses a sched_id other than the domain's pool's; a weight of 0
   * leaves the weight as it is. A cap above 100 per vCPU is refused (credit2 checks it;
   * libxl checks it for both before asking).
   */
  domainParams(current: DomainSchedParams, nrVcpus: number, sched: WeightedScheduler, put?: DomainSchedParams): DomainSchedParams {
    if (sched !== this.name) throw this.otherScheduler(sched);
    if (put === undefined) return { ...current };
    if (!isU32(put.weight) || put.weight > 0xffff || !isU32(put.cap) || put.cap > 0xffff || put.cap > 100 * nrVcpus) {
      throw new HypervisorError('EINVAL', `${sched} weight ${put.weight} or cap ${put.cap} out of range`);
    }
    return { weight: put.weight !== 0 ? put.weight : current.weight, cap: put.cap };
  }

  /**
   * XEN_DOMCTL_SCHEDOP_getinfo under RTDS (rt_dom_cntl): the defaults, whatever the
   * domain's vCPUs have (rt.c answers RTDS_DEFAULT_PERIOD and _BUDGET).
   */
  rtdsDomain(): { periodUs: number; budgetUs: number } {
    this.checkRtds();
    return { periodUs: RTDS_DEFAULT_VCPU.periodUs, budgetUs: RTDS_DEFAULT_VCPU.budgetUs };
  }

  /**
   * XEN_DOMCTL_SCHEDOP_putvcpuinfo under RTDS (rt_dom_cntl): a period or budget under
   * 10 us, or a budget over the period, is EINVAL. Answers the vCPU's new parameters.
   */
  rtdsVcpu(put: RtdsVcpuParams): RtdsVcpuParams {
    this.checkRtds();
    const { periodUs, budgetUs } = put;
    if (!isU32(periodUs) || !isU32(budgetUs) || budgetUs < RTDS_MIN_US || budgetUs > periodUs || periodUs < RTDS_MIN_US) {
      throw new HypervisorError('EINVAL', `RTDS period ${periodUs} us, budget ${budgetUs} us: both at least ${RTDS_MIN_US} us, the budget at most the period`);
    }
    return { ...put };
  }

  /** XEN_DOMCTL_SCHEDOP_getvcpuinfo under RTDS: only the pool's scheduler answers. */
  checkRtds(): void {
    if (this.name !== 'rtds') throw this.otherScheduler('rtds');
  }

  private checkPool(poolid: number, sched: XenScheduler): void {
    // sched_adjust_global(): no such pool, or another scheduler's op.
    if (poolid !== POOL0.id) throw new HypervisorError('EINVAL', `there is no cpupool ${poolid}`);
    if (sched !== this.name) throw this.otherScheduler(sched);
  }

  private otherScheduler(sched: XenScheduler): HypervisorError {
    return new HypervisorError('EINVAL', `cpupool ${POOL0.name} runs the ${this.name} scheduler, not ${sched}`);
  }
}
