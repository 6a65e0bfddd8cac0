import type { XenbusState } from '../../abi/index.js';
import type { XenbusDevice } from './device.js';
import type { XenbusDriver } from './driver.js';

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
  suspend?(): Promise<void>;
  thaw?(): void;
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

  async suspend(dev: XenbusDevice): Promise<void> {
    await this.instances.get(dev)?.suspend?.();
  }

  async thaw(dev: XenbusDevice): Promise<void> {
    this.instances.get(dev)?.thaw?.();
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

  otherendChanged(dev: XenbusDevice, state: XenbusState): void {
    const inst = this.instances.get(dev);
    if (inst === undefined) return;
    void inst.serial(() => inst.otherendChanged(state));
  }
}
