/**
 * The saved shapes of the kernel's own top-level objects, as plain JSON-able data. Each
 * folder has its own (intr/, mm/, xenbus/, balloon/, console/saved.ts).
 *
 * Times are on the domain's clock (ns). A restore on another clock (another daemon,
 * another host) must carry them over with one offset, as Xen keeps a guest's system
 * time continuous across a migration.
 */

import type { BalloonState } from './balloon/saved.js';
import type { HvcConsoleState } from './console/saved.js';
import type { EvtchnUserState, SyntheticSourcesState, XenIntrState, XenIpisState, XenTimerState } from './intr/saved.js';
import type { GuestGrantTableState, PageAllocatorState } from './mm/saved.js';
import type { HeldResources } from './xenbus/per-device-driver.js';
import type { XenbusBusState } from './xenbus/saved.js';

/** The kernel's log: its lines, and when it booted. */
export interface KernelLogState {
  bootNs: number;
  lines: string[];
}

/**
 * A whole kernel, every object in it. The CPU-hotplug driver keeps nothing of its own
 * (whether a vCPU is up is Xen's VCPUOP_is_up); the kernel keeps which vCPUs had their
 * per-CPU interrupts set up, which a vCPU that comes up again must not bind twice.
 */
export interface KernelState {
  /** 'suspended': it waits in SCHEDOP_shutdown(SHUTDOWN_suspend), to resume in the same domain or a new one. */
  state: 'running' | 'halted' | 'suspended';
  /** The CPUID leaf where Xen was found. */
  xenLeaf: number;
  /** vCPUs whose timer, IPIs and VIRQ_DEBUG were set up. */
  cpusReady: number[];
  log: KernelLogState;
  pages: PageAllocatorState;
  gnttab: GuestGrantTableState;
  intr: XenIntrState;
  timer: XenTimerState;
  ipis: XenIpisState;
  evtchn: EvtchnUserState;
  synthetic: SyntheticSourcesState | null;
  console: HvcConsoleState | null;
  balloon: BalloonState;
  xenbusFront: XenbusBusState;
  xenbusBack: XenbusBusState;
  /**
   * A suspended kernel's device connections (its frontends' rings, buffers and their
   * grants): what it gives back when it resumes in a new domain, where those
   * connections are gone. Absent from a kernel that is not suspended.
   */
  connections?: HeldResources;
}
