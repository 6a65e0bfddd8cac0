/**
 * The network commands against a daemon: two guests on a bridge named in host.yaml,
 * net-ping printing iputils' text and exit statuses, bridge list, net-send, net-inject
 * (and its refusal of a broken capture), and a vif on a bridge dom0 does not have.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DomainClient } from '../../src/client/domains.js';
import { parsePcap } from '../../src/net/pcap-format.js';
import { PcapWriter } from '../../src/net/pcap-writer.js';
import { startHost, tempHome } from '../helpers/daemon.js';
import { until, yamlConfig } from '../helpers/machine.js';
import { runCommandSource, tempFile } from '../helpers/run.js';
import { needing } from '../helpers/needing.js';
import { tsharkFields, tsharkMissing } from '../helpers/tshark.js';

needing(tsharkMissing)('net-ping, bridge list, net-send and net-inject between two guests on a host.yaml bridge', async (t) => {
  const home = tempHome();
  writeFileSync(join(home, 'host.yaml'), 'bridges: [xenbr0, lab]\n');
  const host = await startHost(home);
  t.teardown(() => host.dispose());
  process.env.XENEMU_HOME = host.paths.home;
  const dc = await DomainClient.connect(host.paths);
  t.teardown(() => dc.close());
  await dc.create(yamlConfig('name: alpha\nmemory: 64\nvif:\n  - "bridge=lab,ip=10.9.0.1,mac=00:16:3e:00:09:01"\n'), { paused: false });
  await dc.create(yamlConfig('name: beta\nmemory: 64\nvif:\n  - "bridge=lab,ip=10.9.0.2,mac=00:16:3e:00:09:02"\n'), { paused: false });
  const lost = await t.throwsAsync(dc.create(yamlConfig('name: lost\nmemory: 64\nvif:\n  - "bridge=nowhere"\n'), { paused: false }));
  t.regex(lost!.message, /script: hotplug script \/etc\/xen\/scripts\/vif-bridge add failed for \/local\/domain\/0\/backend\/vif\/\d+\/0: Could not find bridge device nowhere/);

  // The NICs come up in the guests a moment after create: ping until the stack answers.
  let ping = await runCommandSource('net-ping.ts', ['alpha', '10.9.0.2', '-c', '2', '-i', '0.2']);
  for (let tries = 1; ping.code !== 0 && tries < 20; tries++) ping = await runCommandSource('net-ping.ts', ['alpha', '10.9.0.2', '-c', '2', '-i', '0.2']);
  t.is(ping.code, 0, ping.stderr);
  t.regex(
    ping.stdout,
    /^PING 10\.9\.0\.2 \(10\.9\.0\.2\) 56\(84\) bytes of data\.\n64 bytes from 10\.9\.0\.2: icmp_seq=1 ttl=64 time=[0-9.]+ ms\n64 bytes from 10\.9\.0\.2: icmp_seq=2 ttl=64 time=[0-9.]+ ms\n\n--- 10\.9\.0\.2 ping statistics ---\n2 packets transmitted, 2 received, 0% packet loss, time \d+ms\nrtt min\/avg\/max\/mdev = \d+\.\d{3}\/\d+\.\d{3}\/\d+\.\d{3}\/\d+\.\d{3} ms\n$/,
  );
  const none = await runCommandSource('net-ping.ts', ['beta', '10.9.0.77', '-c', '1']);
  t.is(none.code, 1, 'no reply: exit 1, as ping');
  t.regex(none.stdout, /From 10\.9\.0\.2 icmp_seq=1 Destination Host Unreachable\n[\s\S]*1 packets transmitted, 0 received, \+1 errors, 100% packet loss/);

  const bl = await runCommandSource('bridge/list.ts', []);
  t.is(bl.code, 0, bl.stderr);
  t.regex(bl.stdout, /^bridge name\tbridge id\t\tSTP enabled\tinterfaces\nlab\t\t8000\.feffffffffff\tno\t\tvif\d+\.0\n\t\t\t\t\t\t\tvif\d+\.0\nxenbr0\t\t8000\.000000000000\tno\t\t\n/);
  t.regex(bl.stdout, /\n {2}1\t00:16:3e:00:09:01\tno\t\t +\d+\.\d\d\n {2}2\t00:16:3e:00:09:02\tno\t\t +\d+\.\d\d/);

  const send = await runCommandSource('net-send.ts', ['alpha', '0', '--count', '500', '--size', '1000', '--dest', '10.9.0.2', '--json']);
  t.is(send.code, 0, send.stderr);
  t.like(JSON.parse(send.stdout), { name: 'alpha', frames: 500, bytes: 500_000, frameSize: 1000, dest: '10.9.0.2' });

  // A capture made elsewhere: an ARP request for beta's address, from a host that is not on the bridge.
  const pcap = tempFile('who-has.pcap', '');
  const w = new PcapWriter({ path: pcap, log: () => {}, defer: () => {} });
  const arp = Buffer.from('ffffffffffff020000000077080600010800060400010200000000770a0900770000000000000a090002', 'hex');
  w.write(arp);
  w.close();
  const inj = await runCommandSource('net-inject.ts', ['beta', '0', pcap]);
  t.is(inj.code, 0, inj.stderr);
  t.regex(inj.stdout, /^beta: injected 1 frames \(42 bytes\) from .*who-has\.pcap into vif\d+\.0\n$/);
  const betaCapture = join(home, 'captures', 'beta-0.pcap');
  await until(() => parsePcap(readFileSync(betaCapture), betaCapture).records.some((r) => Buffer.from(r.data).equals(arp)), 'the injected frame in beta\'s capture', 1000);
  await until(() => tsharkFields(betaCapture, ['_ws.col.Info'], 'arp.opcode == 2 && eth.dst == 02:00:00:00:00:77').length === 1, 'beta\'s answer captured', 50);

  writeFileSync(pcap, readFileSync(pcap).subarray(0, 30));
  const bad = await runCommandSource('net-inject.ts', ['beta', '0', pcap]);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /who-has\.pcap: not a usable pcap file: record 1: header cut short \(6 of 16 bytes\) at byte offset 24/);
  const novif = await runCommandSource('net-inject.ts', ['beta', '3', pcap]);
  t.regex(novif.stderr, /domain \d+ has no vif 3 connected \(it has 0 \(vif\d+\.0, 00:16:3e:00:09:02\)\)/);

  const all = tsharkFields(join(home, 'captures', 'bridge-lab.pcap'), ['_ws.col.Protocol']).map((r) => r[0]);
  t.deepEqual(all.slice(0, 2), ['ARP', 'ARP']);
  t.true(all.filter((p) => p === 'UDP').length >= 500);
});
