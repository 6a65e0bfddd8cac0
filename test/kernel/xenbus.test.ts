import test from 'ava';
import { XenbusState } from '../../src/abi/index.js';
import { VirtualClock } from '../../src/hypervisor/clock.js';
import { engineTransport } from '../../src/kernel/engine-transport.js';
import { KernelLog } from '../../src/kernel/kernel-log.js';
import { BACK, FRONT, XenbusBus } from '../../src/kernel/xenbus/bus.js';
import type { XenbusDevice } from '../../src/kernel/xenbus/device.js';
import { GUEST_SUSPEND, type XenbusDriver } from '../../src/kernel/xenbus/driver.js';
import { XenstoreChildren } from '../../src/kernel/xenbus/xenstore-children.js';
import { XsClient } from '../../src/protocol/xs-client.js';
import { bootMachine, until, yamlConfig } from '../helpers/machine.js';
import { XenStored } from '../../src/xenstore/xenstored.js';

/** dom0's view of an in-process xenstored: relative paths are below /local/domain/0. */
function setup(): { xs: XsClient; log: KernelLog } {
  return { xs: new XsClient(engineTransport(new XenStored())), log: new KernelLog(new VirtualClock()) };
}

/** A driver that records every call it gets, as "<method> <node>[ <state>]". */
class Recorder implements XenbusDriver {
  constructor(
    readonly name: string,
    private readonly type: string,
    private readonly node: string | null = null,
    private readonly failSuspend = false,
    /** Shared by several drivers to see the order across them. */
    readonly calls: string[] = [],
  ) {}
  identify(): string | null {
    return this.node;
  }
  probe(dev: XenbusDevice): boolean {
    this.calls.push(`probe ${dev.node}`);
    return dev.type === this.type;
  }
  async attach(dev: XenbusDevice): Promise<void> {
    this.calls.push(`attach ${dev.node}`);
  }
  async detach(dev: XenbusDevice): Promise<void> {
    this.calls.push(`detach ${dev.node}`);
  }
  async suspend(dev: XenbusDevice): Promise<void> {
    if (this.failSuspend) throw new Error('busy');
    this.calls.push(`suspend ${dev.node}`);
  }
  async resume(dev: XenbusDevice): Promise<void> {
    this.calls.push(`resume ${dev.node}`);
  }
  async thaw(dev: XenbusDevice): Promise<void> {
    this.calls.push(`thaw ${dev.node}`);
  }
  otherendChanged(dev: XenbusDevice, state: XenbusState): void {
    this.calls.push(`otherend ${dev.node} ${state}`);
  }
}

/** What the toolstack writes for a frontend and its backend (libxl's device nodes), both in dom0's home here. */
async function addVbd(xs: XsClient, id: number, backendState: XenbusState = XenbusState.Initialising): Promise<void> {
  await addVbds(xs, [id], backendState);
}

/** Several vbds in one transaction. */
async function addVbds(xs: XsClient, ids: readonly number[], backendState: XenbusState = XenbusState.Initialising): Promise<void> {
  await xs.transaction(async (tx) => {
    for (const id of ids) {
      const be = `/local/domain/0/backend/vbd/0/${id}`;
      await xs.write(`${be}/state`, String(backendState), tx);
      await xs.write(`${be}/frontend`, `/local/domain/0/device/vbd/${id}`, tx);
      await xs.write(`${be}/frontend-id`, '0', tx);
      await xs.write(`device/vbd/${id}/state`, String(XenbusState.Initialising), tx);
      await xs.write(`device/vbd/${id}/backend`, be, tx);
      await xs.write(`device/vbd/${id}/backend-id`, '0', tx);
    }
  });
}

test('the front bus finds the devices already there, offers each to the drivers by type, and tells the driver its backend\'s state', async (t) => {
  const { xs, log } = setup();
  await addVbd(xs, 51712);
  await xs.write('device/vif/0/state', '1'); // no backend named yet: not a device yet
  const bus = new XenbusBus(FRONT, xs, log);
  const vif = new Recorder('netfront', 'vif');
  const vbd = new Recorder('blkfront', 'vbd');
  bus.register(vif);
  bus.register(vbd);
  await bus.start();
  await bus.settled();
  t.deepEqual(vbd.calls, ['probe device/vbd/51712', 'attach device/vbd/51712', `otherend device/vbd/51712 ${XenbusState.Initialising}`]);
  t.deepEqual(vif.calls, ['probe device/vbd/51712'], 'the vif driver was asked, and declined');
  const [dev] = bus.devices;
  t.is(dev?.otherend?.path, '/local/domain/0/backend/vbd/0/51712');
  t.is(dev?.otherend?.domid, 0);
  t.is(dev?.state, XenbusState.Initialising);
});

