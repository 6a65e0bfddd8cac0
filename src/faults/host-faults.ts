import type { KILL_POINTS } from './kinds.js';
import type { ActiveFault, FaultRegistry } from './registry.js';

export type KillPoint = (typeof KILL_POINTS)[number];

/**
 * The host's own fault kinds: host-kill (the daemon dies at a chosen point, so that
 * recovery is tested on purpose) and hotplug-fail (the toolstack's hotplug scripts
 * fail). `kill` is what dying means: SIGKILL in the daemon; a machine booted in-process
 * (tests) passes its own.
 */
export class HostFaults {
  /** Per host-kill fault: how many of its points have passed. */
  private readonly passed = new Map<ActiveFault, number>();

  constructor(
    private readonly registry: FaultRegistry,
    private readonly kill: (why: string) => void,
  ) {
    registry.handle('host-kill', { removed: (fault) => this.passed.delete(fault) });
  }

  /** The daemon passes `point` (a journal write done, a domain create half-way). */
  at(point: KillPoint): void {
    if (!this.registry.has('host-kill')) return;
    const fault = this.registry.find('host-kill', (f) => {
      if (f.spec.options.at !== point) return false;
      const n = (this.passed.get(f) ?? 0) + 1;
      this.passed.set(f, n);
      return n >= (f.spec.options.after ?? 1);
    });
    if (fault === null) return;
    const why = `the daemon is killed at ${point} ${this.passed.get(fault)}`;
    this.registry.fired(fault, why);
    this.kill(`fault ${fault.id} (host-kill): ${why}`);
  }

  /** The fault that fails this hotplug script run, if one does (counted). */
  hotplugFails(domid: number, script: string, action: string): ActiveFault | null {
    if (!this.registry.has('hotplug-fail')) return null;
    return this.registry.fire('hotplug-fail', (f) => f.domid === null || f.domid === domid, () => `domain ${domid}: hotplug ${script} ${action} fails with status 1`);
  }
}
