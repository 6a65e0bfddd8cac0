/**
 * libxl's scheduler calls (tools/libs/light/libxl_sched.c, 4.17) over the emulated
 * hypervisor: the checks libxl makes before it asks Xen, worded as libxl logs them,
 * and Xen's refusals as libxl reports them ("Getting domain sched credit: Invalid
 * argument" when the pool runs another scheduler). xenemu has one cpupool, Pool-0.
 */

import { strtoul } from '../common/c-number.js';
import { strerror } from '../common/errno.js';
import type { Domctl } from '../hypervisor/domctl.js';
import type { XenScheduler } from '../hypervisor/host-model.js';
import { HypervisorError, type Hypervisor } from '../hypervisor/hypervisor.js';
import type { Domain } from '../hypervisor/domain.js';
import { POOL0, SCHED_LIMITS, type Credit2PoolParams, type CreditPoolParams, type DomainSchedParams, type RtdsVcpuParams, type WeightedScheduler } from '../hypervisor/scheduler.js';
import { ToolstackError } from './errors.js';

/** libxl_domain_sched_params as libxl_domain_sched_params_get() fills it: weight and cap under credit and credit2, period and budget under RTDS. */
export interface LibxlDomainSched {
  sched: XenScheduler;
  weight?: number;
  cap?: number;
  period?: number;
  budget?: number;
}

/** libxl_cpupoolinfo, as `xl cpupool-list` prints it. */
export interface CpupoolInfo {
  poolid: number;
  name: string;
  sched: XenScheduler;
  /** The host CPUs in the pool (its cpumap). */
  cpus: number[];
  /** Domains in the pool (n_dom). */
  nDom: number;
}

const isWeighted = (s: XenScheduler): s is WeightedScheduler => s === 'credit' || s === 'credit2';

/** The domain, or libxl's failure when xc_domain_getinfolist() finds another one or none (ERROR_INVAL, not logged). */
function existing(hv: Hypervisor, domid: number): Domain {
  const d = hv.domains.get(domid);
  if (d === undefined) throw new ToolstackError('ESRCH', `domain ${domid} does not exist`);
  return d;
}

/** A Xen refusal as libxl's LOGE reports it: what it was doing, then strerror (the reason behind it in brackets). */
function xenFailure(what: string, err: unknown): unknown {
  if (!(err instanceof HypervisorError)) return err;
  return new ToolstackError(err.code, `${what}: ${strerror(err.code)} (${err.message})`);
}

function xen<T>(what: string, op: () => T): T {
  try {
    return op();
  } catch (err) {
    throw xenFailure(what, err);
  }
}

/** libxl_list_cpupool(): Pool-0, every host CPU, every domain. */
export function listCpupools(hv: Hypervisor): CpupoolInfo[] {
  return [{ poolid: POOL0.id, name: POOL0.name, sched: hv.scheduler.name, cpus: Array.from({ length: hv.host.pcpus }, (_, i) => i), nDom: hv.domains.size }];
}

/**
 * libxl_cpupool_qualifier_to_cpupoolid() + libxl_cpupoolid_is_valid(): digits are a
 * pool id, anything else a pool name; undefined when there is no such pool.
 */
export function findCpupool(hv: Hypervisor, qualifier: string): CpupoolInfo | undefined {
  const pools = listCpupools(hv);
  // qualifier_to_id(): at least one digit and nothing else, strtoul'd into a uint32_t.
  if (!/^[0-9]+$/.test(qualifier)) return pools.find((p) => p.name === qualifier);
  const poolid = Number(BigInt.asUintN(32, strtoul(qualifier, 10).value));
  return pools.find((p) => p.poolid === poolid);
}

/** libxl_domain_sched_params_get(): the scheduler of the domain's pool and what it keeps for the domain. */
export function domainSchedParamsGet(domctl: Domctl, hv: Hypervisor, domid: number): LibxlDomainSched {
  const sched = hv.scheduler.name;
  if (sched === 'rtds') {
    const r = xen('Getting domain sched rtds', () => domctl.rtdsDomainGet(domid));
    return { sched, period: r.periodUs, budget: r.budgetUs };
  }
  if (!isWeighted(sched)) return { sched };
  const p = xen(`Getting domain sched ${sched}`, () => domctl.schedulerOp(domid, sched));
  return { sched, weight: p.weight, cap: p.cap };
}