test('a device added later is attached; its backend\'s state changes reach the driver once each; removing its node detaches it', async (t) => {
  const { xs, log } = setup();
  const bus = new XenbusBus(FRONT, xs, log);
  const vbd = new Recorder('blkfront', 'vbd');
  bus.register(vbd);
  await bus.start();
  await addVbd(xs, 768, XenbusState.InitWait);
  await bus.settled();
  const be = '/local/domain/0/backend/vbd/0/768';
  await xs.write(`${be}/state`, String(XenbusState.Connected));
  await xs.write(`${be}/state`, String(XenbusState.Connected)); // same state: not delivered again
  await xs.write(`${be}/sectors`, '2048'); // not the state node: no event
  await bus.settled();
  await xs.rm('device/vbd/768');
  await bus.settled();
  t.deepEqual(vbd.calls, [
    'probe device/vbd/768',
    'attach device/vbd/768',
    `otherend device/vbd/768 ${XenbusState.InitWait}`,
    `otherend device/vbd/768 ${XenbusState.Connected}`,
    'detach device/vbd/768',
  ]);
  t.is(bus.devices.length, 0);
  // Detached: its backend's later changes are not delivered.
  await xs.write(`${be}/state`, String(XenbusState.Closed));
  await bus.settled();
  t.is(vbd.calls.length, 5);
});

test('the back bus finds backend/<type>/<frontend domid>/<id> and watches the frontend', async (t) => {
  const { xs, log } = setup();
  await addVbd(xs, 51712);
  const bus = new XenbusBus(BACK, xs, log);
  const blkback = new Recorder('blkback', 'vbd');
  bus.register(blkback);
  await bus.start();
  await xs.write('device/vbd/51712/state', String(XenbusState.Initialised));
  await bus.settled();
  t.deepEqual(blkback.calls, [
    'probe backend/vbd/0/51712',
    'attach backend/vbd/0/51712',
    `otherend backend/vbd/0/51712 ${XenbusState.Initialising}`,
    `otherend backend/vbd/0/51712 ${XenbusState.Initialised}`,
  ]);
  t.is(bus.devices[0]?.otherend?.path, '/local/domain/0/device/vbd/51712');
});

test('removing a whole type folder detaches each of its devices', async (t) => {
  const { xs, log } = setup();
  await addVbd(xs, 1);
  await addVbd(xs, 2);
  const bus = new XenbusBus(FRONT, xs, log);
  const vbd = new Recorder('blkfront', 'vbd');
  bus.register(vbd);
  await bus.start();
  await xs.rm('device/vbd');
  await bus.settled();
  t.deepEqual(
    vbd.calls.filter((c) => c.startsWith('detach')),
    ['detach device/vbd/1', 'detach device/vbd/2'],
  );
  t.is(bus.devices.length, 0);
});

test('suspend, thaw and resume reach every device in attach order; a refused suspend thaws those already suspended', async (t) => {
  const { xs, log } = setup();
  const children = new XenstoreChildren(xs, log);
  const calls: string[] = [];
  await children.add(new Recorder('a', 'a', 'node-a', false, calls));
  await children.add(new Recorder('b', 'b', 'node-b', false, calls));
  calls.length = 0;
  await children.suspend(GUEST_SUSPEND);
  await children.resume();
  await children.thaw(GUEST_SUSPEND);
  t.deepEqual(calls, ['suspend node-a', 'suspend node-b', 'resume node-a', 'resume node-b', 'thaw node-a', 'thaw node-b']);

  await children.add(new Recorder('c', 'c', 'node-c', true, calls));
  calls.length = 0;
  await t.throwsAsync(children.suspend(GUEST_SUSPEND), { message: /node-c: cannot suspend: busy/ });
  // Their connections are still there: they thaw, they do not reconnect.
  t.deepEqual(calls, ['suspend node-a', 'suspend node-b', 'thaw node-b', 'thaw node-a']);
});

test('a child of xenstore is identified by its driver, and a driver that identifies nothing adds no device', async (t) => {
  const { xs, log } = setup();
  const children = new XenstoreChildren(xs, log);
  const none = new Recorder('none', 'none', null);
  await children.add(none);
  await children.add(new Recorder('ctl', 'ctl', 'control'));
  t.deepEqual(none.calls, ['probe control'], 'a registered driver is still offered the others\' children');
  t.deepEqual(
    children.devices.map((d) => [d.type, d.node, d.otherend]),
    [['ctl', 'control', null]],
  );
});

