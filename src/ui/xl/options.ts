/** The xl formatters' options: which columns and how wide, from xl's flags and the host. */

export interface XlListOptions {
  /** -v: UUID, Reason-Code and security label columns. */
  verbose?: boolean;
  /** -Z: the security label column. */
  context?: boolean;
  /** -c: the cpupool column. */
  cpupool?: boolean;
  /** -n: the NUMA node affinity column; needs nrNodes. */
  numa?: boolean;
  /** `xl claims`: the Claimed column. */
  claim?: boolean;
  /** libxl_physinfo.nr_nodes, the width of the -n bitmap. */
  nrNodes?: number;
}

export interface XlVcpuListOptions {
  /** libxl_physinfo.max_cpu_id + 1: how many bits of each affinity map xl prints. */
  nrCpus: number;
  /** xenemu's -l: append the vcpu_info column. */
  long?: boolean;
}
