/**
 * xl sched-credit, sched-credit2, sched-rtds and cpupool-list (tools/xl/xl_sched.c,
 * xl_cpupool.c, 4.17): xl's option checks in xl's order, its messages and exit
 * statuses, the daemon doing libxl's part (sched-service.ts). Where libxl would log
 * why it failed, "xenemu: <reason>" says it (libxl's words), then xl's own line.
 *
 * The emulated host has one cpupool, Pool-0, run by the scheduler Xen booted with
 * (`xl info`'s xen_scheduler, credit2 by default). A command for another scheduler
 * does what xl does there: its listing shows no pool, `-d DOM` says what scheduler
 * the domain has, `-s` finds the pool's parameters unavailable.
 */

import { RpcCallError } from '../client/rpc-client.js';
import { TypedClient } from '../client/typed-client.js';
import { atoi } from '../common/c-number.js';
import type { XenScheduler } from '../hypervisor/host-model.js';
import type { DomainSchedParams } from '../hypervisor/scheduler.js';
import type { DomainSchedRow, SchedRpc } from '../protocol/sched-rpc.js';
import type { CpupoolInfo } from '../toolstack/sched.js';
import {
  credit2PoolLine,
  creditPoolLine,
  formatCpupoolList,
  rtdsDomainLine,
  rtdsPoolLine,
  rtdsVcpuLine,
  SCHED_CREDIT_HEADER,
  SCHED_RTDS_HEADER,
  SCHED_RTDS_VCPU_HEADER,
  schedCreditLine,
} from '../ui/xl/sched.js';
import { findDomain, XlFailure, type XlContext, type XlOutput } from './xl-commands.js';

type Sched = TypedClient<SchedRpc>;

/** LIBXL_DOMAIN_SCHED_PARAM_WEIGHT_DEFAULT and _CAP_DEFAULT: libxl leaves a -1 as it is. */
const PARAM_DEFAULT = -1;

async function schedClient(ctx: XlContext): Promise<Sched> {
  return new TypedClient<SchedRpc>((await ctx.client()).rpc);
}

/** A daemon call that fails as libxl does: our reason, then xl's line, exit 1 (stdout: what xl had printed). */
async function orXl<T>(call: Promise<T>, xlLine: string, stdout = ''): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof RpcCallError) throw new XlFailure(`xenemu: ${err.message}\n${xlLine}`, 1, stdout);
    throw err;
  }
}

/** libxl_cpupool_qualifier_to_cpupoolid() + libxl_cpupoolid_is_valid(), or xl's "unknown cpupool". */
async function findPool(sched: Sched, qualifier: string): Promise<CpupoolInfo> {
  const pool = await sched.call('cpupool.find', { qualifier });
  if (pool === null) throw new XlFailure(`unknown cpupool '${qualifier}'\n`, 1);
  return pool;
}

/**
 * What sched_domain_output() walks: the pools run by `which` (only `cpupool`, when one
 * is named: an unknown one is xl's failure), and every domain's row.
 */
async function poolsRunBy(sched: Sched, which: XenScheduler, cpupool: string | undefined): Promise<{ pools: CpupoolInfo[]; domains: DomainSchedRow[] }> {
  const only = cpupool === undefined ? undefined : await findPool(sched, cpupool);
  const pools = (await sched.call('cpupool.list', {})).filter((p) => p.sched === which && (only === undefined || only.poolid === p.poolid));
  return { pools, domains: await sched.call('sched.domain.get', {}) };
}

/** The pool's parameter line, as sched_credit*_pool_output() prints it: a failure to read them is said on stderr, and the line says so. */
type PoolLine = (ctx: XlContext, sched: Sched, pool: CpupoolInfo) => Promise<string>;

function poolOutput<P>(get: (sched: Sched, poolid: number) => Promise<P>, line: (pool: string, p: P | null) => string, failed: string): PoolLine {
  return async (ctx, sched, pool) => {
    try {
      return line(pool.name, await get(sched, pool.poolid));
    } catch (err) {
      if (!(err instanceof RpcCallError)) throw err;
      ctx.note(`xenemu: ${err.message}\n${failed}`);
      return line(pool.name, null);
    }
  };
}

const creditPoolOutput = poolOutput((s, poolid) => s.call('sched.credit.get', { poolid }), creditPoolLine, 'libxl_sched_credit_params_get failed.\n');
const credit2PoolOutput = poolOutput((s, poolid) => s.call('sched.credit2.get', { poolid }), credit2PoolLine, 'libxl_sched_credit2_params_get failed.\n');

