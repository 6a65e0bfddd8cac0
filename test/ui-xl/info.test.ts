// tools/xl/xl_info.c of Xen 4.17: output_nodeinfo, output_physinfo (:189-244),
// output_topologyinfo/output_numainfo, output_xeninfo (:137-172), print_info (:326-341).
import test from 'ava';
import { formatInfo } from '../../src/ui/xl/info.js';
import type { XlInfo } from '../../src/toolstack/libxl/rows.js';

const info: XlInfo = {
  uname: { nodename: 'xenhost', release: '6.1.0-18-amd64', version: '#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)', machine: 'x86_64' },
  physinfo: {
    nr_cpus: 8, max_cpu_id: 7, nr_nodes: 1, cores_per_socket: 4, threads_per_core: 2, cpu_khz: 2904006,
    hw_cap: [0xbfebfbff, 0x77fafbff, 0x2c100800, 0x00000121, 0x0000000f, 0x029c67af, 0, 0x00000100],
    cap_pv: true, cap_hvm: true, cap_hvm_directio: true, cap_hap: true, cap_shadow: true, cap_iommu_hap_pt_share: true,
    cap_vmtrace: false, cap_vpmu: false, cap_gnttab_v1: true, cap_gnttab_v2: false,
    total_pages: 4194048, free_pages: 2621440, outstanding_pages: 256, sharing_freed_pages: 0, sharing_used_frames: 0,
  },
  freeCpus: [],
  version: {
    xen_version_major: 4, xen_version_minor: 17, xen_version_extra: '.7', capabilities: 'xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64',
    pagesize: 4096, virt_start: 0xffff800000000000n, changeset: '', commandline: 'placeholder dom0_mem=2048M,max:2048M', compiler: 'x86_64-linux-gnu-gcc (Debian 12.2.0-14) 12.2.0',
    compile_by: 'pkg-xen-devel', compile_domain: 'lists.alioth.debian.org', compile_date: 'Mon May 12 10:00:00 UTC 2025', build_id: '0123abcd',
  },
  scheduler: 'credit2',
};

const EXPECTED = [
  'host                   : xenhost',
  'release                : 6.1.0-18-amd64',
  'version                : #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)',
  'machine                : x86_64',
  'nr_cpus                : 8',
  'max_cpu_id             : 7',
  'nr_nodes               : 1',
  'cores_per_socket       : 4',
  'threads_per_core       : 2',
  'cpu_mhz                : 2904.006', // "%d.%03d" of cpu_khz
  'hw_caps                : bfebfbff:77fafbff:2c100800:00000121:0000000f:029c67af:00000000:00000100',
  'virt_caps              : pv hvm hvm_directio pv_directio hap shadow iommu_hap_pt_share gnttab-v1',
  'total_memory           : 16383', // pages / (1 MiB / pagesize), integer division
  'free_memory            : 10239', // (free - outstanding) / 256
  'sharing_freed_memory   : 0',
  'sharing_used_memory    : 0',
  'outstanding_claims     : 1',
  'free_cpus              : 0',
  'xen_major              : 4',
  'xen_minor              : 17',
  'xen_extra              : .7',
  'xen_version            : 4.17.7',
  'xen_caps               : xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64',
  'xen_scheduler          : credit2',
  'xen_pagesize           : 4096',
  'platform_params        : virt_start=0xffff800000000000',
  'xen_changeset          : ',
  'xen_commandline        : placeholder dom0_mem=2048M,max:2048M',
  'cc_compiler            : x86_64-linux-gnu-gcc (Debian 12.2.0-14) 12.2.0',
  'cc_compile_by          : pkg-xen-devel',
  'cc_compile_domain      : lists.alioth.debian.org',
  'cc_compile_date        : Mon May 12 10:00:00 UTC 2025',
  'build_id               : 0123abcd',
  'xend_config_format     : 4',
  '',
].join('\n');

test('xl info: every key in 4.17 order, padded to column 23', (t) => {
  t.is(formatInfo(info), EXPECTED);
});

test('a failed libxl_get_version_info or libxl_get_freecpus drops its lines', (t) => {
  const out = formatInfo({ ...info, version: undefined, freeCpus: undefined });
  t.false(out.includes('total_memory'));
  t.false(out.includes('free_cpus'));
  t.false(out.includes('xen_major'));
  t.true(out.endsWith('virt_caps              : pv hvm hvm_directio pv_directio hap shadow iommu_hap_pt_share gnttab-v1\nxend_config_format     : 4\n'));
});

test('xl info NAME prints the values of lines starting with NAME (maybe_printf)', (t) => {
  t.is(formatInfo(info, { only: 'xen_m' }), '4\n17\n');
  t.is(formatInfo(info, { only: 'free_memory' }), '10239\n');
  t.is(formatInfo(info, { only: 'nope' }), '');
  // No capability after "virt_caps              :" means no ": " and so nothing.
  const none = { ...info, physinfo: { ...info.physinfo, cap_pv: false, cap_hvm: false, cap_hap: false, cap_shadow: false, cap_iommu_hap_pt_share: false, cap_gnttab_v1: false } };
  t.is(formatInfo(none, { only: 'virt_caps' }), '');
  t.true(formatInfo(none).includes('virt_caps              :\n'));
});

test('xl info -n adds the topology and NUMA blocks between physinfo and xen info', (t) => {
  const out = formatInfo(
    {
      ...info,
      cpuTopology: [{ core: 0, socket: 0, node: 0 }, null, { core: 1, socket: 0, node: 0 }],
      pciTopology: [{ seg: 0, bus: 0, devfn: 0x1f << 3 | 3, node: 0 }],
      numaInfo: [{ sizeBytes: 16n << 30n, freeBytes: 10n << 30n, distances: [10, 21] }],
    },
    { numa: true, only: 'ignored with -n' },
  );
  t.true(
    out.includes(
      'free_cpus              : 0\ncpu_topology           :\ncpu:    core    socket     node\n  0:       0        0        0\n  2:       1        0        0\n' +
        'device topology        :\ndevice           node\n0000:00:1f.3      0\n' +
        'numa_info              :\nnode:    memsize    memfree    distances\n   0:     16384      10240      10,21\nxen_major',
    ),
  );
  t.true(formatInfo({ ...info }, { numa: true }).includes('device           node\nNo device topology data available\n'));
});
