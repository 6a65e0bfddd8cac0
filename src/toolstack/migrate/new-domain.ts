/**
 * What becomes of a saved domain's hypervisor state when it is built again as a new
 * domain (a restore, a migration's target): what Xen holds for a domain that libxc's
 * restore just built.
 */

import { EVTCHN_2L_NR_CHANNELS, SharedInfoView, XEN_LEGACY_MAX_VCPUS } from '../../abi/index.js';
import type { SavedDomain } from '../../hypervisor/domain.js';

/**
 * The saved domain as the hypervisor loads it under `domid`, paused (as
 * XEN_DOMCTL_createdomain leaves a domain) and not shut down. Xen's own per-domain
 * objects start anew, as in a domain libxc's restore built:
 * - no event channel is open: the toolstack allocates the xenstore and console ports,
 *   the guest binds the rest as it resumes (xen_intr_resume);
 * - shared_info's pending bits are clear and every port is masked, vCPUs' upcall flags
 *   and selectors clear (xc_sr_restore_x86_pv's handle_shared_info does this);
 * - xenemu's emulated event sources and LAPIC timers are the old domain's hardware:
 *   the resuming kernel attaches and programs its own. The vCPU periodic timers are
 *   the guest's, set with VCPUOP_set_periodic_timer, and are kept.
 * Memory, vCPUs (affinity, online, vcpu_info places), HVM params, the grant table and
 * the age (uptime) are the saved ones.
 */
export function savedForNewDomain(saved: SavedDomain, domid: number, name: string, sharedInfoGfn: number): SavedDomain {
  const sharedInfo = saved.sharedInfo.slice();
  const view = new SharedInfoView(sharedInfo);
  for (let port = 0; port < EVTCHN_2L_NR_CHANNELS; port++) {
    view.clearPending(port);
    view.testAndSetMask(port);
  }
  for (let v = 0; v < Math.min(saved.vcpus.length, XEN_LEGACY_MAX_VCPUS); v++) {
    const info = view.vcpuInfo(v);
    info.evtchnUpcallPending = 0;
    info.evtchnPendingSel = 0n;
  }
  return {
    ...saved,
    domid,
    name,
    pauseCount: 1,
    shutdownReason: null,
    sharedInfo,
    sharedInfoGfn,
    evtchn: { maxPorts: saved.evtchn.maxPorts, tableSize: 0, ports: [], virqs: [], counters: saved.evtchn.counters },
    timers: { vcpu: saved.timers.vcpu, lapic: [], sources: [] },
  };
}
