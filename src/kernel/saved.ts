/**
 * The saved shapes of the kernel's own top-level objects, as plain JSON-able data. Each
 * folder has its own (intr/, mm/, xenbus/, balloon/, console/saved.ts).
 *
 * Times are on the domain's clock (ns). A restore on another clock (another daemon,
 * another host) must carry them over with one offset, as Xen keeps a guest's system
 * time continuous across a migration.
 */

/** The kernel's log: its lines, and when it booted. */
export interface KernelLogState {
  bootNs: number;
  lines: string[];
}
