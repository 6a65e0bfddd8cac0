import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogLimits } from '../../src/common/log-files.js';
import { VirtualClock } from '../../src/hypervisor/clock.js';
import { NetStack } from '../../src/kernel/net/stack/net-stack.js';
import { parseIpv4 } from '../../src/kernel/net/stack/packet.js';
import { runPing } from '../../src/kernel/net/stack/ping.js';
import { bridgeCapturePath, specCapturePath, vifCapturePath } from '../../src/net/capture-path.js';
import { NetFabric, unknownBridgeMessage } from '../../src/net/fabric.js';
import { parseMac } from '../../src/net/mac.js';
import { parsePcap } from '../../src/net/pcap-format.js';
import { PcapWriter } from '../../src/net/pcap-writer.js';
import { VifRegistry } from '../../src/net/vif-registry.js';
import { fakeVif } from '../helpers/fake-links.js';
import { needing } from '../helpers/needing.js';
import { tsharkFields, tsharkMissing } from '../helpers/tshark.js';

/** A host: the fabric on a virtual clock, and guests whose NICs are fake links with the guest stack on them. */
function host(t: { teardown(fn: () => void): void }, options: { captureLimits?: LogLimits } = {}) {
  const home = mkdtempSync(join(tmpdir(), 'xe-fab-'));
  const clock = new VirtualClock();
  const registry = new VifRegistry();
  const log: string[] = [];
  let us = 1_760_000_000_000_000;
  const fabric = new NetFabric(registry, { home, clock, log: (l) => log.push(l), captureNow: () => us++, captureDefer: (fn) => clock.defer(fn), bridges: ['xenbr0', 'xenbr1'], ...options });
  t.teardown(() => {
    fabric.close();
    rmSync(home, { recursive: true, force: true });
  });
  const guest = (domid: number, ip: string | null, bridge: string | null = 'xenbr0') => {
    const mac = `00:16:3e:00:00:${domid.toString(16).padStart(2, '0')}`;
    const v = fakeVif({ domid, mac, ip, bridge, domain: `g${domid}`, capture: vifCapturePath(home, `g${domid}`, '0') });
    const stack = new NetStack(v.guest, { name: 'xn0', mac: parseMac(mac)!, ip: ip === null ? null : parseIpv4(ip), clock });
    registry.add(v.entry);
    return { ...v, stack };
  };
  return { home, clock, registry, fabric, guest, log };
}

needing(tsharkMissing)('two guests ping each other over a bridge, ARP first, and tshark sees it in every capture', async (t) => {
  const h = host(t);
  const a = h.guest(1, '10.0.0.1');
  const b = h.guest(2, '10.0.0.2');
  const done = runPing(a.stack, parseIpv4('10.0.0.2')!, { count: 3, size: 56, intervalNs: 1e9 }, h.clock);
  h.clock.advance(5e9);
  const r = await done;
  t.like(r, { transmitted: 3, received: 3, errors: 0, exitStatus: 0, timeMs: 2000 });
  const back = runPing(b.stack, parseIpv4('10.0.0.1')!, { count: 1, size: 1000, intervalNs: 1e9 }, h.clock);
  h.clock.advance(1e9);
  t.like(await back, { transmitted: 1, received: 1 });
  h.fabric.flush();
  const fields = ['eth.src', 'eth.dst', '_ws.col.Protocol', '_ws.col.Info'];
  const seen = tsharkFields(a.entry.capture, fields).map((row) => `${row[0]} > ${row[1]} ${row[2]}: ${row[3]}`);
  t.deepEqual(seen.slice(0, 3), [
    '00:16:3e:00:00:01 > ff:ff:ff:ff:ff:ff ARP: Who has 10.0.0.2? Tell 10.0.0.1',
    '00:16:3e:00:00:02 > 00:16:3e:00:00:01 ARP: 10.0.0.2 is at 00:16:3e:00:00:02',
    '00:16:3e:00:00:01 > 00:16:3e:00:00:02 ICMP: Echo (ping) request  id=' + seen[2]!.split('id=')[1],
  ]);
  t.is(tsharkFields(a.entry.capture, ['icmp.type'], 'icmp').length, 8, '4 requests and 4 replies on guest 1\'s vif');
  t.deepEqual(tsharkFields(b.entry.capture, ['icmp.type', 'icmp.seq'], 'icmp').slice(0, 2), [['8', '1'], ['0', '1']]);
  t.deepEqual(tsharkFields(b.entry.capture, ['ip.len'], 'icmp.seq == 1 && ip.src == 10.0.0.2 && icmp.type == 8'), [['1028']], 'guest 2\'s -s 1000 ping');
  const bridged = tsharkFields(bridgeCapturePath(h.home, 'xenbr0'), ['frame.protocols'], undefined);
  t.is(bridged.length, 2 + 6 + 2, 'the bridge captured every frame that entered it once: the ARP pair, 3 pings, 1 ping');
  t.true(tsharkFields(bridgeCapturePath(h.home, 'xenbr0'), ['eth.type']).every((r) => r[0] === '0x0806' || r[0] === '0x0800'));
  const bv = h.fabric.bridgeViews().find((x) => x.name === 'xenbr0')!;
  t.deepEqual(bv.macs.map((m) => `${m.mac} ${m.port}`), ['00:16:3e:00:00:01 vif1.0', '00:16:3e:00:00:02 vif2.0']);
  t.deepEqual(h.log, []);
});

