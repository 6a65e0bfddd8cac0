import { GNTTAB, HVM_PARAM, START_INFO_MAGIC_X86_64, StartInfoView } from '../abi/index.js';
import type { Domain } from '../hypervisor/domain.js';
import type { Domctl } from '../hypervisor/domctl.js';

/** Where the builder put what the guest kernel needs to find at boot. */
export interface BuiltDomain {
  domain: Domain;
  storeGfn: number;
  storePort: number;
  consoleGfn: number;
  consolePort: number;
  /** The domains serving the xenstore ring and the console (the builder's spec). */
  storeDomid: number;
  consoleDomid: number;
  /** PV: the frame handed to the kernel at entry; HVM/PVH: where it maps shared_info. */
  startInfoGfn: number;
  sharedInfoGfn: number;
}

/** Where the emulated Xen heap's frames start (above any guest memory). */
const XEN_HEAP_MFN_BASE = 0x4000000;

export interface BuildSpec {
  name: string;
  uuid: string;
  type: 'pv' | 'pvh' | 'hvm';
  memoryKiB: number;
  maxMemKiB: number;
  vcpus: number;
  maxVcpus: number;
  viridian: boolean;
  cmdline: string;
  maxEventChannels: number;
  /** xl.cfg max_grant_frames and max_maptrack_frames. */
  maxGrantFrames: number;
  maxMaptrackFrames: number;
  /**
   * The domains that serve its xenstore ring (xenstored's) and its console
   * (xenconsoled's): its event channels are offered to them and its reserved grant
   * entries name them (libxl reads them from /tool/xenstored/domid and
   * /tool/xenconsoled/domid).
   */
  storeDomid: number;
  consoleDomid: number;
  domid?: number;
}

/**
 * The domain builder (libxc's xc_dom_* with libxl's build step): create the domain
 * paused, give it its special frames at the top of its memory (xenstore ring, console
 * ring, and start_info for PV), allocate the unbound event channels the xenstore and
 * console domains will bind to, grant those domains the two pages through the reserved
 * grant entries (xc_dom_gnttab_init), and tell the guest where they are: in start_info
 * for PV, in HVM params for HVM and PVH. Frame layout, counting down from the top of the
 * initial memory:
 *
 *   top-1 xenstore page   top-2 console page   top-3 start_info (PV) / shared_info (HVM)
 */
export function buildDomain(domctl: Domctl, spec: BuildSpec): BuiltDomain {
  const domain = domctl.createDomain({
    name: spec.name,
    uuid: spec.uuid,
    type: spec.type,
    memoryKiB: spec.memoryKiB,
    maxMemKiB: spec.maxMemKiB,
    maxVcpus: spec.maxVcpus,
    onlineVcpus: spec.vcpus,
    maxEventChannels: spec.maxEventChannels,
    maxGrantFrames: spec.maxGrantFrames,
    maxMaptrackFrames: spec.maxMaptrackFrames,
    ...(spec.domid !== undefined ? { domid: spec.domid } : {}),
  });
  try {
    return buildInto(domctl, domain, spec);
  } catch (err) {
    // As libxl's domain_create failure path: a half-built domain is destroyed, with the
    // memory and event channels it was given.
    domctl.destroyDomain(domain.domid);
    throw err;
  }
}

/** Where Xen's own shared_info frame of a PV domain is (outside the guest's memory; start_info gives it). */
export function pvSharedInfoMfn(domid: number): number {
  return XEN_HEAP_MFN_BASE + domid;
}

/**
 * A domain loaded from a save gets what libxc's restore gives it (xc_sr_restore_x86_pv's
 * process_start_info, the HVM params of the restore): new unbound event channels for
 * the xenstore and console domains, written where the guest reads them on resume,
 * start_info for PV (with shared_info's new frame), HVM params otherwise. The pages
 * themselves are the guest's, where the builder put them (the top of the memory it
 * was built with, `builtPages` frames), and their reserved grants came with the save.
 */