test('a booted guest runs control, balloon and vCPU hotplug as children of xenstore; dom0 has no control child', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const r = await tm.m.toolstack.create(yamlConfig('name: g\ntype: pvh\nmemory: 64\nvcpus: 1\n'));
  const guest = tm.m.toolstack.kernel(r.domid)!;
  await until(() => guest.state === 'running', 'guest running');
  t.deepEqual(
    guest.xenstoreChildren.devices.map((d) => [d.driver?.name, d.node]),
    [
      ['xctrl', 'control'],
      ['balloon', 'memory'],
      ['cpu', 'cpu'],
    ],
  );
  t.deepEqual(
    tm.m.dom0.xenstoreChildren.devices.map((d) => d.driver?.name),
    ['balloon', 'cpu'],
  );
});

test('a device node that is not Initialising is not added (it is going away after Closed)', async (t) => {
  const { xs, log } = setup();
  await addVbd(xs, 5);
  await xs.write('device/vbd/5/state', String(XenbusState.Closed));
  const bus = new XenbusBus(FRONT, xs, log);
  const vbd = new Recorder('blkfront', 'vbd');
  bus.register(vbd);
  await bus.start();
  t.deepEqual(vbd.calls, []);
  t.is(bus.devices.length, 0);
});

test('after resume a frontend starts again from Initialising and follows its new backend', async (t) => {
  const { xs, log } = setup();
  await addVbd(xs, 7);
  const bus = new XenbusBus(FRONT, xs, log);
  const vbd = new Recorder('blkfront', 'vbd');
  bus.register(vbd);
  await bus.start();
  const dev = bus.devices[0]!;
  await dev.setState(XenbusState.Connected);
  await bus.suspend(GUEST_SUSPEND);
  // A migration: the toolstack names another backend.
  const newBe = '/local/domain/0/backend/vbd/0/70';
  await xs.write(`${newBe}/state`, String(XenbusState.InitWait));
  await xs.write('device/vbd/7/backend', newBe);
  vbd.calls.length = 0;
  await bus.resume();
  await bus.settled();
  t.is((await xs.read('device/vbd/7/state')).toString(), String(XenbusState.Initialising));
  t.is(dev.otherend?.path, newBe);
  t.deepEqual(vbd.calls, ['resume device/vbd/7', `otherend device/vbd/7 ${XenbusState.InitWait}`]);
  // The old backend is no longer heard.
  await xs.write('/local/domain/0/backend/vbd/0/7/state', String(XenbusState.Closed));
  await bus.settled();
  t.is(vbd.calls.length, 2);
});

test('a device no driver takes is probed once, not on each of its writes; a new driver gets it, and so does a node made again', async (t) => {
  const { xs, log } = setup();
  const bus = new XenbusBus(FRONT, xs, log);
  const vif = new Recorder('netfront', 'vif');
  bus.register(vif);
  await bus.start();
  await addVbd(xs, 1);
  await xs.write('device/vbd/1/ring-ref', '8');
  await xs.write('device/vbd/1/event-channel', '5');
  await bus.settled();
  t.deepEqual(vif.calls, ['probe device/vbd/1']);
  await xs.rm('device/vbd/1');
  await addVbd(xs, 1);
  await bus.settled();
  t.deepEqual(vif.calls, ['probe device/vbd/1', 'probe device/vbd/1'], 'removed and made again: a new device');
  const vbd = new Recorder('blkfront', 'vbd');
  bus.register(vbd);
  await bus.settled();
  t.deepEqual(vbd.calls.slice(0, 2), ['probe device/vbd/1', 'attach device/vbd/1']);
});

test('on the back bus, removing one frontend domain\'s folder detaches its devices and no others', async (t) => {
  const { xs, log } = setup();
  await addVbd(xs, 1);
  await xs.transaction(async (tx) => {
    const be = '/local/domain/0/backend/vbd/9/2';
    await xs.write(`${be}/state`, String(XenbusState.Initialising), tx);
    await xs.write(`${be}/frontend`, '/local/domain/9/device/vbd/2', tx);
    await xs.write(`${be}/frontend-id`, '9', tx);
  });
  const bus = new XenbusBus(BACK, xs, log);
  const blkback = new Recorder('blkback', 'vbd');
  bus.register(blkback);
  await bus.start();
  t.deepEqual(
    bus.devices.map((d) => d.node),
    ['backend/vbd/0/1', 'backend/vbd/9/2'],
  );
  await xs.rm('backend/vbd/9');
  await bus.settled();
  t.deepEqual(
    bus.devices.map((d) => d.node),
    ['backend/vbd/0/1'],
  );
  t.true(blkback.calls.includes('detach backend/vbd/9/2'));
});

