/**
 * What `xl sched-credit`, `sched-credit2`, `sched-rtds` and `cpupool-list` print
 * (tools/xl/xl_sched.c, xl_cpupool.c, 4.17), byte for byte.
 */

import { cprintf } from './cprintf.js';

/** A domain's row: libxl_domid_to_name(), the domid, and libxl_domain_sched_params' weight and cap. */
export interface SchedDomainLine {
  name: string;
  domid: number;
  weight: number;
  cap: number;
}

/** sched_credit_domain_output(-1) and sched_credit2_domain_output(-1). */
export const SCHED_CREDIT_HEADER = cprintf('%-33s %4s %6s %4s\n', 'Name', 'ID', 'Weight', 'Cap');

/** sched_credit_domain_output(domid), sched_credit2_domain_output(domid). */
export function schedCreditLine(r: SchedDomainLine): string {
  return cprintf('%-33s %4d %6d %4d\n', r.name, r.domid, r.weight, r.cap);
}

/** sched_rtds_domain_output(-1). */
export const SCHED_RTDS_HEADER = cprintf('%-33s %4s %9s %9s %10s\n', 'Name', 'ID', 'Period', 'Budget', 'Extratime');

/** sched_rtds_vcpu_output(-1). */
export const SCHED_RTDS_VCPU_HEADER = cprintf('%-33s %4s %4s %9s %9s %10s\n', 'Name', 'ID', 'VCPU', 'Period', 'Budget', 'Extratime');

/** sched_rtds_pool_output(). */
export function rtdsPoolLine(pool: string): string {
  return `Cpupool ${pool}: sched=RTDS\n`;
}

/**
 * sched_rtds_domain_output(domid): libxl's domain-wide period and budget; libxl leaves
 * extratime at its default (-1), which xl prints as "yes".
 */
export function rtdsDomainLine(r: { name: string; domid: number; period?: number; budget?: number; extratime?: boolean }): string {
  return cprintf('%-33s %4d %9d %9d %10s\n', r.name, r.domid, r.period ?? -1, r.budget ?? -1, r.extratime === false ? 'no' : 'yes');
}

/** sched_rtds_vcpu_output(domid): one vCPU's line. */
export function rtdsVcpuLine(name: string, domid: number, v: { vcpuid: number; period: number; budget: number; extratime: boolean }): string {
  return cprintf('%-33s %4d %4d %9u %9u %10s\n', name, domid, v.vcpuid, v.period, v.budget, v.extratime ? 'yes' : 'no');
}

/** What the pool lines print when the parameters could not be read. */
const UNAVAILABLE = '[sched params unavailable]';

/** sched_credit_pool_output(): the pool's credit parameters, or null when they could not be read. */
export function creditPoolLine(pool: string, p: { tsliceMs: number; ratelimitUs: number; vcpuMigrDelayUs: number } | null): string {
  if (p === null) return `Cpupool ${pool}: ${UNAVAILABLE}\n`;
  return cprintf('Cpupool %s: tslice=%dms ratelimit=%dus migration-delay=%dus\n', pool, p.tsliceMs, p.ratelimitUs, p.vcpuMigrDelayUs);
}

/** sched_credit2_pool_output(). */
export function credit2PoolLine(pool: string, p: { ratelimitUs: number } | null): string {
  if (p === null) return `Cpupool ${pool}: ${UNAVAILABLE}\n`;
  return cprintf('Cpupool %s: ratelimit=%dus\n', pool, p.ratelimitUs);
}

/** A pool as `xl cpupool-list` shows it (libxl_cpupoolinfo). */
export interface CpupoolLine {
  name: string;
  sched: string;
  cpus: readonly number[];
  nDom: number;
}

/** main_cpupoollist(): with `cpus` (-c) each pool's CPUs, else their count, scheduler and domain count. */
export function formatCpupoolList(pools: readonly CpupoolLine[], options: { cpus: boolean }): string {
  let out = cprintf('%-19s', 'Name') + (options.cpus ? 'CPU list\n' : 'CPUs   Sched     Active   Domain count\n');
  for (const p of pools) {
    out += cprintf('%-19s', p.name);
    out += options.cpus ? p.cpus.join(',') : cprintf('%3d %9s       y       %4d', p.cpus.length, p.sched, p.nDom);
    out += '\n';
  }
  return out;
}
