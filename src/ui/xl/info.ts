/**
 * `xl info [-n] [NAME]` as tools/xl/xl_info.c (print_info and its output_* helpers)
 * prints it in 4.17: uname, physinfo, [topology and NUMA for -n,] Xen version info,
 * then xend_config_format. Keys are padded to 23 columns before ": ".
 */

import { cprintf } from './cprintf.js';
import type { XlInfo } from '../../toolstack/libxl/rows.js';

export interface XlInfoOptions {
  /** -n: the cpu_topology, device topology and numa_info blocks. */
  numa?: boolean;
  /**
   * `xl info NAME` (ignored with -n): print only the values of lines whose text starts
   * with NAME and has ": " after the key — so "xen_" prints every xen_* value and
   * "virt_caps" prints nothing when no capability follows the colon.
   */
  only?: string;
}

export function formatInfo(info: XlInfo, options: XlInfoOptions = {}): string {
  const only = options.numa ? undefined : options.only;
  let out = '';
  // maybe_printf(): unfiltered, or the part after ": " of a line whose text starts
  // with the filter (strncmp over the filter's length) and has ':' then ' '.
  const maybe = (line: string): void => {
    if (only === undefined) {
      out += line;
      return;
    }
    const colon = line.indexOf(':');
    if (line.startsWith(only) && colon >= 0 && line[colon + 1] === ' ') out += line.slice(colon + 2);
  };

  // output_nodeinfo()
  maybe(cprintf('host                   : %s\n', info.uname.nodename));
  maybe(cprintf('release                : %s\n', info.uname.release));
  maybe(cprintf('version                : %s\n', info.uname.version));
  maybe(cprintf('machine                : %s\n', info.uname.machine));

  // output_physinfo()
  const p = info.physinfo;
  maybe(cprintf('nr_cpus                : %d\n', p.nr_cpus));
  maybe(cprintf('max_cpu_id             : %d\n', p.max_cpu_id));
  maybe(cprintf('nr_nodes               : %d\n', p.nr_nodes));
  maybe(cprintf('cores_per_socket       : %d\n', p.cores_per_socket));
  maybe(cprintf('threads_per_core       : %d\n', p.threads_per_core));
  const khz = p.cpu_khz >>> 0;
  maybe(cprintf('cpu_mhz                : %d.%03d\n', Math.floor(khz / 1000), khz % 1000));
  const cap = (i: number): number => p.hw_cap[i] ?? 0;
  maybe(cprintf('hw_caps                : %08x:%08x:%08x:%08x:%08x:%08x:%08x:%08x\n', cap(0), cap(1), cap(2), cap(3), cap(4), cap(5), cap(6), cap(7)));
  maybe(
    'virt_caps              :' +
      (p.cap_pv ? ' pv' : '') +
      (p.cap_hvm ? ' hvm' : '') +
      (p.cap_hvm && p.cap_hvm_directio ? ' hvm_directio' : '') +
      (p.cap_pv && p.cap_hvm_directio ? ' pv_directio' : '') +
      (p.cap_hap ? ' hap' : '') +
      (p.cap_shadow ? ' shadow' : '') +
      (p.cap_iommu_hap_pt_share ? ' iommu_hap_pt_share' : '') +
      (p.cap_vmtrace ? ' vmtrace' : '') +
      (p.cap_vpmu ? ' vpmu' : '') +
      (p.cap_gnttab_v1 ? ' gnttab-v1' : '') +
      (p.cap_gnttab_v2 ? ' gnttab-v2' : '') +
      '\n',
  );
  const v = info.version;
  if (v !== undefined) {
    // i = (1 << 20) / pagesize, an unsigned int; the page counts are uint64_t.
    const perMiB = BigInt(Math.floor((1 << 20) / (v.pagesize >>> 0)));
    const mib = (pages: number | bigint): bigint => BigInt.asUintN(64, BigInt(pages)) / perMiB;
    maybe(cprintf('total_memory           : %lu\n', mib(p.total_pages)));
    maybe(cprintf('free_memory            : %lu\n', BigInt.asUintN(64, BigInt(p.free_pages) - BigInt(p.outstanding_pages)) / perMiB));
    maybe(cprintf('sharing_freed_memory   : %lu\n', mib(p.sharing_freed_pages)));
    maybe(cprintf('sharing_used_memory    : %lu\n', mib(p.sharing_used_frames)));
    maybe(cprintf('outstanding_claims     : %lu\n', mib(p.outstanding_pages)));
  }
  if (info.freeCpus !== undefined) maybe(cprintf('free_cpus              : %d\n', new Set(info.freeCpus).size));

  if (options.numa) out += formatTopology(info) + formatNumaInfo(info);

  // output_xeninfo()
  if (v !== undefined) {
    maybe(cprintf('xen_major              : %d\n', v.xen_version_major));
    maybe(cprintf('xen_minor              : %d\n', v.xen_version_minor));
    maybe(cprintf('xen_extra              : %s\n', v.xen_version_extra));
    maybe(cprintf('xen_version            : %d.%d%s\n', v.xen_version_major, v.xen_version_minor, v.xen_version_extra));
    maybe(cprintf('xen_caps               : %s\n', v.capabilities));
    maybe(cprintf('xen_scheduler          : %s\n', info.scheduler));
    maybe(cprintf('xen_pagesize           : %u\n', v.pagesize));
    maybe(cprintf('platform_params        : virt_start=0x%lx\n', v.virt_start));
    maybe(cprintf('xen_changeset          : %s\n', v.changeset));
    maybe(cprintf('xen_commandline        : %s\n', v.commandline));
    maybe(cprintf('cc_compiler            : %s\n', v.compiler));
    maybe(cprintf('cc_compile_by          : %s\n', v.compile_by));
    maybe(cprintf('cc_compile_domain      : %s\n', v.compile_domain));
    maybe(cprintf('cc_compile_date        : %s\n', v.compile_date));
    maybe(cprintf('build_id               : %s\n', v.build_id));
  }
  maybe('xend_config_format     : 4\n');
  return out;
}

/** output_topologyinfo(): printed with plain printf, never filtered. */
function formatTopology(info: XlInfo): string {
  let out = 'cpu_topology           :\n';
  out += 'cpu:    core    socket     node\n';
  (info.cpuTopology ?? []).forEach((c, i) => {
    if (c !== null) out += cprintf('%3d:    %4d     %4d     %4d\n', i, c.core, c.socket, c.node);
  });
  out += 'device topology        :\n';
  out += 'device           node\n';
  let valid = 0;
  for (const d of info.pciTopology ?? []) {
    if (d === null) continue;
    out += cprintf('%04x:%02x:%02x.%01x      %d\n', d.seg, d.bus, (d.devfn >> 3) & 0x1f, d.devfn & 7, d.node);
    valid++;
  }
  if (valid === 0) out += 'No device topology data available\n';
  return out;
}

/** output_numainfo(): sizes in MiB (>> 20), distances comma-separated. */
function formatNumaInfo(info: XlInfo): string {
  let out = 'numa_info              :\n';
  out += 'node:    memsize    memfree    distances\n';
  (info.numaInfo ?? []).forEach((n, i) => {
    if (n === null) return;
    const [first, ...rest] = n.distances;
    out += cprintf('%4d:    %6lu     %6lu      %d', i, BigInt(n.sizeBytes) >> 20n, BigInt(n.freeBytes) >> 20n, first ?? 0);
    for (const d of rest) out += cprintf(',%d', d);
    out += '\n';
  });
  return out;
}
