/**
 * Real bytes through the netif rings: a guest's netfront and dom0's netback, both
 * emulated kernels, connected by the XenBus handshake; frames cross with grant copies.
 */
import test from 'ava';
import { readRxRequest, SharedRing, SRING_PROTOCOLS, writeRxRequest, XenbusState } from '../../../src/abi/index.js';
import { bootMachine, until, yamlConfig } from '../../helpers/machine.js';
import { machineWithGuest, readNode, readState, stateAtEachUnbind } from '../blk/helpers.js';
import { addVif, attachVif, collect, frame, removeVif, vifBack, vifFront, vifHotplug, type VifNodes } from './helpers.js';

const GUEST_MAC = '00:16:3e:00:00:01';
const HOST_MAC = 'fe:ff:ff:ff:ff:ff';

test('the handshake publishes Linux netback and netfront keys, and both ends reach Connected', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  t.teardown(() => tm.dispose());
  const s: VifNodes = { frontDomid: domid, backDomid: 0, devid: 0, mac: GUEST_MAC, ip: '10.0.0.2' };
  const { nic } = await attachVif(tm, kernel, s);
  const be = vifBack(s);
  const fe = vifFront(s);
  for (const [k, v] of [['feature-sg', '1'], ['feature-gso-tcpv4', '1'], ['feature-gso-tcpv6', '1'], ['feature-rx-copy', '1'], ['feature-rx-flip', '0'], ['feature-split-event-channels', '1'], ['feature-ipv6-csum-offload', '1'], ['multi-queue-max-queues', '1']]) {
    t.is(await readNode(tm.xs, `${be}/${k}`), v, `backend ${k}`);
  }
  for (const [k, v] of [['request-rx-copy', '1'], ['feature-rx-notify', '1'], ['feature-sg', '1'], ['feature-gso-tcpv4', '1'], ['feature-gso-tcpv6', '1'], ['feature-ipv6-csum-offload', '1']]) {
    t.is(await readNode(tm.xs, `${fe}/${k}`), v, `frontend ${k}`);
  }
  for (const k of ['tx-ring-ref', 'rx-ring-ref', 'event-channel-tx', 'event-channel-rx']) t.regex((await readNode(tm.xs, `${fe}/${k}`)) ?? '', /^[0-9]+$/, `frontend ${k}`);
  t.is(await readNode(tm.xs, `${fe}/event-channel`), undefined, 'split channels: no single event-channel');
  await until(async () => (await readState(tm.xs, be)) === XenbusState.Connected, 'backend Connected');
  t.is(await readState(tm.xs, fe), XenbusState.Connected);
  t.is(nic.mac, GUEST_MAC);
  t.is(nic.ip, '10.0.0.2');
});

test('frames cross both rings byte for byte, from 14 bytes to 64 KiB less one (multi-slot)', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  t.teardown(() => tm.dispose());
  const { nic, link } = await attachVif(tm, kernel, { frontDomid: domid, backDomid: 0, devid: 0, mac: GUEST_MAC });
  const atHost = collect(link);
  const atGuest = collect(nic);
  const sizes = [14, 60, 1514, 4096, 4097, 9000, 32768, 65535];
  const out = sizes.map((n, i) => frame(n, HOST_MAC, GUEST_MAC, i + 1));
  const back = sizes.map((n, i) => frame(n, GUEST_MAC, HOST_MAC, i + 100));
  for (const f of out) t.true(nic.send(f), `netfront takes a ${f.length}-byte frame`);
  await until(() => atHost.length === out.length, 'every frame at dom0');
  for (const f of back) t.true(link.send(f), `netback takes a ${f.length}-byte frame`);
  await until(() => atGuest.length === back.length, 'every frame in the guest');
  t.deepEqual(atHost, out);
  t.deepEqual(atGuest, back);
  const stats = tm.m.dom0.netback.vifs()[0]!.stats;
  t.is(stats.txPackets, sizes.length);
  t.is(stats.txBytes, sizes.reduce((a, b) => a + b, 0));
  t.is(stats.rxPackets, sizes.length);
  t.is(stats.rxBytes, sizes.reduce((a, b) => a + b, 0));
});