/**
 * libxl_domain_sched_params_set() with weight and cap: under `sched` as xl's
 * sched-credit / sched-credit2 name it, or the pool's own (libxl's
 * LIBXL_SCHEDULER_UNKNOWN, as a create applies a config's), which changes nothing
 * under a scheduler without weights. An absent weight or cap stays as it is. Answers
 * what the domain now has, or null when nothing applied.
 */
export function domainSchedParamsSet(
  domctl: Domctl,
  hv: Hypervisor,
  domid: number,
  change: { sched?: WeightedScheduler; weight?: number; cap?: number },
): DomainSchedParams | null {
  const sched = change.sched ?? hv.scheduler.name;
  if (!isWeighted(sched)) return null;
  const d = existing(hv, domid);
  const sdom = xen(`Getting domain sched ${sched}`, () => domctl.schedulerOp(domid, sched));
  if (change.weight !== undefined) {
    if (change.weight < 1 || change.weight > 65535) throw new ToolstackError('EINVAL', 'Cpu weight out of range, valid values are within range from 1 to 65535');
    sdom.weight = change.weight;
  }
  if (change.cap !== undefined) {
    // (max_vcpu_id + 1) * 100: every vCPU the domain has, online or not.
    const max = d.vcpus.length * 100;
    if (change.cap < 0 || change.cap > max) throw new ToolstackError('EINVAL', `Cpu cap out of range, valid range is from 0 to ${max} for specified number of vcpus`);
    sdom.cap = change.cap;
  }
  return xen(`Setting domain sched ${sched}`, () => domctl.schedulerOp(domid, sched, sdom));
}

/** libxl_sched_credit_params_get(). */
export function creditParamsGet(domctl: Domctl, poolid: number): CreditPoolParams {
  return xen('getting Credit scheduler parameters', () => domctl.creditParams(poolid));
}

/** sched_ratelimit_check(): 0 (off) or within Xen's bounds. */
function checkRatelimit(ratelimitUs: number): void {
  const { ratelimitMinUs: min, ratelimitMaxUs: max } = SCHED_LIMITS;
  if (ratelimitUs !== 0 && (ratelimitUs < min || ratelimitUs > max)) throw new ToolstackError('EINVAL', `Ratelimit out of range, valid range is from ${min} to ${max}`);
}

/** libxl_sched_credit_params_set(): libxl's checks in its order, then Xen's. */
export function creditParamsSet(domctl: Domctl, poolid: number, p: CreditPoolParams): CreditPoolParams {
  const L = SCHED_LIMITS;
  if (p.tsliceMs < L.tsliceMinMs || p.tsliceMs > L.tsliceMaxMs) {
    throw new ToolstackError('EINVAL', `Time slice out of range, valid range is from ${L.tsliceMinMs} to ${L.tsliceMaxMs}`);
  }
  checkRatelimit(p.ratelimitUs);
  if (p.ratelimitUs > p.tsliceMs * 1000) throw new ToolstackError('EINVAL', 'Ratelimit cannot be greater than timeslice');
  // A negative delay passes here (libxl compares an int); Xen, reading a uint32_t, refuses it.
  if (p.vcpuMigrDelayUs > L.migrDelayMaxUs) throw new ToolstackError('EINVAL', `vcpu migration delay should be >= 0 and <= ${L.migrDelayMaxUs}us`);
  return xen('Setting Credit scheduler parameters', () => domctl.creditParams(poolid, p));
}

/** libxl_sched_credit2_params_get(). */
export function credit2ParamsGet(domctl: Domctl, poolid: number): Credit2PoolParams {
  return xen('getting Credit2 scheduler parameters', () => domctl.credit2Params(poolid));
}

