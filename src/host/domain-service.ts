import { release, machine as osMachine, version as osVersion } from 'node:os';
import { XEN_PAGE_SIZE } from '../abi/index.js';
import { hwCapabilities, PHYSCAP, physCapabilities } from '../hypervisor/capabilities.js';
import type { Domain } from '../hypervisor/domain.js';
import type { Hypervisor } from '../hypervisor/hypervisor.js';
import type { CreateFileResult, DomainRpc } from '../protocol/domain-rpc.js';
import { ConfigError, givenKeysOf, loadDomainConfig, storeGivenKeys, type ConfigIssue } from '../toolstack/config/index.js';
import { xlDom0DomainConfig, xlGuestDomainConfig } from '../toolstack/libxl/defaults.js';
import { xlParsedDomainConfig } from '../toolstack/libxl/from-config.js';
import type { LibxlDomainConfig } from '../toolstack/libxl/idl.js';
import type { XlDomainRow, XlInfo, XlVcpuRow } from '../toolstack/libxl/rows.js';
import { Domctl } from '../hypervisor/domctl.js';
import { domainSchedParamsGet } from '../toolstack/sched.js';
import { rpcErrorOf, rpcMethods, type RpcMethod } from './control-server.js';
import { XenemuError } from '../common/errors.js';
import type { Machine } from './machine.js';


/** An issue as the wire carries it: its fields, nothing else an object may have. */
const plainIssue = (i: ConfigIssue): ConfigIssue => ({ file: i.file, line: i.line, column: i.column, key: i.key, message: i.message });

/**
 * libxl_retrieve_domain_configuration(): what `xl list -l` prints and `xl save` stores
 * in its header, the parsed config with what xl changed since (name, vCPUs online,
 * memory target, the scheduler's weight).
 */
export function libxlConfigOf(machine: Machine, d: Domain): LibxlDomainConfig {
  const { hv, toolstack } = machine;
  const record = toolstack.record(d.domid);
  // libxl_domain_sched_params_get(): the pool's scheduler, and under credit and credit2 the weight and cap.
  const sched = domainSchedParamsGet(new Domctl(hv), hv, d.domid);
  if (d.domid === 0 || record === undefined) {
    return xlDom0DomainConfig({ name: d.name, uuid: d.uuid, targetMemKb: d.targetKiB, maxMemKb: d.maxKiB, sched });
  }
  const given = record.given !== undefined ? givenKeysOf(record.given, record.config) : undefined;
  const parsed = xlParsedDomainConfig(record.config, { hostCpus: hv.host.pcpus, uuid: () => d.uuid, ...(given ? { given } : {}) });
  const onlineVcpus = d.vcpus.filter((v) => v.online).map((v) => v.id);
  // memory/static-max: the config's maxmem, or what mem-max made it.
  const maxMemKb = record.changed?.maxKiB ?? record.config.maxmem * 1024;
  const live = { name: d.name, uuid: d.uuid, onlineVcpus, targetMemKb: d.targetKiB, maxMemKb, sched, nicMacs: record.config.vif.map((v) => v.mac) };
  return xlGuestDomainConfig(parsed, live);
}

/**
 * The daemon's side of the xl-like commands: it finds domains, calls the toolstack, and
 * answers with the plain rows src/ui/xl formats (libxl's raw units: KiB, ns).
 */
