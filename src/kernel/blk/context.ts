import type { BlkFaults } from '../../faults/disk-faults.js';
import type { Clock } from '../../hypervisor/clock.js';
import type { Hypercalls } from '../../hypervisor/hypercalls.js';
import type { XenIntr } from '../intr/xen-intr.js';
import type { KernelLog } from '../kernel-log.js';
import type { GuestGrantTable } from '../mm/gnttab.js';
import type { PageAllocator } from '../mm/page-allocator.js';

/**
 * What the block drivers use of the kernel they run in: the hypercalls (grant maps,
 * event channels), the interrupt layer, the page and grant allocators, the clock (the
 * taskqueues run on it) and the log. The same in every domain: nothing here says
 * whether the kernel is dom0's.
 */
export interface BlkKernel {
  readonly domid: number;
  readonly hc: Hypercalls;
  readonly intr: XenIntr;
  readonly clock: Clock;
  readonly log: KernelLog;
  readonly pageAllocator: PageAllocator;
  readonly gnttab: GuestGrantTable;
  /** The kernel's own mapping of its frame `gfn`. */
  page(gfn: number): Uint8Array;
  /** The kernel wrote its frame `gfn` (EmulatedPlatform.stored). */
  stored(gfn: number): void;
  /** Disk faults made to happen on purpose (`xenemu fault add disk-...`); null when none can be. */
  readonly blkFaults: BlkFaults | null;
}