export function restoreSpecialPages(domctl: Domctl, domain: Domain, spec: { builtPages: number; storeDomid: number; consoleDomid: number }): BuiltDomain {
  const evtchn = domain.evtchn!;
  const top = spec.builtPages;
  const storeGfn = top - 1;
  const consoleGfn = top - 2;
  const thirdGfn = top - 3;
  const storePort = evtchn.allocUnbound(spec.storeDomid);
  const consolePort = evtchn.allocUnbound(spec.consoleDomid);
  const served = { domain, storeGfn, storePort, consoleGfn, consolePort, storeDomid: spec.storeDomid, consoleDomid: spec.consoleDomid };
  if (domain.type === 'pv') {
    const si = new StartInfoView(domain.memory.page(thirdGfn));
    if (si.magic !== START_INFO_MAGIC_X86_64) throw new Error(`the saved domain has no start_info at gfn 0x${thirdGfn.toString(16)} (magic "${si.magic}")`);
    si.sharedInfo = BigInt(domain.sharedInfoGfn) << 12n;
    si.storeEvtchn = storePort;
    si.consoleEvtchn = consolePort;
    return { ...served, startInfoGfn: thirdGfn, sharedInfoGfn: domain.sharedInfoGfn };
  }
  domctl.setHvmParam(domain.domid, HVM_PARAM.STORE_EVTCHN, BigInt(storePort));
  domctl.setHvmParam(domain.domid, HVM_PARAM.CONSOLE_EVTCHN, BigInt(consolePort));
  return { ...served, startInfoGfn: -1, sharedInfoGfn: domain.sharedInfoGfn };
}

function buildInto(domctl: Domctl, domain: Domain, spec: BuildSpec): BuiltDomain {
  // libxl sets HVM_PARAM_VIRIDIAN to its mask of enlightenments; HVMPV_base_freq (1) is the base set.
  if (spec.viridian && spec.type === 'hvm') domctl.setHvmParam(domain.domid, HVM_PARAM.VIRIDIAN, 1n);
  const evtchn = domain.evtchn!;
  const top = domain.memory.reservation;
  const storeGfn = top - 1;
  const consoleGfn = top - 2;
  const thirdGfn = top - 3;
  const storePort = evtchn.allocUnbound(spec.storeDomid);
  const consolePort = evtchn.allocUnbound(spec.consoleDomid);
  // xc_dom_gnttab_seed: xenstored and xenconsoled map the pages through these grants.
  const grants = domain.grantTable!;
  grants.seed(GNTTAB.RESERVED_CONSOLE, domain.domid, spec.consoleDomid, consoleGfn);
  grants.seed(GNTTAB.RESERVED_XENSTORE, domain.domid, spec.storeDomid, storeGfn);
  const served = { domain, storeGfn, storePort, consoleGfn, consolePort, storeDomid: spec.storeDomid, consoleDomid: spec.consoleDomid };

  if (spec.type === 'pv') {
    // shared_info is Xen's own frame, outside the guest's memory; a PV guest learns its
    // machine address from start_info.
    const sharedInfoMfn = pvSharedInfoMfn(domain.domid);
    const si = new StartInfoView(domain.memory.page(thirdGfn));
    si.magic = START_INFO_MAGIC_X86_64;
    si.nrPages = BigInt(top);
    si.sharedInfo = BigInt(sharedInfoMfn) << 12n;
    si.storeMfn = BigInt(storeGfn);
    si.storeEvtchn = storePort;
    si.consoleMfn = BigInt(consoleGfn);
    si.consoleEvtchn = consolePort;
    si.cmdLine = spec.cmdline;
    return { ...served, startInfoGfn: thirdGfn, sharedInfoGfn: sharedInfoMfn };
  }
  domctl.setHvmParam(domain.domid, HVM_PARAM.STORE_PFN, BigInt(storeGfn));
  domctl.setHvmParam(domain.domid, HVM_PARAM.STORE_EVTCHN, BigInt(storePort));
  domctl.setHvmParam(domain.domid, HVM_PARAM.CONSOLE_PFN, BigInt(consoleGfn));
  domctl.setHvmParam(domain.domid, HVM_PARAM.CONSOLE_EVTCHN, BigInt(consolePort));
  return { ...served, startInfoGfn: -1, sharedInfoGfn: thirdGfn };
}
