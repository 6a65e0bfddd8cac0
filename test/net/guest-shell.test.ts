import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../../src/hypervisor/clock.js';
import { Shell } from '../../src/kernel/console/shell.js';
import { GuestNet, parsePingArgs, type GuestNic } from '../../src/kernel/net/stack/guest-net.js';
import { vifCapturePath } from '../../src/net/capture-path.js';
import { NetFabric } from '../../src/net/fabric.js';
import { VifRegistry } from '../../src/net/vif-registry.js';
import { fakeVif } from '../helpers/fake-links.js';

/** Let promise continuations run (an async shell command's end): the virtual clock only runs timers. */
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Two guests, each with a shell and its network on a fake NIC, on one bridge, all on a virtual clock. */
function lab(t: { teardown(fn: () => void): void }) {
  const home = mkdtempSync(join(tmpdir(), 'xe-gsh-'));
  const clock = new VirtualClock();
  const registry = new VifRegistry();
  const fabric = new NetFabric(registry, { home, clock, log: () => {}, captureDefer: (fn) => clock.defer(fn) });
  t.teardown(() => {
    fabric.close();
    rmSync(home, { recursive: true, force: true });
  });
  const guest = (domid: number, ip: string | null) => {
    const mac = `00:16:3e:00:00:0${domid}`;
    const v = fakeVif({ domid, mac, ip, capture: vifCapturePath(home, `g${domid}`, '0') });
    const nic: GuestNic = Object.assign(v.guest, { devid: 0, name: 'eth0', mac, ip });
    let text = '';
    const sh = new Shell(
      (s) => (text += s),
      () => '# ',
    );
    let announce: (e: { type: 'up' | 'down'; nic: GuestNic }) => void = () => {};
    new GuestNet({ subscribe: (l) => ((announce = l), () => {}) }, clock, sh);
    announce({ type: 'up', nic });
    registry.add(v.entry);
    sh.start();
    const out = (): string => {
      const s = text.replace(/\r\n/g, '\n');
      text = '';
      return s;
    };
    return { sh, out, type: (s: string) => sh.input(Buffer.from(s)), announce, nic };
  };
  return { clock, guest };
}

test('ping at the console prints as iputils does, and Ctrl-C stops it', async (t) => {
  const l = lab(t);
  const a = l.guest(1, '10.0.0.1');
  l.guest(2, '10.0.0.2');
  a.out();
  a.type('ping -c 2 10.0.0.2\r');
  l.clock.advance(3e9);
  await settled();
  t.is(
    a.out(),
    [
      'ping -c 2 10.0.0.2',
      'PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.',
      '64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.000 ms',
      '64 bytes from 10.0.0.2: icmp_seq=2 ttl=64 time=0.000 ms',
      '',
      '--- 10.0.0.2 ping statistics ---',
      '2 packets transmitted, 2 received, 0% packet loss, time 1000ms',
      'rtt min/avg/max/mdev = 0.000/0.000/0.000/0.000 ms',
      '# ',
    ].join('\n'),
  );
  a.type('ping 10.0.0.3\r');
  l.clock.advance(10e9);
  a.type('\x03');
  await settled();
  const lines = a.out().split('\n');
  t.is(lines.filter((x) => x.endsWith('Destination Host Unreachable')).length, 9, 'ARP gives up after 3 s for each request held, then again');
  // iputils catches SIGINT and prints its statistics after the echoed ^C.
  t.deepEqual(lines.slice(-4), ['^C', '--- 10.0.0.3 ping statistics ---', '11 packets transmitted, 0 received, +9 errors, 100% packet loss, time 10000ms', '# ']);
  l.clock.advance(10e9);
  await settled();
  t.is(a.out(), '', 'ping stopped: no more requests, no more lines');
});

test('ifconfig shows each interface with its address and counters as net-tools does', async (t) => {
  const l = lab(t);
  const a = l.guest(1, '10.0.0.1');
  a.out();
  a.type('ifconfig\r');
  t.is(
    a.out(),
    [
      'ifconfig',
      'eth0: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500',
      '        inet 10.0.0.1  netmask 255.255.255.255',
      '        ether 00:16:3e:00:00:01  txqueuelen 1000  (Ethernet)',
      '        RX packets 0  bytes 0 (0.0 B)',
      '        RX errors 0  dropped 0  overruns 0  frame 0',
      '        TX packets 0  bytes 0 (0.0 B)',
      '        TX errors 0  dropped 0 overruns 0  carrier 0  collisions 0',
      '',
      '# ',
    ].join('\n'),
  );
  a.type('ifconfig eth7\r');
  t.is(a.out(), 'ifconfig eth7\neth7: error fetching interface information: Device not found\n# ');
  a.announce({ type: 'down', nic: a.nic });
  a.type('ping -c 1 10.0.0.2\r');
  await settled();
  t.is(a.out(), 'ping -c 1 10.0.0.2\nping: connect: Network is unreachable\n# ');
});

test('ping\'s options as iputils checks them', (t) => {
  t.deepEqual(parsePingArgs(['-c', '3', '-s1000', '10.0.0.1']), { host: '10.0.0.1', count: 3, size: 1000, intervalNs: 1e9 });
  t.is(parsePingArgs(['-c', '0', 'x']), "invalid argument: '0': out of range: 1 <= value <= 9223372036854775807");
  t.is(parsePingArgs(['-s', '70000', 'x']), "invalid argument: '70000': out of range: 0 <= value <= 65507");
  t.is(parsePingArgs(['-i', '0.1', 'x']), 'cannot flood; minimal interval allowed for user is 200ms');
  t.is(parsePingArgs([]), 'usage error: Destination address required');
  t.is(parsePingArgs(['-q', 'x']), "invalid option -- 'q'");
});
