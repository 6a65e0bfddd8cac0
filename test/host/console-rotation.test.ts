import test from 'ava';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConsoleRpcClient } from '../../src/client/console.js';
import { RpcClient } from '../../src/client/rpc-client.js';
import { writeHostConfig } from '../../src/state/host-config.js';
import { statePaths } from '../../src/state/state-dir.js';
import { parseDomainConfigText } from '../../src/toolstack/config/index.js';
import { startHost, tempHome } from '../helpers/daemon.js';

// host.yaml's console_log_* reach the daemon's console backend: a guest printing more
// than the limit leaves guest-NAME.log and at most `backups` rotated ones, none over it.

test('the daemon rotates a guest console log at host.yaml\'s console_log_max_kib, keeping console_log_backups', async (t) => {
  const home = tempHome();
  writeHostConfig(statePaths(home).hostConfig, { pcpus: 2, memory: 4096, dom0_memory: 512, console_log_max_kib: 4, console_log_backups: 2 });
  const host = await startHost(home);
  t.teardown(() => host.dispose());
  const rpc = await RpcClient.connect(host.paths.control);
  t.teardown(() => rpc.close());
  const config = parseDomainConfigText('name: chatty\ntype: pv\nmemory: 64\n', 'yaml', 'chatty.yaml').config;
  const { domid } = await rpc.call<{ domid: number }>('domain.create', { config, paused: false });
  const cons = new ConsoleRpcClient(rpc);
  let out = '';
  let waiting: { prompts: number; resolve: () => void } | null = null;
  const prompts = (): number => out.split('root@chatty:~# ').length - 1;
  cons.onOutput(domid, (b) => {
    out += b.toString('utf8');
    if (waiting !== null && prompts() >= waiting.prompts) waiting.resolve();
  });
  await cons.attach(domid);
  // The guest's answer comes when it comes: each wait ends on the output that holds the next prompt.
  const nextPrompt = (): Promise<void> => new Promise((resolve) => (waiting = { prompts: prompts() + 1, resolve }));
  // Each dmesg prints the boot log again (~1 KiB); twenty of them are well over 4 KiB x 3 files.
  for (let i = 0; i < 20; i++) {
    const answered = nextPrompt();
    await cons.input(domid, Buffer.from('dmesg\r'));
    await answered;
  }
  t.true(out.length > 16 * 1024, `${out.length} bytes of output`);
  const dir = join(home, 'console');
  t.deepEqual(readdirSync(dir).sort(), ['guest-chatty.log', 'guest-chatty.log.1', 'guest-chatty.log.2']);
  for (const f of readdirSync(dir)) t.true(statSync(join(dir, f)).size <= 4096, f);
  t.is(statSync(join(dir, 'guest-chatty.log.1')).size, 4096);
});