/** The rows a listing shows (a domain under another scheduler has no weight: it is in no pool shown). */
const weighted = (r: DomainSchedRow): { name: string; domid: number; weight: number; cap: number } => ({ name: r.name, domid: r.domid, weight: r.weight ?? 0, cap: r.cap ?? 0 });

/**
 * sched_domain_output(): for each pool run by `which` (only `cpupool` if given), its
 * parameter line, the header, and its domains. A pool under another scheduler is
 * skipped without a word, so on the wrong scheduler this prints nothing, status 0.
 */
async function schedDomainOutput(ctx: XlContext, sched: Sched, which: 'credit' | 'credit2', poolLine: PoolLine, cpupool: string | undefined): Promise<XlOutput<DomainSchedRow[]>> {
  const { pools, domains } = await poolsRunBy(sched, which, cpupool);
  let out = '';
  const shown: DomainSchedRow[] = [];
  for (const pool of pools) {
    out += await poolLine(ctx, sched, pool);
    out += SCHED_CREDIT_HEADER;
    for (const d of domains.filter((r) => r.cpupool === pool.poolid)) {
      out += schedCreditLine(weighted(d));
      shown.push(d);
    }
  }
  return { stdout: out, data: shown };
}

/**
 * `-d DOM` alone: the header, then the domain's line, or libxl's failure (a domain
 * that does not exist) or xl's when the domain's pool runs another scheduler.
 */
async function schedDomainOne(ctx: XlContext, sched: Sched, which: 'credit' | 'credit2', domain: string): Promise<XlOutput<DomainSchedRow[]>> {
  const domid = await findDomain(await ctx.client(), domain);
  const [row] = await orXl(sched.call('sched.domain.get', { refs: [String(domid)] }), 'libxl_domain_sched_params_get failed.\n', SCHED_CREDIT_HEADER);
  if (row!.sched !== which) throw new XlFailure(`libxl_domain_sched_params_get returned ${row!.sched} not ${which}.\n`, 1, SCHED_CREDIT_HEADER);
  return { stdout: SCHED_CREDIT_HEADER + schedCreditLine(weighted(row!)), data: [row!] };
}

/** `-d DOM -w W -c C`: libxl_domain_sched_params_set() under `which`; -1 leaves a value as it is, as in libxl. */
async function schedDomainSet(ctx: XlContext, sched: Sched, which: 'credit' | 'credit2', domain: string, weight: number | undefined, cap: number | undefined): Promise<XlOutput<DomainSchedParams & { domid: number }>> {
  const domid = await findDomain(await ctx.client(), domain);
  const change = {
    ...(weight !== undefined && weight !== PARAM_DEFAULT ? { weight } : {}),
    ...(cap !== undefined && cap !== PARAM_DEFAULT ? { cap } : {}),
  };
  const now = await orXl(sched.call('sched.domain.set', { ref: String(domid), sched: which, ...change }), 'libxl_domain_sched_params_set failed.\n');
  return { stdout: '', data: { domid, ...now } };
}

export interface XlSchedCreditOptions {
  /** -d */
  domain?: string;
  /** -w, -c: as typed (xl converts them with strtol into an int). */
  weight?: string;
  cap?: string;
  /** -s */
  schedparam: boolean;
  /** -t, -r, -m (credit only for -t and -m). */
  tslice?: string;
  ratelimit?: string;
  migrDelay?: string;
  /** -p */
  cpupool?: string;
}

const int = (s: string | undefined): number | undefined => (s === undefined ? undefined : atoi(s));

