import { XenbusState } from '../../abi/index.js';
import type { XsClient } from '../../protocol/xs-client.js';
import type { KernelLog } from '../kernel-log.js';
import { readDriverState, XenbusDevice, type Otherend } from './device.js';
import type { XenbusDriver } from './driver.js';
import { XenbusParent } from './parent.js';
import type { XenbusBusState } from './saved.js';

/**
 * What differs between the front and the back bus (xenbusb_front.c, xenbusb_back.c):
 * the folder below the kernel's home the bus watches, how deep a device's node sits
 * in it, and which nodes of a device name its other end.
 */
export interface XenbusFlavour {
  /** "xenbusb_front" or "xenbusb_back". */
  name: string;
  /** `device` (a frontend's `device/<type>/<id>`) or `backend` (`backend/<type>/<frontend domid>/<id>`). */
  root: string;
  /** Path components from the root to a device's node: 2 for the front, 3 for the back. */
  depth: number;
  /** The device's nodes naming its other end: `backend` and `backend-id`, or `frontend` and `frontend-id`. */
  otherendPath: string;
  otherendId: string;
}

export const FRONT: XenbusFlavour = { name: 'xenbusb_front', root: 'device', depth: 2, otherendPath: 'backend', otherendId: 'backend-id' };
export const BACK: XenbusFlavour = { name: 'xenbusb_back', root: 'backend', depth: 3, otherendPath: 'frontend', otherendId: 'frontend-id' };

/**
 * A XenBus bus (FreeBSD's xenbusb.c). It watches its folder in the kernel's own
 * XenStore home, creates a device for each node it finds there, offers it to the
 * registered drivers (each probes by the device's type), and once one attached it,
 * watches the other end's `state` and tells the driver of each change. A device whose
 * node is removed is detached.
 *
 * Watch callbacks only queue work: enumeration reads XenStore, and two events must not
 * add the same device twice, so every change is handled in turn on one queue, as
 * FreeBSD hands them to a taskqueue.
 */
export class XenbusBus extends XenbusParent {
  private queue: Promise<void> = Promise.resolve();
  private readonly byNode = new Map<string, XenbusDevice>();
  /**
   * Nodes every driver declined. The bus does not read them again on each of their
   * events (a backend folder of dom0 gets many writes for devices no driver here
   * serves, such as the consoles xenconsoled handles) until a driver registers or the
   * node goes away.
   */
  private readonly declined = new Set<string>();
  /** Attaches under way: each runs apart from the queue, so one slow attach does not hold up the others. */
  private readonly attaching = new Set<Promise<void>>();
  /** The other end's state each attached device's driver was last told (Unknown until the first). */
  private readonly delivered = new Map<XenbusDevice, XenbusState>();
  /** Each device's watch token on its other end (see otherendToken). */
  private readonly tokens = new WeakMap<XenbusDevice, string>();
  private tokenSeq = 0;
  private started = false;

  constructor(
    readonly flavour: XenbusFlavour,
    xs: XsClient,
    log: KernelLog,
  ) {
    super(flavour.name, xs, log);
  }

  /** Register a driver; devices found later are offered to it (existing unclaimed ones on the next scan). */
  register(driver: XenbusDriver): void {
    this.drivers.push(driver);
    this.declined.clear();
    if (this.started) this.enqueue(() => this.enumerate());
  }

  /** Watch the bus's folder and attach what is already there (xenbusb_attach). */
  async start(): Promise<void> {
    await this.watchRoot();
    this.enqueue(() => this.enumerate());
    await this.settled();
  }

  /** Watch the folder; the watch's first event enumerates it. */
  private async watchRoot(): Promise<void> {
    this.started = true;
    await this.xs.watch(this.flavour.root, `${this.flavour.name}:${this.flavour.root}`, (e) => this.enqueue(() => this.changed(e.path)));
  }

  /**
   * The device nodes no driver took, as devices read from XenStore now (state, other
   * end and its state), with no driver: FreeBSD keeps such children, unattached, with
   * their sysctl variables. For listing; nothing watches them.
   */
  async unattached(): Promise<XenbusDevice[]> {
    const out: XenbusDevice[] = [];
    for (const node of [...this.declined].sort()) {
      const dev = new XenbusDevice(this.xs, node.split('/')[1]!, node, await this.readOtherend(node), this.log);
      dev.state = await readDriverState(this.xs, node);
      if (dev.otherend !== null) dev.otherendState = await readDriverState(this.xs, dev.otherend.path);
      out.push(dev);
    }
    return out;
  }

  save(): XenbusBusState {
    return { bus: this.name, devices: this.saveDevices(), declined: [...this.declined] };
  }

