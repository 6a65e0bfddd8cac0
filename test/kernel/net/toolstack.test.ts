/**
 * vifs through the toolstack: libxl's XenStore entries at create and network-attach,
 * the MAC rules, network-list's rows, network-detach by devid or MAC, and the daemon's
 * vif registry the network fabric plugs into.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vifFromArgs } from '../../../src/compat/xl-network.js';
import { machineSources } from '../../../src/host/stats-service.js';
import { resolveConfigPaths } from '../../../src/toolstack/config/validate.js';
import type { VifEvent } from '../../../src/net/vif-registry.js';
import { parseVifSpec } from '../../../src/toolstack/config/vif-spec.js';
import { VifSpecField } from '../../../src/toolstack/config/index.js';
import { bootMachine, until, yamlConfig } from '../../helpers/machine.js';
import { machineWithGuest, readNode } from '../blk/helpers.js';
import { collect, frame } from './helpers.js';

const spec = (s: string) => VifSpecField.parse(s);

test('a vif from the config: libxl keys in order, a connected NIC, a registry entry with the default capture path', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest('web', 'vif:\n  - "mac=00:16:3e:0a:0b:0c,bridge=xenbr0,ip=10.1.0.5"\n');
  t.teardown(() => tm.dispose());
  const be = `/local/domain/0/backend/vif/${domid}/0`;
  const fe = `/local/domain/${domid}/device/vif/0`;
  t.deepEqual((await tm.xs.directory(be)).sort(), ['frontend', 'frontend-id', 'online', 'state', 'script', 'mac', 'ip', 'bridge', 'handle', 'type', 'hotplug-status', 'feature-sg', 'feature-gso-tcpv4', 'feature-gso-tcpv6', 'feature-ipv6-csum-offload', 'feature-rx-copy', 'feature-rx-flip', 'feature-split-event-channels', 'multi-queue-max-queues'].sort());
  t.is(await readNode(tm.xs, `${be}/script`), '/etc/xen/scripts/vif-bridge');
  t.is(await readNode(tm.xs, `${be}/type`), 'vif');
  t.is(await readNode(tm.xs, `${be}/hotplug-status`), 'connected');
  t.is(await readNode(tm.xs, `${fe}/mtu`), '1500');
  t.deepEqual(await tm.xs.getPerms(`${fe}/mtu`), ['n0', `r${domid}`], 'mtu is read-only to the guest');
  await until(() => tm.m.vifs.get(domid, 0) !== undefined, 'the vif in the registry');
  const v = tm.m.vifs.get(domid, 0)!;
  t.like(v, { domid, devid: 0, backendDomid: 0, domain: 'web', name: `vif${domid}.0`, mac: '00:16:3e:0a:0b:0c', bridge: 'xenbr0', ip: '10.1.0.5' });
  t.true(v.capture.endsWith(join('captures', 'web-0.pcap')));
  await until(() => kernel.netfront.nic(0) !== undefined, 'the NIC up in the guest');
  const got = collect(v.link);
  const f = frame(1514, 'ff:ff:ff:ff:ff:ff', '00:16:3e:0a:0b:0c', 7);
  t.true(kernel.netfront.nic(0)!.send(f));
  await until(() => got.length === 1, 'the frame at the registry link');
  t.deepEqual(got[0], f);
  t.is(v.stats().txPackets, 1);
  const rows = await tm.m.toolstack.networkList(domid);
  t.is(rows.length, 1);
  t.like(rows[0], { devid: 0, backendId: 0, mac: '00:16:3e:0a:0b:0c', state: 4, evtch: -1, backendPath: be });
  t.true(rows[0]!.rrefTx >= 0 && rows[0]!.rrefRx >= 0);
});

test('network-attach: next devid, a MAC stable for the guest, capture=; a MAC in use is refused; detach by MAC leaves the registry', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest('db', 'vif:\n  - "bridge=xenbr0"\n');
  t.teardown(() => tm.dispose());
  const events: VifEvent[] = [];
  tm.m.vifs.subscribe((e) => events.push(e));
  const dir = mkdtempSync(join(tmpdir(), 'xe-vif-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const capture = join(dir, 'x.pcap');
  const r = await tm.m.toolstack.networkAttach(domid, spec(`bridge=xenbr0,capture=${capture}`));
  t.is(r.devid, 1);
  t.regex(r.mac, /^00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$/);
  await until(() => tm.m.vifs.get(domid, 1) !== undefined && kernel.netfront.nic(1) !== undefined, 'vif 1 connected');
  t.is(tm.m.vifs.get(domid, 1)!.capture, capture);
  const taken = tm.m.vifs.get(domid, 0)!.mac;
  const err = await t.throwsAsync(tm.m.toolstack.networkAttach(domid, spec(`mac=${taken}`)));
  t.regex(err!.message, /already in use by domain/);
  t.is((await tm.m.toolstack.networkList(domid)).length, 2, 'the refused vif left nothing behind');
  await tm.m.toolstack.networkDetach(domid, r.mac.toUpperCase());
  await until(() => tm.m.vifs.get(domid, 1) === undefined, 'vif 1 gone from the registry');
  t.deepEqual(events.map((e) => `${e.type} ${e.vif.devid}`), ['connect 0', 'connect 1', 'disconnect 1']);
  t.deepEqual((await tm.m.toolstack.networkList(domid)).map((n) => n.devid), [0]);
  await t.throwsAsync(tm.m.toolstack.networkDetach(domid, '7'), { message: 'Unknown device 7.' });
  // Re-attached, it gets the same MAC: derived from the guest's uuid and the devid.
  const again = await tm.m.toolstack.networkAttach(domid, spec('bridge=xenbr0'));
  t.deepEqual(again, r);
});

test('network-attach with a capture that cannot be written is refused, naming the file and why, and leaves nothing behind', async (t) => {
  const { tm, domid } = await machineWithGuest('cap', '');
  t.teardown(() => tm.dispose());
  const dir = mkdtempSync(join(tmpdir(), 'xe-cap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const notes = join(dir, 'notes.txt');
  writeFileSync(notes, 'my notes, not a capture\n');
  const err = await t.throwsAsync(tm.m.toolstack.networkAttach(domid, spec(`bridge=xenbr0,capture=${notes}`)));
  t.is(err!.message, `vif 0: capture ${notes}: cannot open it: it exists and is not a little-endian Ethernet pcap file (move it away to capture there)`);
  t.is(readFileSync(notes, 'utf8'), 'my notes, not a capture\n', 'the file is untouched');
  t.deepEqual(await tm.m.toolstack.networkList(domid), []);
  t.deepEqual(tm.m.vifs.list(), []);
  // A capture that can be written is created, with its header, as the vif is added.
  const good = join(dir, 'c.pcap');
  await tm.m.toolstack.networkAttach(domid, spec(`bridge=xenbr0,capture=${good}`));
  t.is(statSync(good).size, 24);
});

test('a malformed vifspec is refused before anything is written', (t) => {
  t.throws(() => parseVifSpec('mtu=big'), { message: /mtu must be a decimal number/ });
  t.throws(() => parseVifSpec('rate=10MB'), { message: /invalid rate/ });
});

test("top's NET columns: dom0's netback counters of the domain's vifs, from the guest's side", async (t) => {
  const { tm, domid, kernel } = await machineWithGuest('net', 'vif:\n  - "bridge=xenbr0"\n  - "bridge=xenbr0"\n');
  t.teardown(() => tm.dispose());
  await until(() => kernel.netfront.nics().length === 2 && tm.m.vifs.list().length === 2, 'both vifs up');
  const sources = machineSources(tm.m);
  t.deepEqual(sources.devices(domid).nets.map((n) => n.tbytes), [0, 0]);
  const host = tm.m.vifs.get(domid, 1)!;
  const got = collect(host.link);
  const nic = kernel.netfront.nic(1)!;
  const guestGot = collect(nic);
  t.true(nic.send(frame(1000, 'ff:ff:ff:ff:ff:ff', nic.mac, 1)));
  t.true(host.link.send(frame(600, nic.mac, '00:16:3e:77:77:77', 2)));
  await until(() => got.length === 1 && guestGot.length === 1, 'a frame each way');
  const nets = sources.devices(domid).nets;
  t.is(nets.length, 2);
  t.like(nets[1], { tbytes: 1000, tpackets: 1, tdrop: 0, rbytes: 600, rpackets: 1, rdrop: 0 });
  t.like(nets[0], { tbytes: 0, rbytes: 0 });
});

test('backend=: a driver domain serves the vif with its own netback; the registry names it', async (t) => {
  const { tm, domid, kernel } = await machineWithGuest();
  t.teardown(() => tm.dispose());
  const dd = await tm.m.toolstack.create(yamlConfig('name: dd\nmemory: 64\ndriver_domain: true\n'));
  await until(() => tm.m.toolstack.kernel(dd.domid)?.state === 'running', 'driver domain running');
  const r = await tm.m.toolstack.networkAttach(domid, spec('backend=dd,bridge=xenbr0'));
  await until(() => tm.m.vifs.get(domid, r.devid) !== undefined && kernel.netfront.nic(r.devid) !== undefined, 'the vif connected');
  const v = tm.m.vifs.get(domid, r.devid)!;
  t.is(v.backendDomid, dd.domid);
  t.is(tm.m.toolstack.kernel(dd.domid)!.netback.vifs().length, 1);
  t.is(tm.m.dom0.netback.vifs().length, 0, 'dom0 serves nothing');
  const got = collect(v.link);
  const f = frame(3000, 'ff:ff:ff:ff:ff:ff', r.mac, 9);
  t.true(kernel.netfront.nic(r.devid)!.send(f));
  await until(() => got.length === 1, 'the frame at the driver domain');
  t.deepEqual(got[0], f);
});

test('after a restart of the machine, a rebuilt guest has its vifs (config and hot-attached) with the same MACs, connected again', async (t) => {
  // dom0 has the bridge br1 as well (host.yaml's bridges), the same after the restart.
  const bridges = ['xenbr0', 'br1'];
  const first = await bootMachine({ bridges });
  let domid: number;
  let macs: string[];
  try {
    const r = await first.m.toolstack.create(yamlConfig('name: g\nmemory: 64\nvif:\n  - "bridge=xenbr0"\n'));
    domid = r.domid;
    await first.m.toolstack.networkAttach(domid, spec('bridge=br1'));
    await until(() => first.m.vifs.list().length === 2, 'both vifs connected');
    macs = first.m.vifs.list().map((v) => v.mac);
  } finally {
    await first.dispose();
  }
  const again = await bootMachine({ state: first.state, machine: first.m, bridges });
  t.teardown(() => again.dispose());
  await until(() => again.m.vifs.list().length === 2, 'both vifs connected again');
  t.deepEqual(again.m.vifs.list().map((v) => v.mac), macs);
  t.deepEqual(again.m.vifs.list().map((v) => v.bridge), ['xenbr0', 'br1']);
});

test('destroying a guest takes its vifs down: out of the registry, netback serves nothing', async (t) => {
  const { tm, domid } = await machineWithGuest('gone', 'vif:\n  - "bridge=xenbr0"\n');
  t.teardown(() => tm.dispose());
  await until(() => tm.m.vifs.get(domid, 0) !== undefined, 'the vif connected');
  const events: string[] = [];
  tm.m.vifs.subscribe((e) => events.push(`${e.type} ${e.vif.domid}.${e.vif.devid}`));
  await tm.m.toolstack.destroy(domid);
  await until(() => tm.m.vifs.list().length === 0 && tm.m.dom0.netback.vifs().length === 0, 'the vif gone');
  t.deepEqual(events, [`connect ${domid}.0`, `disconnect ${domid}.0`]);
  t.is(tm.m.dom0.state, 'running');
});

test('a relative capture= is the caller\'s: against the config\'s directory, or the command\'s working directory', (t) => {
  const config = resolveConfigPaths(yamlConfig('name: c\nvif:\n  - "capture=caps/c.pcap"\n  - "capture=/abs/c1.pcap"\n  - "bridge=xenbr0"\n'), '/srv/vm');
  t.deepEqual(config.vif.map((v) => v.capture), ['/srv/vm/caps/c.pcap', '/abs/c1.pcap', undefined]);
  t.is(vifFromArgs(['bridge=br1', 'capture=x.pcap'], '/home/me').capture, '/home/me/x.pcap');
});