needing(tsharkMissing)('broadcast from one guest reaches every other port of its bridge and no other bridge', (t) => {
  const h = host(t);
  const gs = [h.guest(1, '10.0.0.1'), h.guest(2, '10.0.0.2'), h.guest(3, '10.0.0.3'), h.guest(4, '10.0.1.4', 'xenbr1')];
  const f = gs[1]!.stack.udpFrame(0xffffffff, 4000, 9, new TextEncoder().encode('hello all'));
  f.fill(0xff, 0, 6);
  gs[1]!.stack.sendFrame(f);
  h.fabric.flush();
  t.deepEqual(gs.map((g) => g.stack.counters.udpIn), [1, 0, 1, 0], 'guest 2 sent it; guest 4 is on xenbr1');
  t.deepEqual(gs.map((g) => tsharkFields(g.entry.capture, ['udp.dstport', 'data.data']).length), [1, 1, 1, 0]);
  t.deepEqual(tsharkFields(gs[0]!.entry.capture, ['ip.src', 'udp.dstport', 'data.data']), [['10.0.0.2', '9', Buffer.from('hello all').toString('hex')]]);
});

needing(tsharkMissing)('a frame injected from a pcap arrives at the guest byte for byte, and is captured on its vif', (t) => {
  const h = host(t);
  const g = h.guest(1, '10.0.0.1', null);
  const got: Buffer[] = [];
  const stackHandler = g.guest.onFrame!;
  g.guest.onFrame = (f) => {
    got.push(Buffer.from(f));
    stackHandler(f);
  };
  // A capture made elsewhere: an ARP request for the guest's address and an odd frame.
  const src = join(h.home, 'in.pcap');
  const w = new PcapWriter({ path: src, log: () => t.fail(), defer: () => {} });
  const arp = Buffer.from('ffffffffffff02000000000108060001080006040001020000000001c0a80001000000000000' + '0a000001', 'hex');
  const odd = Buffer.alloc(77, 0x5a);
  odd.set([0x00, 0x16, 0x3e, 0, 0, 1], 0);
  w.write(arp);
  w.write(odd);
  w.close();
  const link = h.fabric.vifLink(1, 0);
  for (const r of parsePcap(readFileSync(src), src).records) t.true(link.send(r.data));
  t.deepEqual(got, [arp, odd]);
  t.is(g.stack.counters.txPackets, 1, 'the guest answered the injected ARP request');
  h.fabric.flush();
  const frames = parsePcap(readFileSync(g.entry.capture), g.entry.capture).records.map((r) => Buffer.from(r.data));
  // The guest's answer comes back within the injection of the request, before the next frame.
  t.deepEqual([frames[0], frames[2]], [arp, odd]);
  t.deepEqual(tsharkFields(g.entry.capture, ['_ws.col.Info'])[1], ['10.0.0.1 is at 00:16:3e:00:00:01']);
});

