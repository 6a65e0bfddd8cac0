/**
 * From what the daemon answers (libxl's shapes, the stats stream, the kernel's interrupt
 * snapshot) to what `--json` prints (./schemas.ts): the same names for the same things
 * across commands. The internal shapes stay free to follow libxl and the formatters.
 */

import type { XlListResult } from '../../compat/xl-commands.js';
import type { BlockIoResult } from '../../protocol/blk-rpc.js';
import type { DomainIntrStats, EvtchnPortRow, EvtchnRpc, HostIntrRow } from '../../protocol/evtchn-rpc.js';
import type { StatsFrame } from '../../protocol/stats.js';
import type { NicInfo } from '../../toolstack/devices/vif.js';
import type { VbdInfo } from '../../toolstack/devices/vbd.js';
import type { XlInfo, XlVcpuRow } from '../../toolstack/libxl/rows.js';
import type { JsonOutput } from './schemas.js';

/** A libxl count (number or bigint; jsonSafe may have made a huge one a string) as a number. */
const num = (v: number | bigint | string): number => Number(v);

/** A libxl cpumap as xl's formatters take it ('all' or the set CPUs) as the CPUs themselves. */
const cpus = (map: readonly number[] | 'all', nrCpus: number): number[] => (map === 'all' ? Array.from({ length: nrCpus }, (_, i) => i) : [...map]);

export function listJson(result: XlListResult): JsonOutput<'list'> {
  return result.map((r) => {
    if ('config' in r) return r;
    const shutdownReason = r.stateFlags.shutdown ? (r.shutdownReason ?? 'unknown') : null;
    return {
      domid: r.domid,
      name: r.name,
      uuid: r.uuid,
      memKiB: num(r.currentMemKb),
      vcpusOnline: r.vcpusOnline,
      state: { ...r.stateFlags, crashed: shutdownReason === 'crash' },
      shutdownReason,
      cpuTimeNs: num(r.cpuTimeNs),
    };
  }) as JsonOutput<'list'>;
}

export function vcpuListJson(result: { rows: readonly XlVcpuRow[]; nrCpus: number }): JsonOutput<'vcpu-list'> {
  return result.rows.map((r) => ({
    domid: r.domid,
    name: r.domName,
    vcpu: r.vcpuid,
    online: r.online,
    running: r.running,
    blocked: r.blocked,
    pcpu: r.online ? r.cpu : null,
    cpuTimeNs: num(r.vcpuTimeNs),
    hardAffinity: cpus(r.hardAffinity, result.nrCpus),
    softAffinity: cpus(r.softAffinity, result.nrCpus),
    ...(r.vcpuInfoLocation !== undefined ? { vcpuInfoLocation: r.vcpuInfoLocation } : {}),
  }));
}

export function infoJson(info: XlInfo): JsonOutput<'info'> {
  const p = info.physinfo;
  const v = info.version;
  const kib = (pages: number | bigint): number => num(pages) * 4;
  return {
    host: info.uname.nodename,
    release: info.uname.release,
    version: info.uname.version,
    machine: info.uname.machine,
    nrCpus: p.nr_cpus,
    maxCpuId: p.max_cpu_id,
    nrNodes: p.nr_nodes,
    coresPerSocket: p.cores_per_socket,
    threadsPerCore: p.threads_per_core,
    cpuKhz: p.cpu_khz,
    hwCaps: [...p.hw_cap],
    caps: {
      pv: p.cap_pv,
      hvm: p.cap_hvm,
      hvmDirectio: p.cap_hvm_directio,
      hap: p.cap_hap,
      shadow: p.cap_shadow,
      iommuHapPtShare: p.cap_iommu_hap_pt_share,
      vmtrace: p.cap_vmtrace,
      vpmu: p.cap_vpmu,
      gnttabV1: p.cap_gnttab_v1,
      gnttabV2: p.cap_gnttab_v2,
    },
    totalMemKiB: kib(p.total_pages),
    freeMemKiB: kib(p.free_pages),
    sharingFreedMemKiB: kib(p.sharing_freed_pages),
    sharingUsedMemKiB: kib(p.sharing_used_frames),
    outstandingClaimsKiB: kib(p.outstanding_pages),
    ...(info.freeCpus !== undefined ? { freeCpus: [...info.freeCpus] } : {}),
    ...(v !== undefined
      ? {
          xen: {
            major: v.xen_version_major,
            minor: v.xen_version_minor,
            extra: v.xen_version_extra,
            version: `${v.xen_version_major}.${v.xen_version_minor}${v.xen_version_extra}`,
            caps: v.capabilities,
            pagesize: v.pagesize,
            virtStart: String(v.virt_start),
            changeset: v.changeset,
            commandline: v.commandline,
            compiler: v.compiler,
            compileBy: v.compile_by,
            compileDomain: v.compile_domain,
            compileDate: v.compile_date,
            buildId: v.build_id,
          },
        }
      : {}),
    scheduler: info.scheduler,
    ...(info.cpuTopology !== undefined ? { cpuTopology: [...info.cpuTopology] } : {}),
    ...(info.pciTopology !== undefined ? { pciTopology: [...info.pciTopology] } : {}),
    ...(info.numaInfo !== undefined
      ? { numaInfo: info.numaInfo.map((n) => (n === null ? null : { memKiB: num(n.sizeBytes) / 1024, freeMemKiB: num(n.freeBytes) / 1024, distances: [...n.distances] })) }
      : {}),
  };
}