test('a bus round-trips through a save: a loaded bus keeps its devices and drivers without attaching again, and goes on delivering the other end\'s changes', async (t) => {
  const xenstored = new XenStored();
  const log = new KernelLog(new VirtualClock());
  const xs = new XsClient(engineTransport(xenstored));
  await addVbd(xs, 768, XenbusState.InitWait);
  await addVbd(xs, 832);
  await xs.write('device/vif/0/state', '1');
  await xs.write('device/vif/0/backend', '/local/domain/0/backend/vif/0/0');
  await xs.write('device/vif/0/backend-id', '0');
  const bus = new XenbusBus(FRONT, xs, log);
  bus.register(new Recorder('blkfront', 'vbd'));
  await bus.start();
  const be = '/local/domain/0/backend/vbd/0/768';
  await xs.write(`${be}/state`, String(XenbusState.Connected));
  await bus.settled();
  await bus.devices[0]!.setState(XenbusState.Connected);
  const saved = JSON.parse(JSON.stringify(bus.save())) as ReturnType<XenbusBus['save']>;
  t.deepEqual(saved, {
    bus: 'xenbusb_front',
    devices: [
      { node: 'device/vbd/768', type: 'vbd', driver: 'blkfront', state: XenbusState.Connected, otherend: { path: be, domid: 0 }, otherendState: XenbusState.Connected },
      { node: 'device/vbd/832', type: 'vbd', driver: 'blkfront', state: XenbusState.Initialising, otherend: { path: '/local/domain/0/backend/vbd/0/832', domid: 0 }, otherendState: XenbusState.Initialising },
    ],
    declined: ['device/vif/0'],
  });
  xs.close();

  // A fresh kernel: a new connection, a new bus with its driver registered, loaded from the save.
  const xs2 = new XsClient(engineTransport(xenstored));
  const bus2 = new XenbusBus(FRONT, xs2, log);
  const blkfront = new Recorder('blkfront', 'vbd');
  bus2.register(blkfront);
  await bus2.load(saved);
  t.deepEqual(bus2.save(), saved);
  t.deepEqual(blkfront.calls, [], 'nothing attached again, no state delivered twice');
  await xs2.write(`${be}/state`, String(XenbusState.Closing));
  await addVbd(xs2, 896);
  await xs2.rm('device/vbd/832');
  await bus2.settled();
  t.deepEqual(blkfront.calls, [
    `otherend device/vbd/768 ${XenbusState.Closing}`,
    'probe device/vbd/896',
    'attach device/vbd/896',
    'detach device/vbd/832',
    `otherend device/vbd/896 ${XenbusState.Initialising}`,
  ]);
  const other = new XenbusBus(FRONT, new XsClient(engineTransport(xenstored)), log);
  await t.throwsAsync(other.load(saved), { message: /device\/vbd\/768: no driver blkfront registered \(have none\)/ });
});

/** A frontend driver whose attach waits for its backend's InitWait (or Connected), as blkfront's negotiation does. */
class WaitingFront implements XenbusDriver {
  readonly name = 'waitfront';
  readonly attached: string[] = [];
  readonly detached: string[] = [];
  probe(dev: XenbusDevice): boolean {
    return dev.type === 'vbd';
  }
  async attach(dev: XenbusDevice): Promise<void> {
    const state = await dev.waitForOtherend(XenbusState.InitWait, XenbusState.Connected);
    this.attached.push(`${dev.node} ${state}`);
  }
  async detach(dev: XenbusDevice): Promise<void> {
    this.detached.push(dev.node);
  }
}

const backendOf = (id: number): string => `/local/domain/0/backend/vbd/0/${id}`;
const readText = async (xs: XsClient, path: string): Promise<string> => (await xs.read(path)).toString('latin1');

test('devices appearing together attach together: one waiting for its backend holds up no other, each attaches once', async (t) => {
  const { xs, log } = setup();
  const bus = new XenbusBus(FRONT, xs, log);
  const drv = new WaitingFront();
  bus.register(drv);
  await bus.start();
  await addVbds(xs, [1, 2, 3]); // one transaction
  await Promise.all([4, 5, 6].map((id) => addVbd(xs, id))); // in quick succession
  // Backend 5 gets to InitWait first: its frontend attaches while the others still wait.
  await xs.write(`${backendOf(5)}/state`, String(XenbusState.InitWait));
  await until(() => drv.attached.length === 1, 'device 5 attached');
  t.deepEqual(drv.attached, [`device/vbd/5 ${XenbusState.InitWait}`]);
  for (const id of [1, 2, 3, 4, 6]) await xs.write(`${backendOf(id)}/state`, String(id % 2 === 0 ? XenbusState.Connected : XenbusState.InitWait));
  await bus.settled();
  t.deepEqual([...drv.attached].sort(), [1, 2, 3, 4, 5, 6].map((id) => `device/vbd/${id} ${id === 5 || id % 2 === 1 ? XenbusState.InitWait : XenbusState.Connected}`));
  t.deepEqual(bus.devices.map((d) => d.node).sort(), [1, 2, 3, 4, 5, 6].map((id) => `device/vbd/${id}`));
});

