import type { XenbusState } from '../../abi/index.js';
import type { XenbusDevice } from './device.js';
import type { Freeze, XenbusDriver } from './driver.js';

/** Guest frames and grant references a device's connection holds (its rings, buffers and their grants). */
export interface HeldResources {
  frames: number[];
  grantRefs: number[];
}

/** What a split driver keeps for each device it attached (a disk's blkback instance, a NIC). */
export interface DeviceInstance {
  /** Run this device's XenBus work in order (watch events, state changes, detach). */
  serial(work: () => Promise<void>): Promise<void>;
  attach(): Promise<void>;
  /** Release what the device holds. */
  detach(): Promise<void> | void;
  /** The other end published a new state. */
  otherendChanged(state: XenbusState): Promise<void>;
  /** Quiesce before a suspend, and go on after a cancelled one (default: nothing to do). */
  suspend?(how: Freeze): Promise<void>;
  thaw?(how: Freeze): void;
  /** What its connection holds (a frontend's; see PerDeviceDriver.held). */
  held?(): HeldResources;
}

/**
 * The bookkeeping every split driver (blkfront, blkback, netfront, netback) shares: an
 * instance per attached device, detach and other-end changes run in that device's
 * order. A device loaded from a save has no instance (its connection did not survive),
 * so its events are ignored.
 */
export abstract class PerDeviceDriver<I extends DeviceInstance> implements XenbusDriver {
  abstract readonly name: string;
  protected readonly instances = new Map<XenbusDevice, I>();

  abstract probe(dev: XenbusDevice): boolean;
  abstract attach(dev: XenbusDevice): Promise<void>;

  /** A backend's attach: the instance attaches at once, and one that fails is detached and forgotten. */
  protected async attachOrUndo(dev: XenbusDevice, inst: I): Promise<void> {
    this.instances.set(dev, inst);
    try {
      await inst.attach();
    } catch (err) {
      this.instances.delete(dev);
      await inst.detach();
      throw err;
    }
  }

  /** A frontend's attach: in the device's order, as it may wait for the backend. */
  protected async attachInOrder(dev: XenbusDevice, inst: I): Promise<void> {
    this.instances.set(dev, inst);
    await inst.serial(() => inst.attach());
  }

  async detach(dev: XenbusDevice): Promise<void> {
    const inst = this.instances.get(dev);
    if (inst === undefined) return;
    this.instances.delete(dev);
    await inst.serial(async () => inst.detach());
  }

  async suspend(dev: XenbusDevice, how: Freeze): Promise<void> {
    await this.instances.get(dev)?.suspend?.(how);
  }

  async thaw(dev: XenbusDevice, how: Freeze): Promise<void> {
    this.instances.get(dev)?.thaw?.(how);
  }

  /**
   * Resumed in a new domain: the old connection is gone with the old domain (its
   * ring, grants mapped by the old backend, event channel), so the device attaches
   * anew and negotiates with the backend its node names now, as on its first attach.
   * A kernel resuming from a save has no instance; one left from before is let go.
   */
  async resume(dev: XenbusDevice): Promise<void> {
    await this.detach(dev);
    await this.attach(dev);
  }

  /**
   * What every device's connection holds: what a kernel resuming in a new domain gives
   * back before it connects anew (the old connection's rings, buffers and grants went
   * with the old domain's backends), as Linux's blkif_free and
   * xennet_disconnect_backend do on resume.
   */
  held(): HeldResources {
    const out: HeldResources = { frames: [], grantRefs: [] };
    for (const inst of this.instances.values()) {
      const h = inst.held?.();
      if (h === undefined) continue;
      out.frames.push(...h.frames);
      out.grantRefs.push(...h.grantRefs);
    }
    return out;
  }

  otherendChanged(dev: XenbusDevice, state: XenbusState): void {
    const inst = this.instances.get(dev);
    if (inst === undefined) return;
    void inst.serial(() => inst.otherendChanged(state));
  }
}