test('a guest pinging an address nobody has gets Destination Host Unreachable after ARP gives up; one without ip= cannot ping', async (t) => {
  const h = host(t);
  const a = h.guest(1, '10.0.0.1');
  const done = runPing(a.stack, parseIpv4('10.0.0.9')!, { count: 2, size: 56, intervalNs: 1e9 }, h.clock);
  h.clock.advance(20e9);
  t.like(await done, { transmitted: 2, received: 0, errors: 2, exitStatus: 1, rtt: null });
  const noIp = h.guest(2, null);
  t.like(await runPing(noIp.stack, parseIpv4('10.0.0.1')!, { count: 1, size: 56, intervalNs: 1e9 }, h.clock), { exitStatus: 2, error: 'connect: Network is unreachable' });
});

test('a vif on a bridge that does not exist is captured but bridged nowhere, with vif-bridge\'s words in the log; detach and re-attach plug in again', (t) => {
  const h = host(t);
  const g = h.guest(1, '10.0.0.1', 'xenbr7');
  t.false(h.fabric.hasBridge('xenbr7'));
  t.deepEqual(h.log, [`vif1.0: ${unknownBridgeMessage('xenbr7')}; the vif is on no bridge`]);
  t.is(unknownBridgeMessage('xenbr7'), 'Could not find bridge device xenbr7');
  const a = h.guest(2, '10.0.0.2');
  h.registry.remove(a.entry);
  t.deepEqual(h.fabric.bridgeViews()[0]!.ports, []);
  h.registry.add(a.entry);
  t.deepEqual(h.fabric.bridgeViews()[0]!.ports.map((p) => p.name), ['vif2.0']);
  t.throws(() => h.fabric.vifLink(1, 3), { code: 'ENODEV' });
  t.truthy(g);
});

test('capture paths: the default per vif and bridge, and capture= kept inside the captures folder when relative', (t) => {
  t.is(vifCapturePath('/h', 'web', '0'), '/h/captures/web-0.pcap');
  t.is(bridgeCapturePath('/h', 'xenbr0'), '/h/captures/bridge-xenbr0.pcap');
  t.is(specCapturePath('/h', 'lab/web.pcap'), '/h/captures/lab/web.pcap');
  t.is(specCapturePath('/h', '/tmp/web.pcap'), '/tmp/web.pcap');
  for (const bad of ['../x.pcap', 'a/../../x.pcap', '..', '.', 'a\0b']) t.throws(() => specCapturePath('/h', bad), { code: 'EINVAL' }, bad);
  t.throws(() => vifCapturePath('/h', '../etc', '0'), { code: 'EINVAL' });
});

test('vif and bridge captures rotate at the fabric\'s capture limits: a guest that never stops pinging holds (backups + 1) files of at most the limit', async (t) => {
  const limits = { maxBytes: 1 << 20, backups: 1 };
  const h = host(t, { captureLimits: limits });
  const a = h.guest(1, '10.0.0.1');
  h.guest(2, '10.0.0.2');
  // 60 requests and 60 replies of ~30 KB: 3.6 MiB through each capture, more than its two files hold.
  const done = runPing(a.stack, parseIpv4('10.0.0.2')!, { count: 60, size: 30_000, intervalNs: 1e9 }, h.clock);
  h.clock.advance(61e9);
  t.like(await done, { transmitted: 60, received: 60 });
  h.fabric.flush();
  for (const capture of [a.entry.capture, bridgeCapturePath(h.home, 'xenbr0')]) {
    t.true(existsSync(`${capture}.1`), `${capture} was rotated`);
    t.false(existsSync(`${capture}.2`), `${capture}: one old file kept`);
    for (const f of [capture, `${capture}.1`]) {
      t.true(statSync(f).size <= limits.maxBytes, `${f}: ${statSync(f).size} bytes`);
      t.true(parsePcap(readFileSync(f), f).records.length > 0, `${f} is a capture on its own`);
    }
  }
  t.deepEqual(h.log, [], 'nothing went wrong on the way');
});
