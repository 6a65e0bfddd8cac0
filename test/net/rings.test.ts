/**
 * The fabric on real NICs: two guests' netfront, dom0's netback, the netif rings and
 * grant copies between them, a bridge and the captures, with each guest's own stack.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kernel } from '../../src/kernel/kernel.js';
import { parseIpv4 } from '../../src/kernel/net/stack/packet.js';
import { runPing } from '../../src/kernel/net/stack/ping.js';
import { bridgeCapturePath, vifCapturePath } from '../../src/net/capture-path.js';
import { NetFabric } from '../../src/net/fabric.js';
import { VifRegistry } from '../../src/net/vif-registry.js';
import { machineWithGuest } from '../kernel/blk/helpers.js';
import { attachVif } from '../kernel/net/helpers.js';
import { until, yamlConfig } from '../helpers/machine.js';
import { needing } from '../helpers/needing.js';
import { tsharkFields, tsharkMissing } from '../helpers/tshark.js';

needing(tsharkMissing)('two guests ping each other through both rings and a bridge; tshark reads ARP then ICMP in the captures', async (t) => {
  const { tm, domid: d1, kernel: k1 } = await machineWithGuest('alpha');
  const home = mkdtempSync(join(tmpdir(), 'xe-rings-'));
  const registry = new VifRegistry();
  const fabric = new NetFabric(registry, { home, clock: tm.m.dom0.clock, log: (l) => t.log(l) });
  t.teardown(async () => {
    fabric.close();
    await tm.dispose();
    rmSync(home, { recursive: true, force: true });
  });
  // What the daemon does with netback's vifs: name them and give them their capture.
  const names = new Map<number, string>();
  tm.m.dom0.netback.onVif = (e) => {
    const name = names.get(e.vif.domid) ?? `d${e.vif.domid}`;
    const entry = { ...e.vif, domain: name, name: `vif${e.vif.domid}.${e.vif.devid}`, capture: vifCapturePath(home, name, String(e.vif.devid)) };
    if (e.type === 'connect') registry.add(entry);
    else {
      const have = registry.get(e.vif.domid, e.vif.devid);
      if (have !== undefined) registry.remove(have);
    }
  };
  const r2 = await tm.m.toolstack.create(yamlConfig('name: beta\nmemory: 64\n'));
  await until(() => tm.m.toolstack.kernel(r2.domid)?.state === 'running', 'beta running');
  const k2: Kernel = tm.m.toolstack.kernel(r2.domid)!;
  names.set(d1, 'alpha').set(r2.domid, 'beta');
  await attachVif(tm, k1, { frontDomid: d1, backDomid: 0, devid: 0, mac: '00:16:3e:00:00:0a', ip: '10.0.0.1' });
  await attachVif(tm, k2, { frontDomid: r2.domid, backDomid: 0, devid: 0, mac: '00:16:3e:00:00:0b', ip: '10.0.0.2' });
  await until(() => registry.list().length === 2 && k1.net.route() !== undefined && k2.net.route() !== undefined, 'both vifs on the bridge, both stacks up');

  // The kernels' clock timers do not hold the event loop open (the daemon's sockets do): this does, while ping waits.
  const keepAlive = setInterval(() => {}, 1000);
  t.teardown(() => clearInterval(keepAlive));
  const r = await runPing(k1.net.route()!, parseIpv4('10.0.0.2')!, { count: 3, size: 1400, intervalNs: 0.2e9 }, k1.clock);
  t.like(r, { transmitted: 3, received: 3, exitStatus: 0 });
  const back = await runPing(k2.net.route()!, parseIpv4('10.0.0.1')!, { count: 1, size: 56, intervalNs: 0.2e9 }, k2.clock);
  t.like(back, { received: 1 });
  fabric.flush();
  const alpha = vifCapturePath(home, 'alpha', '0');
  const info = tsharkFields(alpha, ['_ws.col.Protocol', '_ws.col.Info']).map((x) => `${x[0]} ${x[1]!.replace(/\s+id=.*/, '')}`);
  t.deepEqual(info.slice(0, 4), ['ARP Who has 10.0.0.2? Tell 10.0.0.1', 'ARP 10.0.0.2 is at 00:16:3e:00:00:0b', 'ICMP Echo (ping) request', 'ICMP Echo (ping) reply']);
  t.deepEqual(tsharkFields(alpha, ['ip.len'], 'icmp.type == 8 && ip.src == 10.0.0.1').map((x) => x[0]), ['1428', '1428', '1428']);
  t.is(tsharkFields(vifCapturePath(home, 'beta', '0'), ['icmp.type'], 'icmp').length, 8);
  t.is(tsharkFields(bridgeCapturePath(home, 'xenbr0'), ['frame.len']).length, 10);
});