test('more frames than the rx ring holds wait in netback and all arrive, in order', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  t.teardown(() => tm.dispose());
  const { nic, link } = await attachVif(tm, kernel, { frontDomid: domid, backDomid: 0, devid: 0, mac: GUEST_MAC });
  const atGuest = collect(nic);
  const frames = Array.from({ length: 600 }, (_, i) => frame(1514, GUEST_MAC, HOST_MAC, i + 1));
  let taken = 0;
  for (const f of frames) if (link.send(f)) taken++;
  t.true(taken >= 256, `${taken} taken at once`);
  await until(() => atGuest.length === taken, 'the taken frames in the guest');
  t.deepEqual(atGuest, frames.slice(0, taken));
});

test('a frame nobody takes at dom0 is dropped and counted', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  t.teardown(() => tm.dispose());
  const { nic, link } = await attachVif(tm, kernel, { frontDomid: domid, backDomid: 0, devid: 0, mac: GUEST_MAC });
  // The machine's fabric takes every vif's frames (capture, bridge): take them from it.
  link.onFrame = null;
  t.true(nic.send(frame(60, HOST_MAC, GUEST_MAC, 1)));
  await until(() => tm.m.dom0.netback.vifs()[0]!.stats.txDropped === 1, 'the drop counted');
  t.is(tm.m.dom0.netback.vifs()[0]!.stats.txPackets, 1);
});

test('detach and re-attach while the guest runs: traffic flows again on the new rings', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  t.teardown(() => tm.dispose());
  const s: VifNodes = { frontDomid: domid, backDomid: 0, devid: 1, mac: GUEST_MAC };
  const first = await attachVif(tm, kernel, s);
  const got1 = collect(first.link);
  t.true(first.nic.send(frame(100, HOST_MAC, GUEST_MAC, 1)));
  await until(() => got1.length === 1, 'first frame');
  const freeBefore = kernel.pageAllocator.free;
  await removeVif(tm.xs, s);
  await until(() => kernel.netfront.nic(1) === undefined, 'the NIC gone');
  t.false(first.nic.send(frame(100, HOST_MAC, GUEST_MAC, 2)), 'a detached NIC sends nothing');
  t.is(tm.m.dom0.netback.link(domid, 1), undefined);
  await until(() => kernel.pageAllocator.free > freeBefore, 'the buffers given back');
  const second = await attachVif(tm, kernel, s);
  const atHost = collect(second.link);
  const atGuest = collect(second.nic);
  const f = frame(20000, HOST_MAC, GUEST_MAC, 3);
  t.true(second.nic.send(f));
  t.true(second.link.send(f));
  await until(() => atHost.length === 1 && atGuest.length === 1, 'both directions again');
  t.deepEqual(atHost[0], f);
  t.deepEqual(atGuest[0], f);
});

test('with one event channel (a frontend that does not split them) frames cross both ways', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  t.teardown(() => tm.dispose());
  kernel.netfront.tunables = { splitEventChannels: false };
  const s: VifNodes = { frontDomid: domid, backDomid: 0, devid: 0, mac: GUEST_MAC };
  const { nic, link } = await attachVif(tm, kernel, s);
  t.regex((await readNode(tm.xs, `${vifFront(s)}/event-channel`)) ?? '', /^[0-9]+$/);
  t.is(await readNode(tm.xs, `${vifFront(s)}/event-channel-tx`), undefined);
  const atHost = collect(link);
  const atGuest = collect(nic);
  const f = frame(9000, HOST_MAC, GUEST_MAC, 5);
  t.true(nic.send(f));
  t.true(link.send(f));
  await until(() => atHost.length === 1 && atGuest.length === 1, 'a frame each way');
  t.deepEqual(atHost[0], f);
  t.deepEqual(atGuest[0], f);
});

