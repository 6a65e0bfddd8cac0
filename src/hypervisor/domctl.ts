import { XEN_DOMCTL_SHADOW_LOGDIRTY, XEN_DOMCTL_SHADOW_OP } from '../abi/index.js';
import type { Domain, ShutdownReason } from './domain.js';
import { writablyGranted } from './gnttab.js';
import { HypervisorError, type Hypervisor, type NewDomainSpec } from './hypervisor.js';
import { placeAfterAffinity } from './placement.js';
import type { Credit2PoolParams, CreditPoolParams, DomainSchedParams, RtdsVcpuParams, WeightedScheduler } from './scheduler.js';
import { sendTrigger, type DomainTrigger } from './triggers.js';

/** XEN_DOMCTL_SHADOW_OP_CLEAN / PEEK's answer: the dirty bitmap and its stats. */
export interface LogDirtyBitmap {
  /** Bit n of byte n/8 is frame n, as the dirty_bitmap buffer holds it. */
  bitmap: Uint8Array;
  /** Frames the bitmap covers (the op's `pages` OUT). */
  pages: number;
  /** struct xen_domctl_shadow_op_stats. */
  stats: { faultCount: number; dirtyCount: number };
}

/**
 * The toolstack's way to change domains: the privileged operations libxc issues as
 * XEN_DOMCTL_* (public/domctl.h) and its few other privileged calls (HVMOP_set_param
 * on another domain, SCHEDOP_remote_shutdown), one method each, named after the libxc
 * call. Everything the toolstack changes in a domain goes through here, so the
 * hypervisor's objects are only written by the hypervisor, and what a later save
 * records is exactly what these calls and the guest's hypercalls made.
 */
export class Domctl {
  constructor(private readonly hv: Hypervisor) {}

  /** XEN_DOMCTL_createdomain with XEN_DOMCTL_max_vcpus and max_mem (xc_domain_create): the domain is paused. */
  createDomain(spec: NewDomainSpec): Domain {
    return this.hv.createDomain(spec);
  }

  /** XEN_DOMCTL_destroydomain (xc_domain_destroy). */
  destroyDomain(domid: number): void {
    this.hv.destroy(domid);
  }

  /** XEN_DOMCTL_pausedomain (xc_domain_pause): pauses nest. */
  pauseDomain(domid: number): void {
    this.hv.pause(domid);
  }

  /** XEN_DOMCTL_unpausedomain (xc_domain_unpause). */
  unpauseDomain(domid: number): void {
    this.hv.unpause(domid);
  }

  /** SCHEDOP_remote_shutdown (xc_domain_shutdown): shut another domain down, as if it had asked. */
  shutdownDomain(domid: number, reason: ShutdownReason): void {
    this.hv.shutdown(domid, reason);
  }

  /** XEN_DOMCTL_resumedomain (xc_domain_resume's cooperative path): a suspended domain runs again in place. */
  resumeDomain(domid: number): void {
    this.hv.resumeDomain(domid);
  }

  /** XEN_DOMCTL_sendtrigger (xc_domain_send_trigger): an NMI, or an ACPI button of an HVM guest. */
  sendTrigger(domid: number, trigger: DomainTrigger, vcpu: number): void {
    sendTrigger(this.hv.get(domid), trigger, vcpu, this.hv.clock);
  }

  /**
   * XEN_DOMCTL_max_mem (xc_domain_setmaxmem): Xen's max_pages. Like Xen, a limit below
   * the current allocation is accepted: the domain cannot grow until it has shrunk below it.
   */
  setMaxMem(domid: number, kib: number): void {
    this.hv.get(domid).maxKiB = kib;
  }

  /**
   * Not a Xen call: Xen knows no balloon target (libxl keeps it in memory/target). xenemu
   * keeps a copy on the domain, which list -l and mem-max read, and mem-set updates here.
   */
  setMemoryTarget(domid: number, kib: number): void {
    this.hv.get(domid).targetKiB = kib;
  }