  /**
   * Take a save into a fresh bus whose drivers are registered, in place of start():
   * the devices come back with their drivers (not attached again) and states, the bus
   * watches its folder and each other end again, as xs_resume re-registers a kernel's
   * watches. The folder's first event enumerates it, so a device added meanwhile is
   * attached and one removed meanwhile detached; an other end's first event delivers
   * its state only if it differs from the one the driver last had.
   */
  async load(s: XenbusBusState): Promise<void> {
    if (s.bus !== this.name) throw new Error(`${this.name}: the save is of ${s.bus}`);
    if (this.started) throw new Error(`${this.name}: a saved bus loads only into one not started`);
    for (const dev of this.loadDevices(s.devices)) {
      this.byNode.set(dev.node, dev);
      this.delivered.set(dev, dev.otherendState);
    }
    for (const node of s.declined) this.declined.add(node);
    for (const dev of this.devices) if (dev.otherend !== null) await this.watchOtherend(dev);
    await this.watchRoot();
    await this.settled();
  }

  /**
   * Resolves once the queue is empty, including the work queued by the work it ran,
   * and the attaches under way have finished.
   */
  async settled(): Promise<void> {
    for (;;) {
      const seen = this.queue;
      await seen;
      if (this.attaching.size > 0) await Promise.all([...this.attaching]);
      else if (seen === this.queue) return;
    }
  }

  private enqueue(work: () => Promise<void>): void {
    this.queue = this.queue.then(work).catch((err: Error) => this.log.print(`${this.name}: ${err.message}`));
  }

  /**
   * xenbusb_enumerate_bus (or, for an event on a folder inside the bus, only that
   * folder, as xenbusb_devices_changed enumerates only the type it concerns): every
   * device node below `path`. A removed folder (`rm device/vif`) fires one event for
   * the folder, not one per device, so devices below it whose nodes are no longer found
   * are detached here too.
   */
  private async enumerate(path = this.flavour.root): Promise<void> {
    const levels = this.flavour.depth + 1 - path.split('/').length;
    const found = await this.nodesBelow(path, levels);
    const present = new Set(found);
    const below = (node: string): boolean => node.startsWith(`${path}/`);
    for (const node of this.declined) if (below(node) && !present.has(node)) this.declined.delete(node);
    for (const dev of [...this.byNode.values()]) if (below(dev.node) && !present.has(dev.node)) await this.removeDevice(dev);
    for (const node of found) await this.addDevice(node);
  }

  /** The device nodes `levels` below `path`. */
  private async nodesBelow(path: string, levels: number): Promise<string[]> {
    if (levels === 0) return [path];
    const names = await this.xs.directory(path).catch(() => []);
    const out: string[] = [];
    for (const name of names) out.push(...(await this.nodesBelow(`${path}/${name}`, levels - 1)));
    return out;
  }

  /** A watch event below the root: the device it concerns is added, or removed if its node is gone. */
  private async changed(path: string): Promise<void> {
    const parts = path.split('/');
    if (parts.length <= this.flavour.depth) return this.enumerate(path);
    const node = parts.slice(0, this.flavour.depth + 1).join('/');
    if (this.declined.has(node)) {
      // Only the removal of the node itself matters: then it may come back as a new device.
      if (path === node && !(await this.nodeExists(node))) this.declined.delete(node);
      return;
    }
    const known = this.byNode.get(node);
    if (known === undefined) return this.addDevice(node);
    if (!(await this.nodeExists(node))) return this.removeDevice(known);
    // Removed and made again before this bus saw it go (a detach, then an attach of the
    // same vdev): the node reads Initialising, which only the toolstack writes for a new
    // device, while ours has moved on from it. The old device goes and the new one
    // attaches, or the new one would never be probed and its peer would wait for it.
    if (known.state !== XenbusState.Initialising && (await readDriverState(this.xs, node)) === XenbusState.Initialising) {
      await this.removeDevice(known);
      await this.addDevice(node);
    }
  }

  /**
   * xenbusb_add_device: a node not seen before becomes a device if it is new (its state
   * is Initialising: one in any other state is on its way out after Closed) and names
   * its other end (the toolstack writes a device's nodes in one transaction, so a
   * device without them is not finished; the next event looks again).
   *
   * The other end's state is watched before the driver attaches, so an attach that
   * waits for it (XenbusDevice.waitForOtherend) sees it change; the driver is told of
   * it once attached. The attach itself runs apart from the queue: devices that appear
   * together attach together, and one waiting for its peer holds up no other.
   */
  private async addDevice(node: string): Promise<void> {
    if (this.byNode.has(node) || this.declined.has(node)) return;
    const state = await readDriverState(this.xs, node);
    if (state !== XenbusState.Initialising) return;
    const otherend = await this.readOtherend(node);
    if (otherend === null || this.byNode.has(node)) return;
    const type = node.split('/')[1]!;
    const dev = new XenbusDevice(this.xs, type, node, otherend, this.log);
    dev.state = state;
    const driver = this.pickDriver(dev);
    if (driver === undefined) {
      this.declined.add(node);
      return;
    }
    this.byNode.set(node, dev);
    await this.watchOtherend(dev);
    const attach = this.attachDevice(dev, driver).catch((err: Error) => this.log.print(`${this.name}: ${node}: ${err.message}`));
    this.attaching.add(attach);
    void attach.finally(() => this.attaching.delete(attach));
  }

