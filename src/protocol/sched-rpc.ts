import * as z from 'zod';
import type { Credit2PoolParams, CreditPoolParams, DomainSchedParams } from '../hypervisor/scheduler.js';
import type { CpupoolInfo, LibxlDomainSched, LibxlRtdsVcpu } from '../toolstack/sched.js';
import { MAX_VCPUS } from '../toolstack/config/index.js';
import { DomainRef } from './params.js';

/**
 * The control methods of `xl sched-credit`, `sched-credit2`, `sched-rtds` and
 * `cpupool-list`: libxl's scheduler and cpupool calls (libxl_sched.c), one each. The
 * CLI parses xl's options as xl does (C ints); the daemon makes libxl's checks, so a
 * client that skips the CLI is refused the same way.
 */

/** A C int, as xl's strtol() results end up in libxl's int fields. */
const CInt = z.int().min(-0x80000000).max(0x7fffffff);
/** A cpupool id (uint32_t). */
const Poolid = z.int().min(0).max(0xffffffff);

export const SchedParams = {
  /** libxl_cpupool_qualifier_to_cpupoolid(): a pool by id (digits) or name; null when there is none. */
  'cpupool.find': z.strictObject({ qualifier: z.string().max(4096) }),
  /** libxl_list_cpupool(). */
  'cpupool.list': z.strictObject({}),
  /** libxl_list_domain() + libxl_domain_sched_params_get() for each (all domains, or those named). */
  'sched.domain.get': z.strictObject({ refs: z.array(DomainRef).optional() }),
  /** libxl_domain_sched_params_set(): `sched` is the scheduler xl's command is for; an absent weight or cap stays. */
  'sched.domain.set': z.strictObject({ ref: DomainRef, sched: z.enum(['credit', 'credit2']), weight: CInt.optional(), cap: CInt.optional() }),
  'sched.credit.get': z.strictObject({ poolid: Poolid }),
  'sched.credit.set': z.strictObject({ poolid: Poolid, tsliceMs: CInt, ratelimitUs: CInt, vcpuMigrDelayUs: CInt }),
  'sched.credit2.get': z.strictObject({ poolid: Poolid }),
  'sched.credit2.set': z.strictObject({ poolid: Poolid, ratelimitUs: CInt }),
  /** libxl_vcpu_sched_params_get() (`vcpuids` absent: _get_all) under RTDS. */
  'sched.rtds.vcpuGet': z.strictObject({ ref: DomainRef, vcpuids: z.array(CInt).max(MAX_VCPUS).optional() }),
  /** libxl_vcpu_sched_params_set() (`all`: _set_all, with one set of parameters) under RTDS. */
  'sched.rtds.vcpuSet': z.strictObject({
    ref: DomainRef,
    vcpus: z.array(z.strictObject({ vcpuid: CInt, period: CInt, budget: CInt, extratime: z.boolean() })).max(MAX_VCPUS),
    all: z.boolean(),
  }),
} satisfies Record<string, z.ZodType>;

/** A domain's scheduler parameters with what `xl sched-*` prints beside them. */
export interface DomainSchedRow extends LibxlDomainSched {
  domid: number;
  name: string;
  /** The cpupool it is in (libxl_dominfo.cpupool). */
  cpupool: number;
}

interface SchedResults {
  'cpupool.find': CpupoolInfo | null;
  'cpupool.list': CpupoolInfo[];
  'sched.domain.get': DomainSchedRow[];
  'sched.domain.set': DomainSchedParams;
  'sched.credit.get': CreditPoolParams;
  'sched.credit.set': CreditPoolParams;
  'sched.credit2.get': Credit2PoolParams;
  'sched.credit2.set': Credit2PoolParams;
  'sched.rtds.vcpuGet': LibxlRtdsVcpu[];
  'sched.rtds.vcpuSet': LibxlRtdsVcpu[];
}

export type SchedMethod = keyof typeof SchedParams;

export type SchedRpc = { [M in SchedMethod]: { params: z.output<(typeof SchedParams)[M]>; result: SchedResults[M] } };
