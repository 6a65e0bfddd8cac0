/**
 * What the emulated Xen can do, as XEN_SYSCTL_physinfo reports it to the toolstack
 * (`xl info`'s virt_caps and hw_caps). One place, so that a feature the hypervisor
 * gains shows up by changing it here.
 */
import { GNTTAB_MAX_VERSION } from './gnttab.js';

/** XEN_SYSCTL_PHYSCAP_* (public/sysctl.h, 4.17). */
export const PHYSCAP = {
  hvm: 1 << 0,
  pv: 1 << 1,
  directio: 1 << 2,
  hap: 1 << 3,
  shadow: 1 << 4,
  iommu_hap_pt_share: 1 << 5,
  vmtrace: 1 << 6,
  vpmu: 1 << 7,
  gnttab_v1: 1 << 8,
  gnttab_v2: 1 << 9,
} as const;

/**
 * physinfo.capabilities: PV and HVM (and PVH, which Xen counts as HVM) guests are
 * built, with the grant table versions gnttab.ts offers (v1 only, as Xen booted with
 * gnttab=max-ver:1). Not hap or shadow (no paging is modelled: guest memory is flat),
 * no IOMMU or device passthrough (directio), no vmtrace or vPMU.
 */
export function physCapabilities(): number {
  return PHYSCAP.pv | PHYSCAP.hvm | (GNTTAB_MAX_VERSION >= 1 ? PHYSCAP.gnttab_v1 : 0) | (GNTTAB_MAX_VERSION >= 2 ? PHYSCAP.gnttab_v2 : 0);
}

/**
 * physinfo.hw_cap: the x86 featureset words of the host CPU. All zero: the emulation
 * models no x86 feature leaves (cpuid.ts answers Xen's own leaves only).
 */
export function hwCapabilities(): number[] {
  return new Array<number>(8).fill(0);
}