export function domainMethods(machine: Machine, dom0Uptime: () => number): Record<string, RpcMethod> {
  const { hv, toolstack } = machine;
  const find = (ref: string): Domain => toolstack.find(ref);
  const select = (refs: string[] | undefined): Domain[] =>
    refs === undefined || refs.length === 0 ? [...hv.domains.values()].sort((a, b) => a.domid - b.domid) : refs.map(find);
  return rpcMethods<DomainRpc>({
    'domain.create': async (p) => {
      const r = await toolstack.create(p.config, { paused: p.paused, ...(p.source ? { source: p.source } : {}), ...(p.given ? { given: p.given } : {}) });
      return { domid: r.domid, name: r.name, uuid: r.uuid };
    },
    'domain.createFile': async (p): Promise<CreateFileResult> => {
      let loaded;
      try {
        loaded = loadDomainConfig(p.file, p.overrides, { label: p.label, regularFileOnly: true });
      } catch (err) {
        if (err instanceof ConfigError) return { outcome: 'invalid', issues: err.issues.map(plainIssue) };
        throw err;
      }
      const warnings = loaded.warnings.map(plainIssue);
      try {
        const r = await toolstack.create(loaded.config, { paused: p.paused, source: p.file, given: storeGivenKeys(loaded.given, loaded.config) });
        return { outcome: 'created', warnings, domid: r.domid, name: r.name, uuid: r.uuid };
      } catch (err) {
        // A bug is the control server's to log and answer (EIO), as for domain.create.
        const { code, message, internal } = rpcErrorOf(err);
        if (internal) throw err;
        return { outcome: 'failed', warnings, code, message };
      }
    },
    'domain.list': (p) => select(p.refs).map(listRow),
    'domain.listLong': (p) => select(p.refs).map((d) => ({ domid: d.domid, config: libxlConfigOf(machine, d) })),
    'domain.destroy': async (p) => {
      await toolstack.destroy(find(p.ref).domid);
      return null;
    },
    'domain.shutdown': async (p) => {
      const targets = p.all ? [...hv.domains.values()].filter((d) => d.domid !== 0) : select(p.refs);
      return Promise.all(
        targets.map(async (d) => ({ domid: d.domid, name: d.name, reason: await toolstack.requestShutdown(d.domid, p.command, p.wait ?? false) })),
      );
    },
    'domain.sysrq': async (p) => {
      await toolstack.sysrq(find(p.ref).domid, p.key);
      return null;
    },
    'domain.trigger': (p) => {
      toolstack.trigger(find(p.ref).domid, p.trigger, p.vcpu);
      return null;
    },
    'domain.pause': (p) => {
      toolstack.pause(find(p.ref).domid);
      return null;
    },
    'domain.unpause': async (p) => {
      await toolstack.unpause(find(p.ref).domid);
      return null;
    },
    'domain.rename': async (p) => {
      await toolstack.rename(find(p.ref).domid, p.name);
      return null;
    },
    'domain.domid': (p) => {
      for (const d of hv.domains.values()) if (d.name === p.name) return d.domid;
      throw new XenemuError('ESRCH', `Can't get domid of domain name '${p.name}', maybe this domain does not exist.`);
    },
    'domain.domname': (p) => {
      const d = hv.domains.get(p.domid);
      if (d === undefined) throw new XenemuError('ESRCH', `Can't get domain name of domain id '${p.domid}', maybe this domain does not exist.`);
      return d.name;
    },
    'domain.uptime': (p) =>
      select(p.refs).map((d) => ({
        name: d.name,
        domid: d.domid,
        uptimeSeconds: d.domid === 0 ? dom0Uptime() : Math.floor((hv.clock.now() - d.createdAtNs) / 1e9),
      })),
    'domain.dmesg': (p) => {
      // -c: read and clear in one step, as XEN_SYSCTL_readconsole with clear set does.
      if (p.ref === undefined) {
        const lines = hv.console.lines();
        if (p.clear === true) hv.console.clear();
        return lines;
      }
      const log = machine.kernel(find(p.ref).domid)?.log;
      const lines = log === undefined ? [] : [...log.lines];
      if (p.clear === true) log?.clear();
      return lines;
    },
    'host.info': () => hostInfo(hv),
    'host.debugKeys': (p) => {
      hv.debugKeys.press(Buffer.from(p.keys, 'utf8'));
      return null;
    },
    'vcpu.list': (p) => ({ rows: select(p.refs).flatMap(vcpuRows), nrCpus: hv.host.pcpus }),
    'vcpu.pin': (p) => {
      const d = find(p.ref);
      const map = (a: number[] | 'all' | null) => (a === null ? undefined : a === 'all' ? null : a);
      toolstack.vcpuPin(d.domid, p.vcpu === 'all' ? null : p.vcpu, map(p.hard), map(p.soft));
      return null;
    },
    'vcpu.set': async (p) => {
      await toolstack.vcpuSet(find(p.ref).domid, p.count);
      return null;
    },
    'mem.set': async (p) => {
      await toolstack.memSet(find(p.ref).domid, p.kib);
      return null;
    },
    'mem.max': async (p) => {
      await toolstack.memMax(find(p.ref).domid, p.kib);
      return null;
    },
  });
}



