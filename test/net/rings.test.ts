/**
 * The fabric on real NICs: two guests' netfront, dom0's netback, the netif rings and
 * grant copies between them, the machine's own bridge and captures, each guest's own
 * stack; vifs from the configs, detached and re-attached while the guests run.
 */
import { join } from 'node:path';
import type { Kernel } from '../../src/kernel/kernel.js';
import { parseIpv4 } from '../../src/kernel/net/stack/packet.js';
import { runPing } from '../../src/kernel/net/stack/ping.js';
import { VifSpecField } from '../../src/toolstack/config/index.js';
import { bootMachine, until, yamlConfig, type TestMachine } from '../helpers/machine.js';
import { needing } from '../helpers/needing.js';
import { tsharkFields, tsharkMissing } from '../helpers/tshark.js';

async function guest(tm: TestMachine, name: string, vif: string): Promise<Kernel> {
  const r = await tm.m.toolstack.create(yamlConfig(`name: ${name}\nmemory: 64\nvif:\n  - "${vif}"\n`));
  await until(() => tm.m.toolstack.kernel(r.domid)?.state === 'running', `${name} running`);
  const k = tm.m.toolstack.kernel(r.domid)!;
  await until(() => k.net.interface(0) !== undefined, `${name}'s NIC up`);
  return k;
}

needing(tsharkMissing)('two guests ping each other through both rings and a bridge; tshark reads ARP then ICMP in every capture; detach and re-attach keep working', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  // The kernels' clock timers do not hold the event loop open (the daemon's sockets do): this does, while ping waits.
  const keepAlive = setInterval(() => {}, 1000);
  t.teardown(() => clearInterval(keepAlive));
  const k1 = await guest(tm, 'alpha', 'mac=00:16:3e:00:00:0a,ip=10.0.0.1');
  const k2 = await guest(tm, 'beta', 'mac=00:16:3e:00:00:0b,ip=10.0.0.2');
  const ping = (from: Kernel, to: string, count: number, size = 56) => runPing(from.net.route()!, parseIpv4(to)!, { count, size, intervalNs: 0.2e9 }, from.clock);

  t.like(await ping(k1, '10.0.0.2', 3, 1400), { transmitted: 3, received: 3, exitStatus: 0 });
  t.like(await ping(k2, '10.0.0.1', 1), { received: 1 });
  tm.m.net.flush();
  const alpha = tm.m.vifs.get(k1.domid, 0)!.capture;
  t.true(alpha.endsWith(join('captures', 'alpha-0.pcap')));
  const info = tsharkFields(alpha, ['_ws.col.Protocol', '_ws.col.Info']).map((x) => `${x[0]} ${x[1]!.replace(/\s+id=.*/, '')}`);
  t.deepEqual(info.slice(0, 4), ['ARP Who has 10.0.0.2? Tell 10.0.0.1', 'ARP 10.0.0.2 is at 00:16:3e:00:00:0b', 'ICMP Echo (ping) request', 'ICMP Echo (ping) reply']);
  t.deepEqual(tsharkFields(alpha, ['ip.len'], 'icmp.type == 8 && ip.src == 10.0.0.1').map((x) => x[0]), ['1428', '1428', '1428']);
  t.is(tsharkFields(tm.m.vifs.get(k2.domid, 0)!.capture, ['icmp.type'], 'icmp').length, 8);
  const bridge = tm.m.net.bridgeViews().find((b) => b.name === 'xenbr0')!;
  t.is(tsharkFields(bridge.capture!, ['frame.len']).length, 10, 'the bridge captured each frame once: 2 ARP, 8 ICMP');

  // beta's vif goes away while both run: alpha's pings go unanswered; it comes back, with the same MAC, and they are answered again.
  await tm.m.toolstack.networkDetach(k2.domid, '0');
  await until(() => tm.m.vifs.get(k2.domid, 0) === undefined && k2.net.interface(0) === undefined, 'beta\'s vif gone');
  t.deepEqual(tm.m.net.bridgeViews().find((b) => b.name === 'xenbr0')!.ports.map((p) => p.name), [`vif${k1.domid}.0`]);
  t.like(await ping(k1, '10.0.0.2', 1), { received: 0, exitStatus: 1 });
  await tm.m.toolstack.networkAttach(k2.domid, VifSpecField.parse('mac=00:16:3e:00:00:0b,ip=10.0.0.2'));
  await until(() => k2.net.interface(0) !== undefined && tm.m.vifs.get(k2.domid, 0) !== undefined, 'beta\'s vif back');
  t.like(await ping(k1, '10.0.0.2', 2), { received: 2, exitStatus: 0 });
  tm.m.net.flush();
  t.true(tsharkFields(tm.m.vifs.get(k2.domid, 0)!.capture, ['icmp.type'], 'icmp').length > 8, 'the re-attached vif appends to its capture');
});