/** main_sched_credit(). */
export async function xlSchedCredit(ctx: XlContext, o: XlSchedCreditOptions): Promise<XlOutput<unknown>> {
  const domainOpts = o.domain !== undefined || o.weight !== undefined || o.cap !== undefined;
  if ((o.cpupool !== undefined || o.schedparam) && domainOpts) throw new XlFailure('Specifying a cpupool or schedparam is not allowed with domain options.\n', 1);
  if (o.domain === undefined && (o.weight !== undefined || o.cap !== undefined)) throw new XlFailure('Must specify a domain.\n', 1);
  const setting = o.tslice !== undefined || o.ratelimit !== undefined || o.migrDelay !== undefined;
  if (!o.schedparam && setting) throw new XlFailure('Must specify schedparam to set schedule parameter values.\n', 1);
  const sched = await schedClient(ctx);
  if (o.schedparam) {
    const pool = o.cpupool === undefined ? (await sched.call('cpupool.list', {}))[0]! : await findPool(sched, o.cpupool);
    if (!setting) return { stdout: await creditPoolOutput(ctx, sched, pool), data: pool };
    const now = await orXl(sched.call('sched.credit.get', { poolid: pool.poolid }), 'libxl_sched_credit_params_get failed.\n');
    const wanted = {
      tsliceMs: int(o.tslice) ?? now.tsliceMs,
      ratelimitUs: int(o.ratelimit) ?? now.ratelimitUs,
      vcpuMigrDelayUs: int(o.migrDelay) ?? now.vcpuMigrDelayUs,
    };
    const set = await orXl(sched.call('sched.credit.set', { poolid: pool.poolid, ...wanted }), 'libxl_sched_credit_params_set failed.\n');
    return { stdout: '', data: set };
  }
  if (o.domain === undefined) return schedDomainOutput(ctx, sched, 'credit', creditPoolOutput, o.cpupool);
  if (o.weight === undefined && o.cap === undefined) return schedDomainOne(ctx, sched, 'credit', o.domain);
  return schedDomainSet(ctx, sched, 'credit', o.domain, int(o.weight), int(o.cap));
}

/** main_sched_credit2(): as sched-credit, but -s takes only -r, and -s with -d is not refused (-s wins). */
export async function xlSchedCredit2(ctx: XlContext, o: Omit<XlSchedCreditOptions, 'tslice' | 'migrDelay'>): Promise<XlOutput<unknown>> {
  const domainOpts = o.domain !== undefined || o.weight !== undefined || o.cap !== undefined;
  if (o.cpupool !== undefined && domainOpts) throw new XlFailure('Specifying a cpupool is not allowed with other options.\n', 1);
  if (o.domain === undefined && (o.weight !== undefined || o.cap !== undefined)) throw new XlFailure('Must specify a domain.\n', 1);
  const sched = await schedClient(ctx);
  if (o.schedparam) {
    const pool = o.cpupool === undefined ? (await sched.call('cpupool.list', {}))[0]! : await findPool(sched, o.cpupool);
    if (o.ratelimit === undefined) return { stdout: await credit2PoolOutput(ctx, sched, pool), data: pool };
    const set = await orXl(sched.call('sched.credit2.set', { poolid: pool.poolid, ratelimitUs: atoi(o.ratelimit) }), 'libxl_sched_credit2_params_set failed.\n');
    return { stdout: '', data: set };
  }
  // -r without -s is ignored, as xl ignores it.
  if (o.domain === undefined) return schedDomainOutput(ctx, sched, 'credit2', credit2PoolOutput, o.cpupool);
  if (o.weight === undefined && o.cap === undefined) return schedDomainOne(ctx, sched, 'credit2', o.domain);
  return schedDomainSet(ctx, sched, 'credit2', o.domain, int(o.weight), int(o.cap));
}

/** main_cpupoollist(): a pool named as an operand must exist (by name only: libxl_name_to_cpupoolid). */
export async function xlCpupoolList(ctx: XlContext, o: { pool?: string; cpus: boolean }): Promise<XlOutput<CpupoolInfo[]>> {
  const sched = await schedClient(ctx);
  const pools = await sched.call('cpupool.list', {});
  let shown = pools;
  if (o.pool !== undefined) {
    shown = pools.filter((p) => p.name === o.pool);
    if (shown.length === 0) throw new XlFailure(`Pool '${o.pool}' does not exist\n`, 1);
  }
  return { stdout: formatCpupoolList(shown, { cpus: o.cpus }), data: shown };
}

export interface XlSchedRtdsOptions {
  /** -d */
  domain?: string;
  /** -v, in order: a vCPU id or "all". */
  vcpus: readonly string[];
  /** -p, -b, -e, in order. */
  periods: readonly string[];
  budgets: readonly string[];
  extratimes: readonly string[];
  /**
   * The cpupool: xl's optstring has "c" without an argument, so `-c` sets it to NULL and
   * only --cpupool=POOL names one (the last of them counts).
   */
  cpupool?: string;
}

/**
 * main_sched_rtds(): xl's checks, then the listing (pools run by RTDS, with each
 * domain's defaults or, with -v all, every vCPU's parameters), one domain's, some of
 * its vCPUs', or their setting. On a pool run by another scheduler it fails as xl does
 * there: listings show no pool, `-d DOM` names the scheduler, per-vCPU reads are refused
 * as libxl refuses them, settings as Xen does.
 */
