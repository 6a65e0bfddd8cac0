import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scratchDir } from '../helpers/scratch.js';
import { parseHostConfig, readHostConfig, writeHostConfig } from '../../src/state/host-config.js';
import { bootMachine, yamlConfig } from '../helpers/machine.js';

test('a vif naming a bridge dom0 does not have fails its create with vif-bridge\'s words, as libxl reports a hotplug error', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const err = await t.throwsAsync(tm.m.toolstack.create(yamlConfig('name: lost\nmemory: 64\nvif:\n  - bridge: xenbr9\n')));
  t.regex(err!.message, /Could not find bridge device xenbr9/);
  t.deepEqual(tm.m.net.bridgeViews().map((b) => b.name), ['xenbr0']);
  const ok = await tm.m.toolstack.create(yamlConfig('name: found\nmemory: 64\nvif:\n  - bridge: xenbr0\n'));
  t.true(ok.domid > 0);
});

test('host.yaml names the bridges dom0 has; a name that cannot be an interface is refused; the list survives host start\'s rewrite', (t) => {
  t.deepEqual(parseHostConfig('bridges: [xenbr0, lab]\n', 'host.yaml').bridges, ['xenbr0', 'lab']);
  t.throws(() => parseHostConfig('bridges: [xenbr0, "a/b"]\n', 'host.yaml'), { message: /^host\.yaml:1:19: bridges\.1: a bridge name: 1 to 15 letters, digits/ });
  t.throws(() => parseHostConfig('bridges: [averyveryverylongname]\n', 'host.yaml'), { code: 'EINVAL' });
  const file = join(scratchDir('xe-hc-'), 'host.yaml');
  writeFileSync(file, 'bridges: [xenbr0, lab]\n');
  writeHostConfig(file, { pcpus: 4 });
  t.deepEqual(readHostConfig(file), { bridges: ['xenbr0', 'lab'], pcpus: 4 });
});
