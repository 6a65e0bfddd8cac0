import test from 'ava';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RpcClient, type RpcCallError } from '../../src/client/rpc-client.js';
import { parsePcap } from '../../src/net/pcap-format.js';
import { writeHostConfig } from '../../src/state/host-config.js';
import { statePaths } from '../../src/state/state-dir.js';
import { parseDomainConfigText } from '../../src/toolstack/config/index.js';
import { startHost, tempHome } from '../helpers/daemon.js';

// host.yaml's capture_* reach the daemon's captures: a guest sending more than the
// limit leaves its vif's capture and at most `capture_backups` rotated ones, none over it.

test('the daemon rotates a vif\'s capture at host.yaml\'s capture_max_kib, keeping capture_backups', async (t) => {
  const home = tempHome();
  writeHostConfig(statePaths(home).hostConfig, { pcpus: 2, memory: 4096, dom0_memory: 512, capture_max_kib: 1024, capture_backups: 1 });
  const host = await startHost(home);
  t.teardown(() => host.dispose());
  const rpc = await RpcClient.connect(host.paths.control);
  t.teardown(() => rpc.close());
  const config = parseDomainConfigText('name: sender\nmemory: 64\nvif:\n  - "bridge=xenbr0, ip=10.9.0.1"\n', 'yaml', 'sender.yaml').config;
  await rpc.call('domain.create', { config, paused: false });
  // 3000 frames of 1514 bytes: 4.5 MiB through the capture, more than its two files hold.
  // The NIC comes up in the guest a moment after the create: until then the send is refused (ENODEV).
  const send = (): Promise<unknown> => rpc.call('net.send', { ref: 'sender', vif: '0', count: 3000, size: 1514, port: 9 });
  for (let tries = 1; ; tries++) {
    const refused = await send().then(
      () => null,
      (err: RpcCallError) => err,
    );
    if (refused === null) break;
    if (refused.code !== 'ENODEV' || tries === 200) throw refused;
    await new Promise((r) => setTimeout(r, 20));
  }
  await host.stop();
  const capture = join(home, 'captures', 'sender-0.pcap');
  t.true(existsSync(`${capture}.1`), 'rotated');
  t.false(existsSync(`${capture}.2`), 'one old file kept');
  for (const f of [capture, `${capture}.1`]) {
    t.true(statSync(f).size <= 1 << 20, `${f}: ${statSync(f).size} bytes`);
    t.true(parsePcap(readFileSync(f), f).records.length > 0, `${f} is a capture on its own`);
  }
});