  private async attachDevice(dev: XenbusDevice, driver: XenbusDriver): Promise<void> {
    const ok = await this.attach(dev, driver);
    const current = this.byNode.get(dev.node) === dev;
    if (!ok) {
      if (current) this.byNode.delete(dev.node);
      await this.unwatchOtherend(dev);
      return;
    }
    // Its node went while it attached: take it down again now.
    if (!current) {
      await this.unwatchOtherend(dev);
      return this.detachDevice(dev);
    }
    this.enqueue(async () => this.deliver(dev));
  }

  private async readOtherend(node: string): Promise<Otherend | null> {
    try {
      const path = (await this.xs.read(`${node}/${this.flavour.otherendPath}`)).toString('latin1');
      const id = (await this.xs.read(`${node}/${this.flavour.otherendId}`)).toString('latin1');
      if (path === '' || !/^[0-9]+$/.test(id)) return null;
      return { path, domid: Number(id) };
    } catch {
      return null;
    }
  }

  /**
   * The token of a device's watch on its other end: one per device, not per node. A
   * device removed and made again under the same node (a detach, then an attach) is a
   * new device whose watch the old one's late unwatch (its attach still finishing) must
   * not take away, and one token names one callback (XsClient.watch).
   */
  private otherendToken(dev: XenbusDevice): string {
    let token = this.tokens.get(dev);
    if (token === undefined) {
      token = `otherend:${dev.node}:${++this.tokenSeq}`;
      this.tokens.set(dev, token);
    }
    return token;
  }

  /**
   * Watch the other end's state (xd_otherend_watch). Its first event, fired when the
   * watch is set, delivers the state the other end is in now.
   */
  private async watchOtherend(dev: XenbusDevice): Promise<void> {
    const otherend = dev.otherend!;
    await this.xs.watch(`${otherend.path}/state`, this.otherendToken(dev), () => this.enqueue(() => this.otherendEvent(dev, otherend)));
  }

  private async unwatchOtherend(dev: XenbusDevice): Promise<void> {
    await this.xs.unwatch(`${dev.otherend!.path}/state`, this.otherendToken(dev)).catch(() => {});
  }

  /**
   * xenbusb_otherend_watch_cb: read the other end's state, settle the waits on it, and
   * tell the driver.
   */
  private async otherendEvent(dev: XenbusDevice, otherend: Otherend): Promise<void> {
    if (dev.otherend !== otherend || this.byNode.get(dev.node) !== dev) return;
    dev.noteOtherendState(await readDriverState(this.xs, otherend.path));
    this.deliver(dev);
  }

  /**
   * Tell an attached device's driver the other end's state. Only a state that differs
   * from the last one delivered is passed on (FreeBSD passes every event): the watch
   * also fires when it is set and on a rewrite of the same value, and a driver should
   * not connect twice because of it.
   */
  private deliver(dev: XenbusDevice): void {
    if (dev.driver === null) return;
    const state = dev.otherendState;
    if (state === (this.delivered.get(dev) ?? XenbusState.Unknown)) return;
    this.delivered.set(dev, state);
    dev.driver.otherendChanged?.(dev, state);
  }

  /** The device's node is gone: it is detached (at the end of its attach, if that is still running). */
  private async removeDevice(dev: XenbusDevice, publish = false): Promise<void> {
    this.byNode.delete(dev.node);
    this.delivered.delete(dev);
    dev.cancelWaits('its node was removed');
    await this.unwatchOtherend(dev);
    await this.detachDevice(dev, publish);
  }

  /**
   * xenbusb_resume: after a suspend the other end may be another domain (a migration).
   * The old other end's watch goes, the device starts its handshake again from
   * Initialising, reads where its other end is now, its driver resumes, and only then
   * the new other end is watched, whose first event starts the reconnection.
   */
  protected override async resumeDevice(dev: XenbusDevice): Promise<void> {
    await this.unwatchOtherend(dev);
    await dev.setState(XenbusState.Initialising);
    const otherend = await this.readOtherend(dev.node);
    if (otherend === null) throw new Error(`${dev.node}: no ${this.flavour.otherendPath} named after resume`);
    dev.otherend = otherend;
    dev.otherendState = XenbusState.Unknown;
    this.delivered.set(dev, XenbusState.Unknown);
    this.log.print(`${dev.driver?.name ?? this.name}: ${dev.node}: resuming; backend ${otherend.path} (domain ${otherend.domid})`);
    await super.resumeDevice(dev);
    await this.watchOtherend(dev);
  }

  /** The kernel stops its drivers: attaches under way end first, then each device goes Closed and is detached. */
  override async detachAll(): Promise<void> {
    for (const dev of this.byNode.values()) dev.cancelWaits('the kernel is stopping its drivers');
    await Promise.all([...this.attaching]);
    for (const dev of [...this.devices].reverse()) await this.removeDevice(dev, true);
  }
}
