/**
 * What libxl hands xl for its listing commands (libxl_dominfo, libxl_vcpuinfo,
 * libxl_physinfo, ...): the daemon's answers and the xl formatters' inputs (src/ui/xl).
 * They carry the raw values (KiB, nanoseconds, page counts, bitmaps) rather than
 * pre-rounded ones, so that the formatters can repeat xl's own arithmetic: `xl list`
 * divides KiB by 1024 in integers and converts nanoseconds through a C float.
 *
 * Nothing here imports the hypervisor model: the caller maps its objects to these.
 */

import { SHUTDOWN } from '../../abi/constants.js';
import type { LibxlDomainConfig } from './idl.js';

const { MAX: _max, ...SCHEDOP_REASONS } = SHUTDOWN;

/** libxl_shutdown_reason's values: the guest's SCHEDOP_shutdown reasons (sched.h), unknown -1. */
export const SHUTDOWN_REASON_CODE = Object.freeze({ unknown: -1, ...SCHEDOP_REASONS });

/** libxl_shutdown_reason, as the guest's SCHEDOP_shutdown reason (sched.h). */
export type XlShutdownReason = keyof typeof SHUTDOWN_REASON_CODE;

/** One domain as `xl list` sees it (libxl_dominfo). */
export interface XlDomainRow {
  domid: number;
  /** libxl_domid_to_name(); xl prints "(null)" when it has none (glibc's %s of NULL). */
  name: string | null;
  /** libxl_dominfo.current_memkb (pages × 4). */
  currentMemKb: number | bigint;
  /** libxl_dominfo.outstanding_memkb (claims); xl adds it to Mem. Default 0. */
  outstandingMemKb?: number | bigint;
  /** libxl_dominfo.vcpu_online. */
  vcpusOnline: number;
  stateFlags: { running: boolean; blocked: boolean; paused: boolean; shutdown: boolean; dying: boolean };
  /** Used only while stateFlags.shutdown is set, like xl does. */
  shutdownReason?: XlShutdownReason;
  /** libxl_dominfo.cpu_time, nanoseconds. */
  cpuTimeNs: number | bigint;
  /** The 16-byte handle as a UUID string (any case; printed lower-case). */
  uuid: string;
  /** libxl_dominfo.ssid_label (XSM/FLASK); "-" when absent. For -v / -Z. */
  ssidLabel?: string | null;
  /** libxl_cpupoolid_to_name(); for -c. */
  cpupoolName?: string | null;
  /** libxl_domain_get_nodeaffinity(); for -n. */
  nodeAffinity?: readonly number[] | 'all';
}

/** One vCPU as `xl vcpu-list` sees it (libxl_vcpuinfo). */
export interface XlVcpuRow {
  domName: string | null;
  domid: number;
  vcpuid: number;
  /** Not online: xl prints "-" for the CPU and "--p" for the state. */
  online: boolean;
  running: boolean;
  blocked: boolean;
  /** The pCPU it runs on or last ran on; printed only while online. */
  cpu: number;
  /** libxl_vcpuinfo.vcpu_time, nanoseconds. */
  vcpuTimeNs: number | bigint;
  /** Set CPUs of the hard affinity map, or 'all' for a full map. */
  hardAffinity: readonly number[] | 'all';
  softAffinity: readonly number[] | 'all';
  /**
   * xenemu's `vcpu-list -l` extension: where this vCPU's vcpu_info lives, e.g.
   * "shared_info slot 3" or "gfn 0x1234+0x40" after VCPUOP_register_vcpu_info.
   */
  vcpuInfoLocation?: string;
}

/** One line of `xl info -n`'s cpu_topology (libxl_cputopology); null for an invalid entry. */
export interface XlCpuTopology {
  core: number;
  socket: number;
  node: number;
}

/** One line of `xl info -n`'s numa_info (libxl_numainfo); null for an invalid entry. */
export interface XlNumaNode {
  sizeBytes: number | bigint;
  freeBytes: number | bigint;
  distances: readonly number[];
}

/** One line of `xl info -n`'s device topology (libxl_pcitopology); null when node is invalid. */
export interface XlPciTopology {
  seg: number;
  bus: number;
  devfn: number;
  node: number;
}

/**
 * Everything `xl info` prints, as libxl returns it: uname(2), libxl_physinfo,
 * libxl_version_info and the scheduler. xl_info.c does the unit conversions.
 */
export interface XlInfo {
  uname: { nodename: string; release: string; version: string; machine: string };
  physinfo: {
    nr_cpus: number;
    max_cpu_id: number;
    nr_nodes: number;
    cores_per_socket: number;
    threads_per_core: number;
    cpu_khz: number;
    /** Eight 32-bit words. */
    hw_cap: readonly number[];
    cap_pv: boolean;
    cap_hvm: boolean;
    cap_hvm_directio: boolean;
    cap_hap: boolean;
    cap_shadow: boolean;
    cap_iommu_hap_pt_share: boolean;
    cap_vmtrace: boolean;
    cap_vpmu: boolean;
    cap_gnttab_v1: boolean;
    cap_gnttab_v2: boolean;
    total_pages: number | bigint;
    free_pages: number | bigint;
    outstanding_pages: number | bigint;
    sharing_freed_pages: number | bigint;
    sharing_used_frames: number | bigint;
  };
  /** libxl_get_freecpus(): the CPUs in no cpupool. Omit when that call fails (no line). */
  freeCpus?: readonly number[];
  /** libxl_get_version_info(); omit when it fails (no memory and no xen_* lines). */
  version?: {
    xen_version_major: number;
    xen_version_minor: number;
    xen_version_extra: string;
    capabilities: string;
    pagesize: number;
    virt_start: number | bigint;
    changeset: string;
    commandline: string;
    compiler: string;
    compile_by: string;
    compile_domain: string;
    compile_date: string;
    build_id: string;
  };
  /** libxl_scheduler_to_string(libxl_get_scheduler()): "credit", "credit2", "rtds", "arinc653", "null". */
  scheduler: string;
  /** For `xl info -n`. */
  cpuTopology?: readonly (XlCpuTopology | null)[];
  pciTopology?: readonly (XlPciTopology | null)[];
  numaInfo?: readonly (XlNumaNode | null)[];
}

/** One line of `xl uptime`. */
export interface XlUptimeRow {
  name: string | null;
  domid: number;
  /** Seconds as the uint32_t xl keeps: see domainUptime() for a domU. */
  uptimeSeconds: number;
}

/** One element of `xl list -l`: the domain id and its libxl_domain_config. */
export interface XlListLongEntry {
  domid: number;
  config: LibxlDomainConfig;
}