  /**
   * XEN_DOMCTL_setvcpuaffinity (xc_vcpu_setaffinity): hard and soft affinity of one
   * vCPU; `undefined` leaves that one as it is, null means every CPU. The toolstack
   * checks the CPUs against the host (libxl_set_vcpuaffinity does); Xen refuses (EINVAL)
   * a hard affinity with no online CPU in it.
   */
  setVcpuAffinity(domid: number, vcpu: number, hard: number[] | null | undefined, soft: number[] | null | undefined): void {
    const d = this.hv.get(domid);
    const v = d.vcpus[vcpu];
    if (v === undefined) throw new HypervisorError('EINVAL', `domain ${domid} has no vCPU ${vcpu}`);
    // vcpu_set_hard_affinity() (sched/core.c): a hard affinity must meet the online CPUs
    // (every host CPU here: there are no cpupools), or the vCPU could never run.
    const pcpus = this.hv.host.pcpus;
    if (hard != null && !hard.some((cpu) => cpu >= 0 && cpu < pcpus)) {
      throw new HypervisorError('EINVAL', `domain ${domid} vCPU ${vcpu}: the hard affinity has no online CPU (the host has CPUs 0-${pcpus - 1})`);
    }
    if (hard !== undefined) v.hardAffinity = hard === null ? null : [...hard];
    if (soft !== undefined) v.softAffinity = soft === null ? null : [...soft];
    v.pcpu = placeAfterAffinity(v.pcpu, v.hardAffinity, v.softAffinity, this.hv.host.pcpus);
  }

  /**
   * XEN_DOMCTL_scheduler_op (xc_sched_credit_domain_get/set, xc_sched_credit2_domain_get/set):
   * the domain's weight and cap under `sched`, which must be its pool's scheduler
   * (EINVAL otherwise); with `put`, set them first.
   */
  schedulerOp(domid: number, sched: WeightedScheduler, put?: DomainSchedParams): DomainSchedParams {
    const d = this.hv.get(domid);
    const now = this.hv.scheduler.domainParams(d.sched, d.vcpus.length, sched, put);
    d.sched = now;
    return { ...now };
  }

  /** XEN_DOMCTL_scheduler_op getinfo under RTDS (xc_sched_rtds_domain_get): Xen's default period and budget. */
  rtdsDomainGet(domid: number): { periodUs: number; budgetUs: number } {
    this.hv.get(domid);
    return this.hv.scheduler.rtdsDomain();
  }

  /**
   * XEN_DOMCTL_SCHEDOP_getvcpuinfo / putvcpuinfo under RTDS (xc_sched_rtds_vcpu_get/set):
   * the vCPUs' parameters, set first with `put`; a vCPU the domain does not have is EINVAL,
   * and a put stops at the first one refused, as rt_dom_cntl's loop does.
   */
  rtdsVcpus(domid: number, vcpuids: readonly number[], put?: readonly RtdsVcpuParams[]): RtdsVcpuParams[] {
    const d = this.hv.get(domid);
    this.hv.scheduler.checkRtds();
    return vcpuids.map((id, i) => {
      const v = d.vcpus[id];
      if (v === undefined) throw new HypervisorError('EINVAL', `domain ${domid} has no vCPU ${id}`);
      if (put !== undefined) v.rtds = this.hv.scheduler.rtdsVcpu(put[i]!);
      return { ...v.rtds };
    });
  }

  /** XEN_SYSCTL_scheduler_op for credit (xc_sched_credit_params_get/set): a cpupool's global parameters. */
  creditParams(poolid: number, put?: CreditPoolParams): CreditPoolParams {
    return this.hv.scheduler.creditParams(poolid, put);
  }

  /** XEN_SYSCTL_scheduler_op for credit2 (xc_sched_credit2_params_get/set). */
  credit2Params(poolid: number, put?: Credit2PoolParams): Credit2PoolParams {
    return this.hv.scheduler.credit2Params(poolid, put);
  }