test('rx buffers whose grants do not copy drop the frame with an error status; the vif stays up', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  t.teardown(() => tm.dispose());
  const s: VifNodes = { frontDomid: domid, backDomid: 0, devid: 0, mac: GUEST_MAC };
  const { nic, link } = await attachVif(tm, kernel, s);
  const atGuest = collect(nic);
  // The guest's next posted buffer: its grant ended under the backend (a guest gone bad).
  const rxRef = Number(await readNode(tm.xs, `${vifFront(s)}/rx-ring-ref`));
  const sring = new SharedRing([kernel.page(kernel.gnttab.entry(rxRef).frame)], SRING_PROTOCOLS.netif_rx.slotBytes);
  // netback has answered every request it took: the next one it takes is at rsp_prod.
  const next = sring.slot(sring.rspProd);
  writeRxRequest(next.view, next.offset, readRxRequest(next.view, next.offset).id, 0xfffffff0);
  t.true(link.send(frame(100, GUEST_MAC, HOST_MAC, 1)), 'netback took it');
  await until(() => nic.stats().rxErrors === 1, 'the guest dropped the bad frame');
  t.is(tm.m.dom0.netback.vifs()[0]!.stats.rxDropped, 1);
  const f = frame(100, GUEST_MAC, HOST_MAC, 2);
  t.true(link.send(f));
  await until(() => atGuest.length === 1, 'the next frame arrives');
  t.deepEqual(atGuest[0], f);
  t.is(await readState(tm.xs, vifBack(s)), XenbusState.Connected);
});

test('a frontend publishing garbage keys gets an error node and Closing, never a crash, vif after vif', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  // A paused guest boots no kernel: the test plays its netfront.
  const { domid } = await tm.m.toolstack.create(yamlConfig('name: fake\nmemory: 64\n'), { paused: true });
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ 'tx-ring-ref': 'abc', 'rx-ring-ref': '9', 'event-channel': '3', 'request-rx-copy': '1', 'feature-rx-notify': '1' }, /^22 reading tx-ring-ref: "abc" is not a grant reference$/],
    [{ 'tx-ring-ref': '4000000', 'rx-ring-ref': '9', 'event-channel': '3', 'request-rx-copy': '1', 'feature-rx-notify': '1' }, /^22 mapping in shared page 4000000/],
    [{ 'tx-ring-ref': '8', 'rx-ring-ref': '9', 'event-channel': '3', 'request-rx-copy': '0', 'feature-rx-notify': '1' }, /^22 request-rx-copy/],
    [{ 'tx-ring-ref': '8', 'rx-ring-ref': '9', 'request-rx-copy': '1', 'feature-rx-notify': '1' }, /^22 reading event-channel/],
    [{ 'tx-ring-ref': '8', 'rx-ring-ref': '9', 'event-channel': '3', 'request-rx-copy': '1', 'feature-rx-notify': '1', 'multi-queue-num-queues': '4' }, /^22 guest requested 4 queues/],
  ];
  for (const [i, [keys, why]] of cases.entries()) {
    const s: VifNodes = { frontDomid: domid, backDomid: 0, devid: i, mac: `00:16:3e:00:01:0${i}` };
    await addVif(tm.xs, s);
    await vifHotplug(tm.xs, s);
    for (const [k, v] of Object.entries(keys)) await tm.xs.write(`${vifFront(s)}/${k}`, v);
    await tm.xs.write(`${vifFront(s)}/state`, String(XenbusState.Connected));
    await until(async () => (await readState(tm.xs, vifBack(s))) === XenbusState.Closing, `vif ${i} refused`);
    t.regex((await readNode(tm.xs, `/local/domain/0/error/backend/vif/${domid}/${i}/error`)) ?? '', why);
  }
  t.is(tm.m.vifs.list().length, 0);
  t.is(tm.m.dom0.state, 'running');
});

test('at an unplug, netfront writes Closed before it frees the event channels it published', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  t.teardown(() => tm.dispose());
  const s: VifNodes = { frontDomid: domid, backDomid: 0, devid: 0, mac: GUEST_MAC };
  await attachVif(tm, kernel, s);
  const stateAtUnbind = stateAtEachUnbind(tm, kernel, `${vifFront(s)}/state`);
  await removeVif(tm.xs, s);
  t.true(stateAtUnbind.length >= 1, 'the channels are freed at the unplug');
  t.deepEqual(new Set(stateAtUnbind), new Set([String(XenbusState.Closed)]));
});
