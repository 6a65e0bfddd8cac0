import { cpus, hostname, totalmem } from 'node:os';

/**
 * The emulated machine: how many physical CPUs and how much memory Xen sees, and the
 * version strings it reports. Defaults come from this machine; a host may be made
 * smaller or bigger than the real one (memory is only accounted, not allocated).
 */
/** The most physical CPUs an emulated host may have (host.yaml's pcpus). */
export const MAX_PCPUS = 4096;

export interface HostModel {
  pcpus: number;
  totalMemoryMiB: number;
  /** Memory Xen keeps for itself (the difference between total and what domains may use). */
  xenReservedMiB: number;
  cpuMhz: number;
  xenMajor: number;
  xenMinor: number;
  xenExtra: string;
  xenCaps: string;
  /** Xen's sched= (opt_sched): what `xl info` and every domain's sched_params name. */
  scheduler: XenScheduler;
  hostname: string;
}

/** The schedulers Xen 4.17 can boot with (xen/common/sched/Kconfig), by their sched= names. */
export const XEN_SCHEDULERS = ['credit', 'credit2', 'rtds', 'arinc653', 'null'] as const;
export type XenScheduler = (typeof XEN_SCHEDULERS)[number];

export function defaultHostModel(overrides: Partial<HostModel> = {}): HostModel {
  const cpuList = cpus();
  return {
    pcpus: cpuList.length || 1,
    totalMemoryMiB: Math.floor(totalmem() / 2 ** 20),
    xenReservedMiB: 64,
    // Some virtual machines report 0 MHz; a Xen host always knows its clock.
    cpuMhz: cpuList[0]?.speed || 2000,
    xenMajor: 4,
    xenMinor: 17,
    xenExtra: '.7-xenemu',
    xenCaps: 'xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64',
    scheduler: 'credit2',
    hostname: hostname(),
    ...overrides,
  };
}