/** libxl_dominfo, as `xl list` reads it. */
function listRow(d: Domain): XlDomainRow {
  const running = d.vcpus.some((v) => v.running);
  return {
    domid: d.domid,
    name: d.name,
    currentMemKb: d.currentKiB,
    vcpusOnline: d.onlineVcpus,
    stateFlags: {
      // dom0 runs the toolstack asking, so Xen sees it running, as on a real host.
      running: d.domid === 0 || running,
      blocked: d.domid !== 0 && !running && !d.paused && d.shutdownReason === null,
      paused: d.paused,
      shutdown: d.shutdownReason !== null,
      dying: d.dying,
    },
    ...(d.shutdownReason !== null ? { shutdownReason: d.shutdownReason } : {}),
    cpuTimeNs: d.cpuTimeNs,
    uuid: d.uuid,
  };
}

/** libxl_vcpuinfo for every vCPU of a domain. */
function vcpuRows(d: Domain): XlVcpuRow[] {
  return d.vcpus.map((v) => ({
    domName: d.name,
    domid: d.domid,
    vcpuid: v.id,
    online: v.online,
    running: v.running || (d.domid === 0 && v.id === 0),
    blocked: v.online && !v.running && !(d.domid === 0 && v.id === 0),
    cpu: v.pcpu,
    vcpuTimeNs: v.cpuTimeNs,
    hardAffinity: v.hardAffinity ?? 'all',
    softAffinity: v.softAffinity ?? 'all',
    vcpuInfoLocation:
      v.vcpuInfo.kind === 'shared_info'
        ? `shared_info slot ${v.vcpuInfo.slot}`
        : v.vcpuInfo.gfn < 0
          ? 'unregistered'
          : `gfn 0x${v.vcpuInfo.gfn.toString(16)}+0x${v.vcpuInfo.offset.toString(16)}`,
  }));
}

/** What `xl info` needs: uname, the emulated machine (libxl_physinfo) and Xen's version. */
function hostInfo(hv: Hypervisor): XlInfo {
  const h = hv.host;
  const totalPages = Math.floor(hv.totalKiB / 4);
  const caps = physCapabilities();
  const has = (cap: number): boolean => (caps & cap) !== 0;
  return {
    uname: { nodename: h.hostname, release: release(), version: osVersion(), machine: osMachine() },
    physinfo: {
      nr_cpus: h.pcpus,
      max_cpu_id: h.pcpus - 1,
      nr_nodes: 1,
      cores_per_socket: h.pcpus,
      threads_per_core: 1,
      cpu_khz: Math.round(h.cpuMhz * 1000),
      hw_cap: hwCapabilities(),
      cap_pv: has(PHYSCAP.pv),
      cap_hvm: has(PHYSCAP.hvm),
      cap_hvm_directio: has(PHYSCAP.directio),
      cap_hap: has(PHYSCAP.hap),
      cap_shadow: has(PHYSCAP.shadow),
      cap_iommu_hap_pt_share: has(PHYSCAP.iommu_hap_pt_share),
      cap_vmtrace: has(PHYSCAP.vmtrace),
      cap_vpmu: has(PHYSCAP.vpmu),
      cap_gnttab_v1: has(PHYSCAP.gnttab_v1),
      cap_gnttab_v2: has(PHYSCAP.gnttab_v2),
      total_pages: totalPages,
      free_pages: Math.floor(hv.freeKiB / 4),
      outstanding_pages: 0,
      sharing_freed_pages: 0,
      sharing_used_frames: 0,
    },
    // libxl_get_freecpus(): the CPUs in no cpupool. xenemu has one pool, Pool-0, with
    // every CPU in it, so none is free (xl prints 0).
    freeCpus: [],
    version: {
      xen_version_major: h.xenMajor,
      xen_version_minor: h.xenMinor,
      xen_version_extra: h.xenExtra,
      capabilities: h.xenCaps,
      pagesize: XEN_PAGE_SIZE,
      // HYPERVISOR_VIRT_START of x86_64 (arch-x86/xen-x86_64.h).
      virt_start: 0xffff800000000000n,
      commandline: hv.commandLine,
      compiler: 'xenemu (TypeScript on Node ' + process.version + ')',
      // No Xen was compiled: no changeset, builder, date or build id, which a Xen
      // built without them reports as empty strings too.
      changeset: '',
      compile_by: '',
      compile_domain: '',
      compile_date: '',
      build_id: '',
    },
    scheduler: h.scheduler,
  };
}