/** libxl_sched_credit2_params_set(). */
export function credit2ParamsSet(domctl: Domctl, poolid: number, p: Credit2PoolParams): Credit2PoolParams {
  checkRatelimit(p.ratelimitUs);
  return xen('Setting Credit2 scheduler parameters', () => domctl.credit2Params(poolid, p));
}

/** libxl_sched_params for one vCPU under RTDS: microseconds, extratime a flag. */
export interface LibxlRtdsVcpu {
  vcpuid: number;
  period: number;
  budget: number;
  extratime: boolean;
}

/** sched_rtds_validate_params(). */
function checkRtdsParams(period: number, budget: number): void {
  if (period < 1) throw new ToolstackError('EINVAL', `Invalid VCPU period of ${period} (it should be >= 1)`);
  if (budget < 1) throw new ToolstackError('EINVAL', `Invalid VCPU budget of ${budget} (it should be >= 1)`);
  if (budget > period) throw new ToolstackError('EINVAL', `VCPU budget must be smaller than or equal to period, but ${budget} > ${period}`);
}

const libxlVcpu = (vcpuid: number, p: RtdsVcpuParams): LibxlRtdsVcpu => ({ vcpuid, period: p.periodUs, budget: p.budgetUs, extratime: p.extratime });

/**
 * libxl_vcpu_sched_params_get() / _get_all() (`vcpuids` null): only a domain whose pool
 * runs RTDS has per-vCPU parameters; each vCPU named must be one the domain has.
 */
export function rtdsVcpuGet(domctl: Domctl, hv: Hypervisor, domid: number, vcpuids: readonly number[] | null): LibxlRtdsVcpu[] {
  const d = existing(hv, domid);
  if (hv.scheduler.name !== 'rtds') throw new ToolstackError('EINVAL', 'per-VCPU parameter getting not supported for this scheduler');
  const max = d.vcpus.length - 1;
  const ids = vcpuids ?? d.vcpus.map((v) => v.id);
  if (ids.length === 0) throw new ToolstackError('EINVAL', 'no vCPU named');
  const bad = ids.find((id) => id < 0 || id > max);
  if (bad !== undefined) throw new ToolstackError('EINVAL', `VCPU index is out of range, valid values are within range from 0 to ${max}`);
  return xen('Getting vcpu sched rtds', () => domctl.rtdsVcpus(domid, ids)).map((p, i) => libxlVcpu(ids[i]!, p));
}

/**
 * libxl_vcpu_sched_params_set() / _set_all() with LIBXL_SCHEDULER_RTDS, as `xl
 * sched-rtds -d DOM -v ...` asks (`all`: `vcpus` holds the one set of parameters for
 * every vCPU): libxl's checks of the vCPU ids and the parameters, then Xen's, which
 * refuses RTDS parameters for a domain whose pool runs another scheduler. Answers
 * every vCPU's parameters after the change.
 */
export function rtdsVcpuSet(domctl: Domctl, hv: Hypervisor, domid: number, vcpus: readonly LibxlRtdsVcpu[], all: boolean): LibxlRtdsVcpu[] {
  const d = existing(hv, domid);
  const max = d.vcpus.length - 1;
  // Both libxl functions return ERROR_INVAL without a word for a wrong count.
  if (all ? vcpus.length !== 1 : vcpus.length === 0) throw new ToolstackError('EINVAL', `${vcpus.length} sets of vCPU parameters`);
  for (const v of vcpus) {
    if (!all && (v.vcpuid < 0 || v.vcpuid > max)) throw new ToolstackError('EINVAL', `Invalid VCPU ${v.vcpuid}: valid range is [0, ${max}]`);
    checkRtdsParams(v.period, v.budget);
  }
  const wanted = all ? d.vcpus.map((x) => ({ ...vcpus[0]!, vcpuid: x.id })) : vcpus;
  const put = wanted.map((v) => ({ periodUs: v.period, budgetUs: v.budget, extratime: v.extratime }));
  xen('Setting vcpu sched rtds', () => domctl.rtdsVcpus(domid, wanted.map((v) => v.vcpuid), put));
  return d.vcpus.map((v) => libxlVcpu(v.id, v.rtds));
}
