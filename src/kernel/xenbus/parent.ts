import type { KernelLog } from '../kernel-log.js';
import type { XsClient } from '../../protocol/xs-client.js';
import { XenbusState } from '../../abi/index.js';
import { errnoOf, XenbusDevice } from './device.js';
import type { Freeze, XenbusDriver } from './driver.js';
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

  /** The first registered driver whose probe takes the device (device_probe), if any. */
  protected pickDriver(dev: XenbusDevice): XenbusDriver | undefined {
    return this.drivers.find((d) => d.probe(dev));
  }

  /**
   * device_probe_and_attach: the first registered driver whose probe takes the device
   * attaches it. 'declined' when no driver wants it, 'failed' when attach failed; the
   * caller then drops the device, as xenbusb_probe_children deletes such a child.
   */
  protected async probeAndAttach(dev: XenbusDevice): Promise<'attached' | 'declined' | 'failed'> {
    const driver = this.pickDriver(dev);
    if (driver === undefined) return 'declined';
    return (await this.attach(dev, driver)) ? 'attached' : 'failed';
  }

  /**
   * device_attach. A split device whose attach failed says so where the other end
   * looks: an error node (xenbus_dev_error) and state Closed, as
   * xenbusb_probe_children sets it "so the world knows that attachment will not
   * occur"; the other end, watching our state, closes instead of waiting.
   */
  protected async attach(dev: XenbusDevice, driver: XenbusDriver): Promise<boolean> {
    try {
      await driver.attach(dev);
    } catch (err) {
      const message = (err as Error).message;
      this.log.print(`${driver.name}: ${dev.node}: attach failed: ${message}`);
      if (dev.otherend !== null) await this.publishFailure(dev, err, `attaching ${driver.name}: ${message}`);
      return false;
    }
    dev.driver = driver;
    this.devices.push(dev);
    return true;
  }

  /** The error node and state Closed, unless the device's node is gone (writing would make it again). */
  private async publishFailure(dev: XenbusDevice, err: unknown, message: string): Promise<void> {
    if (!(await this.nodeExists(dev.node))) return;
    await dev.error(errnoOf(err), message);
    await dev.setState(XenbusState.Closed).catch(() => {});
  }

  protected nodeExists(node: string): Promise<boolean> {
    return this.xs.read(node).then(
      () => true,
      () => false,
    );
  }

  /**
   * device_detach. `publish` when the device is taken down while its node stays (the
   * kernel stopping its drivers): this end then goes Closed, so the other end is not
   * left waiting on a driver that is gone. A detach that fails is logged and written
   * to the error node.
   */
  protected async detachDevice(dev: XenbusDevice, publish = false): Promise<void> {
    const i = this.devices.indexOf(dev);
    if (i < 0) return;
    this.devices.splice(i, 1);
    dev.cancelWaits('the device was detached');
    const driver = dev.driver;
    let failure: unknown = null;
    try {
      await driver?.detach(dev);
    } catch (err) {
      failure = err;
      this.log.print(`${driver?.name}: ${dev.node}: detach failed: ${(err as Error).message}`);
    }
    if (dev.otherend !== null && (publish || failure !== null)) {
      if (failure !== null) await this.publishFailure(dev, failure, `detaching ${driver?.name}: ${(failure as Error).message}`);
      else if (await this.nodeExists(dev.node)) await dev.setState(XenbusState.Closed).catch(() => {});
    }
    dev.driver = null;
  }

  /**
   * bus_generic_suspend: suspend the children in order; if one refuses, thaw those
   * already suspended (newest first: their connections are still there) and fail, so
   * the domain is not suspended with half its devices quiesced.
   */
  async suspend(how: Freeze): Promise<void> {
    const done: XenbusDevice[] = [];
    for (const dev of this.devices) {
      try {
        await dev.driver?.suspend?.(dev, how);
      } catch (err) {
        for (const d of done.reverse()) await d.driver?.thaw?.(d, how).catch(() => {});
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

  /**
   * A cancelled suspend: every child goes on with the connection it had; one that
   * fails is logged (in the kernel's log, quiet or not: the device is broken).
   */
  async thaw(how: Freeze): Promise<void> {
    for (const dev of this.devices) {
      await dev.driver?.thaw?.(dev, how).catch((err: Error) => this.log.print(`${dev.driver?.name}: ${dev.node}: thaw failed: ${err.message}`));
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
      const dev = new XenbusDevice(this.xs, s.type, s.node, s.otherend === null ? null : { ...s.otherend }, this.log);
      dev.state = s.state;
      dev.otherendState = s.otherendState;
      dev.driver = drivers[i]!;
      this.devices.push(dev);
      return dev;
    });
  }

  /** Detach every child, newest first (the kernel is stopping): each split device goes Closed. */
  async detachAll(): Promise<void> {
    for (const dev of [...this.devices].reverse()) await this.detachDevice(dev, true);
  }
}