test('a backend that closes while its frontend waits fails the attach: the frontend publishes an error node and goes Closed', async (t) => {
  const { xs, log } = setup();
  const bus = new XenbusBus(FRONT, xs, log);
  const drv = new WaitingFront();
  bus.register(drv);
  await bus.start();
  await addVbd(xs, 7);
  await xs.write(`${backendOf(7)}/state`, String(XenbusState.Closed));
  await bus.settled();
  t.deepEqual(drv.attached, []);
  t.is(bus.devices.length, 0);
  t.is(await readText(xs, 'device/vbd/7/state'), String(XenbusState.Closed), 'the backend is not left waiting for us');
  t.is(
    await readText(xs, 'error/device/vbd/7/error'),
    `5 attaching waitfront: device/vbd/7: the other end (${backendOf(7)}) went Closed while waiting for InitWait or Connected`,
    'FreeBSD/Linux format: "<errno> <message>" in error/<node>/error',
  );
  t.true(log.lines.some((l) => l.includes('device/vbd/7: Error 5 attaching waitfront')));
});

test('an attach that fails with an errno writes that errno; xenbus_dev_fatal writes the error and goes Closing', async (t) => {
  const { xs, log } = setup();
  const bus = new XenbusBus(BACK, xs, log);
  let fatalDev: XenbusDevice | null = null;
  bus.register({
    name: 'blkback',
    probe: (dev) => dev.type === 'vbd',
    attach: async (dev) => {
      if (dev.node.endsWith('/1')) throw Object.assign(new Error('no memory for the ring'), { code: 'ENOMEM' });
      fatalDev = dev;
    },
    detach: async () => {},
  });
  await bus.start();
  await addVbds(xs, [1, 2]);
  await bus.settled();
  t.is(await readText(xs, 'error/backend/vbd/0/1/error'), '12 attaching blkback: no memory for the ring');
  t.is(await readText(xs, 'backend/vbd/0/1/state'), String(XenbusState.Closed));
  await fatalDev!.fatal('EINVAL', 'reading ring-ref');
  t.is(await readText(xs, 'error/backend/vbd/0/2/error'), '22 reading ring-ref');
  t.is(await readText(xs, 'backend/vbd/0/2/state'), String(XenbusState.Closing));
  t.true(log.lines.some((l) => l.endsWith('blkback: backend/vbd/0/2: Fatal error. Transitioning to Closing State')));
});

test('a kernel stopping its drivers leaves each split device Closed; a removed node is not written again', async (t) => {
  const { xs, log } = setup();
  const bus = new XenbusBus(FRONT, xs, log);
  const vbd = new Recorder('blkfront', 'vbd');
  bus.register(vbd);
  await bus.start();
  await addVbds(xs, [1, 2]);
  await bus.settled();
  await xs.rm('device/vbd/2');
  await bus.settled();
  await bus.detachAll();
  t.is(await readText(xs, 'device/vbd/1/state'), String(XenbusState.Closed));
  await t.throwsAsync(xs.read('device/vbd/2'), undefined, 'the removed device stays removed');
  t.deepEqual(vbd.calls.filter((c) => c.startsWith('detach')), ['detach device/vbd/2', 'detach device/vbd/1']);
});

test('waitForOtherend resolves at once when the other end is already there, and fails when the device goes', async (t) => {
  const { xs, log } = setup();
  const bus = new XenbusBus(FRONT, xs, log);
  const vbd = new Recorder('blkfront', 'vbd');
  bus.register(vbd);
  await bus.start();
  await addVbd(xs, 3, XenbusState.Connected);
  await bus.settled();
  const dev = bus.devices[0]!;
  t.is(await dev.waitForOtherend(XenbusState.Connected), XenbusState.Connected);
  const waiting = dev.waitForOtherend(XenbusState.Reconfigured);
  await xs.rm('device/vbd/3');
  await bus.settled();
  await t.throwsAsync(waiting, { name: 'OtherendGoneError', message: /its node was removed/ });
});
