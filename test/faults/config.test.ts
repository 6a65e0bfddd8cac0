import test from 'ava';
import { ConfigError, parseDomainConfigText } from '../../src/toolstack/config/index.js';
import { toXlCfg, toYaml } from '../../src/toolstack/config/convert.js';
import { parseHostConfig } from '../../src/state/host-config.js';

// Faults written in configs: a domain's own (xenemu.faults) and host.yaml's.

function parse(text: string, format: 'yaml' | 'xlcfg' = 'yaml') {
  return parseDomainConfigText(text, format, format === 'yaml' ? 'vm.yaml' : 'vm.cfg').config;
}

function error(text: string, format: 'yaml' | 'xlcfg' = 'yaml'): string {
  try {
    parse(text, format);
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error('no error');
}

test('a mapping and a spec string give the same fault, durations in milliseconds', (t) => {
  const mapping = parse('name: web\nxenemu:\n  faults:\n    - kind: xs-errno\n      errno: EACCES\n      op: READ\n      count: 3\n      duration: 30s\n');
  const spec = parse('name: web\nxenemu:\n  faults: ["kind=xs-errno,errno=EACCES,op=READ,count=3,duration=30s"]\n');
  const expected = [{ kind: 'xs-errno', errno: 'EACCES', op: 'READ', count: 3, duration: 30_000 }];
  t.deepEqual(mapping.xenemu.faults, expected);
  t.deepEqual(spec.xenemu.faults, expected);
  const xl = parse('name = "web"\nxenemu.faults = [ "kind=xs-quota,quota.nodes=20,duration=1.5" ]\n', 'xlcfg');
  t.deepEqual(xl.xenemu.faults, [{ kind: 'xs-quota', quota: { nodes: 20 }, duration: 1500 }]);
});

test('a domain config\'s faults convert to YAML and xl.cfg and read back the same', (t) => {
  const c = parse('name: web\nxenemu:\n  faults:\n    - { kind: guest-slow-boot, delay: 2s }\n    - { kind: xs-watch-delay, delay: 250ms, coalesce: true, probability: 0.5, seed: 9 }\n');
  t.deepEqual(parse(toYaml(c)).xenemu.faults, c.xenemu.faults);
  t.deepEqual(parse(toXlCfg(c), 'xlcfg').xenemu.faults, c.xenemu.faults);
});

test('bad faults in a domain config are reported at their place with the rule they break', (t) => {
  t.is(error('name: web\nxenemu:\n  faults:\n    - kind: xs-errno\n'), 'vm.yaml:4:7: xenemu.faults[0]: xs-errno needs errno');
  t.is(error('name: web\nxenemu:\n  faults:\n    - kind: host-kill\n      at: flush\n'), 'vm.yaml:4:7: xenemu.faults[0]: host-kill is about the host: it takes no target');
  t.regex(error('name: web\nxenemu:\n  faults:\n    - kind: xs-errno\n      errno: EIO\n      target: db\n'), /^vm\.yaml:6:15: xenemu\.faults\[0\]\.target: a domain config's faults act on the domain itself: remove target$/);
  t.regex(error('name: web\nxenemu:\n  faults:\n    - kind: guest-crash\n      delay: soon\n'), /^vm\.yaml:5:14: xenemu\.faults\[0\]\.delay: soon is not a duration/);
  t.regex(error('name: web\nxenemu:\n  faults:\n    - kind: guest-crash\n      count: 2\n'), /guest-crash happens once: probability and count do not apply/);
  t.regex(error('name = "web"\nxenemu.faults = [ "kind=xs-errno,errno=EIO,bogus=1" ]\n', 'xlcfg'), /unknown key "bogus"/);
});

test('host.yaml takes faults with a target, or none, and checks them', (t) => {
  const c = parseHostConfig('pcpus: 4\nfaults:\n  - { kind: xs-delay, target: socket, delay: 100ms }\n  - { kind: guest-unresponsive, target: web }\n', 'host.yaml');
  t.deepEqual(c.faults, [
    { kind: 'xs-delay', target: 'socket', delay: 100 },
    { kind: 'guest-unresponsive', target: 'web' },
  ]);
  t.throws(() => parseHostConfig('faults:\n  - { kind: guest-crash }\n', 'host.yaml'), { message: /^host\.yaml:2:5: faults\.0: guest-crash needs a domain to act on$/ });
  t.throws(() => parseHostConfig('faults:\n  - { kind: vcpu-hang, target: Domain-0 }\n', 'host.yaml'), { message: /vcpu-hang cannot act on Domain-0/ });
});