export async function xlSchedRtds(ctx: XlContext, o: XlSchedRtdsOptions): Promise<XlOutput<unknown>> {
  if (o.extratimes.some((e) => e !== '0' && e !== '1')) throw new XlFailure('Invalid extratime.\n', 1);
  const all = o.vcpus.includes('all');
  const ids = o.vcpus.filter((v) => v !== 'all').map(atoi);
  const [optP, optB, optE, optV] = [o.periods.length > 0, o.budgets.length > 0, o.extratimes.length > 0, ids.length > 0];
  if (o.cpupool !== undefined && (o.domain !== undefined || optP || optB || optE || optV || all)) throw new XlFailure('Specifying a cpupool is not allowed with other options.\n', 1);
  if (o.domain === undefined && (optP || optB || optE || optV)) throw new XlFailure('Missing parameters.\n', 1);
  if (o.domain !== undefined && !optV && !all && (optP || optB || optE)) throw new XlFailure('Must specify VCPU.\n', 1);
  if (optV && all) throw new XlFailure('Incorrect VCPU IDs.\n', 1);
  const [nV, nP, nB, nE] = [ids.length, o.periods.length, o.budgets.length, o.extratimes.length];
  if ((nV > nB && optB) || (nV > nP && optP) || (nV > nE && optE) || nP !== nB || nP !== nE) throw new XlFailure('Incorrect number of period, budget and extratime\n', 1);
  const sched = await schedClient(ctx);
  if (o.domain === undefined) return rtdsListing(sched, all, o.cpupool);
  const domid = await findDomain(await ctx.client(), o.domain);
  if (!optV && !all) {
    const [row] = await orXl(sched.call('sched.domain.get', { refs: [String(domid)] }), 'libxl_domain_sched_params_get failed.\n', SCHED_RTDS_HEADER);
    if (row!.sched !== 'rtds') throw new XlFailure(`libxl_domain_sched_params_get returned ${row!.sched} not rtds.\n`, 1, SCHED_RTDS_HEADER);
    return { stdout: SCHED_RTDS_HEADER + rtdsDomainLine(row!), data: [row!] };
  }
  if (!optP && !optB && !optE) {
    const failed = optV ? 'libxl_vcpu_sched_params_get failed.\n' : 'libxl_vcpu_sched_params_get_all failed.\n';
    const vcpus = await orXl(sched.call('sched.rtds.vcpuGet', { ref: String(domid), ...(optV ? { vcpuids: ids } : {}) }), failed, SCHED_RTDS_VCPU_HEADER);
    const name = await (await ctx.client()).domname(domid);
    return { stdout: SCHED_RTDS_VCPU_HEADER + vcpus.map((v) => rtdsVcpuLine(name, domid, v)).join(''), data: vcpus };
  }
  const params = (i: number, vcpuid: number) => ({ vcpuid, period: atoi(o.periods[i]!), budget: atoi(o.budgets[i]!), extratime: o.extratimes[i] === '1' });
  const vcpus = optV ? ids.map((id, i) => params(i, id)) : [params(0, 0)];
  const failed = optV ? 'libxl_vcpu_sched_params_set failed.\n' : 'libxl_vcpu_sched_params_set_all failed.\n';
  const now = await orXl(sched.call('sched.rtds.vcpuSet', { ref: String(domid), vcpus, all: !optV }), failed);
  return { stdout: '', data: { domid, vcpus: now } };
}

/**
 * sched_domain_output() / sched_vcpu_output() for RTDS: each pool run by RTDS, the
 * header, and its domains' defaults or (`all`) every vCPU's parameters. A vCPU read
 * that fails ends xl at once, with what it printed.
 */
async function rtdsListing(sched: Sched, all: boolean, cpupool: string | undefined): Promise<XlOutput<unknown>> {
  const { pools, domains } = await poolsRunBy(sched, 'rtds', cpupool);
  let out = '';
  for (const pool of pools) {
    out += rtdsPoolLine(pool.name) + (all ? SCHED_RTDS_VCPU_HEADER : SCHED_RTDS_HEADER);
    for (const d of domains.filter((r) => r.cpupool === pool.poolid)) {
      if (!all) {
        out += rtdsDomainLine(d);
        continue;
      }
      const vcpus = await orXl(sched.call('sched.rtds.vcpuGet', { ref: String(d.domid) }), 'libxl_vcpu_sched_params_get_all failed.\n', out);
      out += vcpus.map((v) => rtdsVcpuLine(d.name, d.domid, v)).join('');
    }
  }
  return { stdout: out, data: domains.filter((d) => d.sched === 'rtds') };
}