  /**
   * The domain's name. Xen keeps no names (they live in XenStore); xenemu's hypervisor
   * keeps one for its console log and listings, and this is the only way to change it.
   */
  setDomainName(domid: number, name: string): void {
    this.hv.get(domid).name = name;
  }

  /**
   * XEN_DOMCTL_shadow_op's log-dirty operations (xc_shadow_control), as libxc's save
   * code drives them: ENABLE_LOGDIRTY before the first round (EINVAL if on already),
   * CLEAN after each round for what was written since the previous one, OFF when the
   * migration ends either way. PEEK is CLEAN without clearing; both are EINVAL with
   * log-dirty off.
   *
   * `mode` XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL (the round after the suspend) also reports
   * the frames written behind the log's back: those Xen holds writable (a registered
   * vcpu_info, which Xen updates on every event), those another domain holds a
   * writable grant mapping of, and those a privileged domain has mapped by frame
   * number (the rings dom0's backends, xenstored and xenconsoled keep mapped). Their
   * unmaps mark them too; until then only this tells.
   */
  shadowControl(domid: number, op: number, mode = 0): LogDirtyBitmap | null {
    const d = this.hv.get(domid);
    const memory = d.memory;
    switch (op) {
      case XEN_DOMCTL_SHADOW_OP.ENABLE_LOGDIRTY:
        if (memory.logDirty) throw new HypervisorError('EINVAL', `domain ${domid}: log-dirty mode is already on`);
        memory.enableLogDirty();
        return null;
      case XEN_DOMCTL_SHADOW_OP.OFF:
        memory.disableLogDirty();
        return null;
      case XEN_DOMCTL_SHADOW_OP.CLEAN:
      case XEN_DOMCTL_SHADOW_OP.PEEK: {
        if (!memory.logDirty) throw new HypervisorError('EINVAL', `domain ${domid}: log-dirty mode is off`);
        if ((mode & XEN_DOMCTL_SHADOW_LOGDIRTY.FINAL) !== 0) for (const gfn of this.heldWritable(d)) memory.markDirty(gfn);
        const r = memory.dirtyBitmap(op === XEN_DOMCTL_SHADOW_OP.CLEAN);
        return { bitmap: r.bitmap, pages: memory.maxPages, stats: { faultCount: r.faultCount, dirtyCount: r.dirtyCount } };
      }
      default:
        throw new HypervisorError('EINVAL', `domain ${domid}: shadow op ${op} is not a log-dirty operation this hypervisor offers`);
    }
  }

  /**
   * The frames of a domain that have memory behind them, and a read of one (null for a
   * frame never touched, which reads as zeros): what libxc's save reads through
   * read-only foreign mappings (xenforeignmemory_map with PROT_READ), which neither
   * take a reference nor dirty anything.
   */
  backedFrames(domid: number): number[] {
    return this.hv.get(domid).memory.backedFrames();
  }

  readFrame(domid: number, gfn: number): Uint8Array | null {
    return this.hv.get(domid).memory.backedPage(gfn);
  }

  /** The frames of `d` that the hypervisor or another domain holds writable now: their writes are not reported (markDirty). */
  heldWritable(d: Domain): number[] {
    const gfns: number[] = [];
    for (const v of d.vcpus) if (v.vcpuInfo.kind === 'registered' && v.vcpuInfo.gfn >= 0) gfns.push(v.vcpuInfo.gfn);
    if (d.grantTable !== null) gfns.push(...writablyGranted(d));
    for (const other of this.hv.domains.values()) gfns.push(...other.foreignMaps.framesOf(d.domid));
    return gfns;
  }

  /** HVMOP_set_param on another domain (xc_hvm_param_set): HVM_PARAM_STORE_PFN, VIRIDIAN, ... */
  setHvmParam(domid: number, index: number, value: bigint): void {
    this.hv.setHvmParam(domid, index, value);
  }
}
