import test from 'ava';
import { DeviceClient } from '../../src/client/devices.js';
import type { NicInfo } from '../../src/toolstack/devices/vif.js';
import { assertXlBuilt, scratchFile, xlHost, type XlHost } from './helpers.js';

// xl network-attach / network-list / network-detach (tools/xl/xl_nic.c) through both
// front doors, the shim and `xenemu`, against a running guest whose netfront connects
// to dom0's netback.

assertXlBuilt();

const header = 'Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path                       \n';

async function nicsConnected(h: XlHost, domain: string, count: number): Promise<NicInfo[]> {
  const devices = new DeviceClient((await h.client()).rpc);
  for (let i = 0; i < 2000; i++) {
    const nics = await devices.networkList(domain);
    if (nics.length === count && nics.every((n) => n.state === 4 && n.backendState === 4)) return nics;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`never happened: ${domain}'s ${count} vifs Connected`);
}

test('attach, list (xl\'s columns byte for byte, from both front doors), refuse, detach by MAC', async (t) => {
  const h = await xlHost();
  t.teardown(() => h.dispose());
  const r = await h.xl('create', '-q', scratchFile('g.yaml', 'name: g\nmemory: 64\n'));
  t.is(r.code, 0, r.stderr);
  const g = await (await h.client()).domid('g');
  t.deepEqual(await h.xl('network-list', 'g'), { stdout: header, stderr: '', code: 0 });
  t.deepEqual(await h.xl('network-attach', 'g', 'mac=00:16:3E:01:02:03', 'bridge=xenbr0'), { stdout: '', stderr: '', code: 0 });
  const [nic] = await nicsConnected(h, 'g', 1);
  const row = `0   0  00:16:3e:01:02:03     0     4     -1 ${String(nic!.rrefTx).padStart(5)}/${String(nic!.rrefRx).padEnd(11)} ${`/local/domain/0/backend/vif/${g}/0`.padEnd(30)}\n`;
  t.deepEqual(await h.xl('network-list', 'g'), { stdout: header + row, stderr: '', code: 0 });
  t.deepEqual(await h.xenemu('network-list', String(g)), { stdout: header + row, stderr: '', code: 0 });
  t.deepEqual(await h.xl('network-list', 'nosuch', 'g'), { stdout: header + row, stderr: 'nosuch is an invalid domain identifier\n', code: 0 });
  const json = JSON.parse((await h.xenemu('network-list', '--json', 'g')).stdout) as Array<{ nics: Array<{ mac: string; bridge: string; stats?: object }> }>;
  t.like(json[0]!.nics[0], { mac: '00:16:3e:01:02:03', bridge: 'xenbr0' });
  t.truthy(json[0]!.nics[0]!.stats);

  // xl's words for a malformed spec, exit 1, nothing attached.
  t.deepEqual(await h.xl('network-attach', 'g', 'mac=00:16:3e:zz:00:01'), { stdout: '', stderr: "Invalid parameter `mac'.\n", code: 1 });
  t.deepEqual(await h.xenemu('network-attach', 'g', 'type=virtio'), { stdout: '', stderr: "Invalid parameter `type'.\n", code: 1 });
  t.deepEqual(await h.xl('network-attach', 'g', 'bridge=xenbr0,colour=red'), { stdout: '', stderr: "unrecognized argument `colour=red'\n", code: 1 });
  // A MAC in use on the host.
  const dup = await h.xl('network-attach', 'g', 'mac=00:16:3e:01:02:03');
  t.is(dup.code, 1);
  t.is(dup.stderr, `xenemu: MAC address 00:16:3e:01:02:03 is already in use by domain ${g} 'g' (vif 0)\nlibxl_device_nic_add failed.\n`);
  t.is((await h.xl('network-list', 'g')).stdout, header + row);

  // A second one with the defaults: the next devid, a MAC of Xen's range.
  const second = JSON.parse((await h.xenemu('network-attach', '--json', 'g')).stdout) as { devid: number; mac: string };
  t.is(second.devid, 1);
  t.regex(second.mac, /^00:16:3e:/);
  await nicsConnected(h, 'g', 2);
  t.deepEqual(await h.xl('network-detach', 'g', '00:16:3e:01:02:03'), { stdout: '', stderr: '', code: 0 });
  t.deepEqual((await nicsConnected(h, 'g', 1)).map((n) => n.devid), [1]);
  t.deepEqual(await h.xenemu('network-detach', 'g', '1'), { stdout: '', stderr: '', code: 0 });
  t.deepEqual(await h.xl('network-list', 'g'), { stdout: header, stderr: '', code: 0 });
  t.deepEqual(await h.xl('network-detach', 'g', '5'), { stdout: '', stderr: 'Unknown device 5.\n', code: 1 });
});
