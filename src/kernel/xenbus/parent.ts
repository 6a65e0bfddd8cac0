import type { KernelLog } from '../kernel-log.js';
import type { XsClient } from '../../protocol/xs-client.js';
import { XenbusDevice } from './device.js';
import type { XenbusDriver } from './driver.js';
import type { XenbusDeviceState } from './saved.js';

/**
 * What every parent of XenBus devices does the same way (newbus's generic bus
 * methods): keep the drivers and the attached children in order, probe a new child
 * against the drivers, and walk the children for suspend and resume.
 */
export abstract class XenbusParent {
  protected readonly drivers: XenbusDriver[] = [];
  /** Attached children, in attach order. */
  readonly devices: XenbusDevice[] = [];

  constructor(
    /** The bus's name in messages ("xenbusb_front", "xenstore"). */
    readonly name: string,
    protected readonly xs: XsClient,
    protected readonly log: KernelLog,
  ) {}

  /**
   * device_probe_and_attach: the first registered driver whose probe takes the device
   * attaches it. 'declined' when no driver wants it, 'failed' when attach failed
   * (logged); the caller then drops the device, as xenbusb_probe_children deletes
   * such a child.
   */
  protected async probeAndAttach(dev: XenbusDevice): Promise<'attached' | 'declined' | 'failed'> {
    const driver = this.drivers.find((d) => d.probe(dev));
    if (driver === undefined) return 'declined';
    try {
      await driver.attach(dev);
    } catch (err) {
      this.log.print(`${driver.name}: ${dev.node}: attach failed: ${(err as Error).message}`);
      return 'failed';
    }
    dev.driver = driver;
    this.devices.push(dev);
    return 'attached';
  }

  protected async detachDevice(dev: XenbusDevice): Promise<void> {
    const i = this.devices.indexOf(dev);
    if (i < 0) return;
    this.devices.splice(i, 1);
    try {
      await dev.driver?.detach(dev);
    } catch (err) {
      this.log.print(`${dev.driver?.name}: ${dev.node}: detach failed: ${(err as Error).message}`);
    }
    dev.driver = null;
  }

  /**
   * bus_generic_suspend: suspend the children in order; if one refuses, resume those
   * already suspended (newest first) and fail, so the domain is not suspended with
   * half its devices quiesced.
   */
  async suspend(): Promise<void> {
    const done: XenbusDevice[] = [];
    for (const dev of this.devices) {
      try {
        await dev.driver?.suspend?.(dev);
      } catch (err) {
        for (const d of done.reverse()) await d.driver?.resume?.(d).catch(() => {});
        throw new Error(`${this.name}: ${dev.node}: cannot suspend: ${(err as Error).message}`);
      }
      done.push(dev);
    }
  }

  /** bus_generic_resume: resume the children in order; one that fails is logged and the others still resume. */
  async resume(): Promise<void> {
    for (const dev of this.devices) {
      await this.resumeDevice(dev).catch((err: Error) => this.log.print(`${dev.driver?.name}: ${dev.node}: resume failed: ${err.message}`));
    }
  }

  protected async resumeDevice(dev: XenbusDevice): Promise<void> {
    await dev.driver?.resume?.(dev);
  }

  protected saveDevices(): XenbusDeviceState[] {
    return this.devices.map((dev) => ({
      node: dev.node,
      type: dev.type,
      driver: dev.driver!.name,
      state: dev.state,
      otherend: dev.otherend === null ? null : { ...dev.otherend },
      otherendState: dev.otherendState,
    }));
  }

  /**
   * Saved devices back as children, each with the registered driver of its name, which
   * is not attached again: a driver's own state is its own to load. A device whose
   * driver is not registered is refused before any is added.
   */
  protected loadDevices(saved: readonly XenbusDeviceState[]): XenbusDevice[] {
    if (this.devices.length > 0) throw new Error(`${this.name}: saved devices load only into a bus without devices`);
    const drivers = saved.map((s) => {
      const driver = this.drivers.find((d) => d.name === s.driver);
      if (driver === undefined) throw new Error(`${this.name}: ${s.node}: no driver ${s.driver} registered (have ${this.drivers.map((d) => d.name).join(', ') || 'none'})`);
      return driver;
    });
    return saved.map((s, i) => {
      const dev = new XenbusDevice(this.xs, s.type, s.node, s.otherend === null ? null : { ...s.otherend });
      dev.state = s.state;
      dev.otherendState = s.otherendState;
      dev.driver = drivers[i]!;
      this.devices.push(dev);
      return dev;
    });
  }

  /** Detach every child, newest first (the kernel is stopping). */
  async detachAll(): Promise<void> {
    for (const dev of [...this.devices].reverse()) await this.detachDevice(dev);
  }
}