export function hostInterruptsJson(rows: readonly HostIntrRow[]): JsonOutput<'interrupts'> {
  return rows.map(({ online, ...r }) => ({ ...r, vcpusOnline: online }));
}

export function domainInterruptsJson(s: DomainIntrStats): JsonOutput<'interrupts'> {
  return {
    domid: s.domid,
    name: s.name,
    type: s.type,
    uptimeNs: s.uptimeNs,
    callback: s.callback,
    vcpus: s.vcpus,
    onlineVcpus: s.online,
    hz: s.hz,
    cost: { ...s.cost },
    rows: s.rows.map(({ perCpu, ...r }) => ({ ...r, perVcpu: perCpu })),
    hypervisor: s.hypervisor,
  };
}

export function evtchnPortJson(row: EvtchnPortRow): JsonOutput<'evtchn:list'>['ports'][number] {
  if (row.source === null) return { ...row, source: null };
  const { cpu, ...source } = row.source;
  return { ...row, source: { ...source, vcpu: cpu } };
}

export function evtchnListJson(r: EvtchnRpc['evtchn.list']['result']): JsonOutput<'evtchn:list'> {
  return { domid: r.domid, name: r.name, ports: r.ports.map(evtchnPortJson) };
}

export function evtchnStatusJson(r: EvtchnRpc['evtchn.status']['result']): JsonOutput<'evtchn:status'> {
  return { domid: r.domid, name: r.name, ...evtchnPortJson(r.row) };
}

export function intrBindJson(r: EvtchnRpc['intr.bind']['result']): JsonOutput<'intr-bind'> {
  return { domid: r.domid, source: r.source, irq: r.irq, port: r.port, fromVcpu: r.from, toVcpu: r.to };
}

/** One sample of `top --json` (no domain is selected there, so no grid). */
export function topFrameJson(f: StatsFrame): JsonOutput<'top'> {
  const { totalKiB, freeKiB, uptimeSec, ...host } = f.host;
  return {
    seq: f.seq,
    timeMs: f.timeMs,
    elapsedNs: f.elapsedNs,
    intervalMs: f.intervalMs,
    host: { ...host, totalMemKiB: totalKiB, freeMemKiB: freeKiB, uptimeSeconds: uptimeSec },
    domains: f.domains.map(({ cpuNs, vcpuNs, nets, vbds, ...d }) => ({
      ...d,
      cpuTimeNs: cpuNs,
      nets: nets.map((n) => ({ ...n })),
      vbds: vbds.map((b) => ({ ...b })),
      ...(vcpuNs !== undefined ? { vcpuTimeNs: vcpuNs } : {}),
    })),
  };
}

/** xl's -1 (not connected; a ring-ref also with a multi-page ring) as null. */
const connected = (v: number): number | null => (v < 0 ? null : v);

export function blockListJson(result: ReadonlyArray<{ domid: number; disks: readonly VbdInfo[] }>): JsonOutput<'block-list'> {
  return result.map(({ domid, disks }) => ({
    domid,
    disks: disks.map((d) => ({
      devid: d.devid,
      vdev: d.vdev,
      backendDomid: d.backendId,
      state: d.state,
      backendState: d.backendState,
      port: connected(d.evtch),
      ringRef: connected(d.rref),
      frontendPath: d.frontendPath,
      backendPath: d.backendPath,
      target: d.params,
      mode: d.mode,
      deviceType: d.deviceType,
      ...(d.stats !== undefined ? { stats: { ...d.stats } } : {}),
    })),
  }));
}

export function networkListJson(result: ReadonlyArray<{ domid: number; nics: readonly NicInfo[] }>): JsonOutput<'network-list'> {
  return result.map(({ domid, nics }) => ({
    domid,
    nics: nics.map((n) => ({
      devid: n.devid,
      backendDomid: n.backendId,
      mac: n.mac,
      state: n.state,
      backendState: n.backendState,
      port: connected(n.evtch),
      txRingRef: connected(n.rrefTx),
      rxRingRef: connected(n.rrefRx),
      frontendPath: n.frontendPath,
      backendPath: n.backendPath,
      bridge: n.bridge,
      ip: n.ip,
      ...(n.stats !== undefined ? { stats: { ...n.stats } } : {}),
    })),
  }));
}

/** block-io's summary: the disk is `vdev`, as block-list names it. */
export function blockIoJson({ device, ...r }: BlockIoResult): JsonOutput<'block-io'> {
  return { ...r, vdev: device };
}
