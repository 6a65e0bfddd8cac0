import test from 'ava';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  DomainConfigSchema,
  loadDomainConfig,
  parseDomainConfigText,
  toXlCfg,
  toYaml,
  type DomainConfig,
} from '../../src/toolstack/config/index.js';
import { domainConfigInput } from './arbitraries.js';

const EXAMPLES = ['configs/web.yaml', 'configs/db.yaml', 'configs/legacy.cfg'];

function viaYaml(c: DomainConfig): DomainConfig {
  return parseDomainConfigText(toYaml(c), 'yaml', 'rt.yaml').config;
}

function viaXl(c: DomainConfig): DomainConfig {
  return parseDomainConfigText(toXlCfg(c), 'xlcfg', 'rt.cfg').config;
}

for (const file of EXAMPLES) {
  test(`example ${file} reads without warnings and survives both conversions`, (t) => {
    const r = loadDomainConfig(file, [], { resolvePaths: false });
    t.deepEqual(r.warnings, []);
    t.deepEqual(viaYaml(r.config), r.config);
    t.deepEqual(viaXl(r.config), r.config);
    t.deepEqual(viaYaml(viaXl(r.config)), r.config);
  });
}

test('the xl.cfg example converts to the YAML a person would write', (t) => {
  const r = loadDomainConfig('configs/legacy.cfg', [], { resolvePaths: false });
  t.is(
    toYaml(r.config),
    `name: legacy
type: pv
memory: 1024
maxmem: 1536
vcpus: 2
on_crash: coredump-restart
root: /dev/xvda1 ro
extra: console=hvc0
disk:
  - target: images/legacy-disk.img
    vdev: xvda
  - target: images/legacy-data.img
    vdev: xvdb
    access: ro
vif:
  - mac: 00:16:3e:74:3d:76
`,
  );
});

test('the YAML example converts to an xl.cfg xl can read', (t) => {
  const r = loadDomainConfig('configs/web.yaml', [], { resolvePaths: false });
  t.is(
    toXlCfg(r.config),
    `name = "web"
type = "pvh"
memory = 512
vcpus = 2
on_crash = "restart"
cmdline = "root=/dev/xvda1 ro console=hvc0"
disk = [
    "vdev=xvda, access=rw, target=images/web.img",
]
vif = [
    "",
]
xenemu.hz = 250
`,
  );
});

test('loadDomainConfig resolves relative paths against the config file\'s directory', (t) => {
  const r = loadDomainConfig('configs/db.yaml');
  const dir = new URL('../../configs/', import.meta.url).pathname;
  t.deepEqual(
    r.config.disk.map((d) => d.target),
    [`${dir}images/db-system.img`, `${dir}images/db-data.img`],
  );
  const legacy = loadDomainConfig('configs/legacy.cfg');
  t.is(legacy.config.disk[0]!.target, `${dir}images/legacy-disk.img`);
  t.is(legacy.format, 'xlcfg');
  t.is(r.format, 'yaml');
});

test('loadDomainConfig refuses a file over 1 MiB before reading it, and says why at the file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xe-cfg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'huge.yaml');
  writeFileSync(file, `name: huge\ncmdline: ${'c'.repeat(1024 * 1024)}\n`);
  const err = t.throws(() => loadDomainConfig(file), { instanceOf: ConfigError });
  t.is(err.message, `${file}:1:1: the config file is ${1024 * 1024 + 21} bytes; xenemu reads configs of at most 1048576 bytes (1 MiB)`);
  t.throws(() => loadDomainConfig(dir), { instanceOf: ConfigError, message: /cannot read the config file: EISDIR/ });
});

test('every DomainConfig the schema can produce survives YAML and xl.cfg (property)', (t) => {
  fc.assert(
    fc.property(domainConfigInput, (input) => {
      const parsed = DomainConfigSchema.safeParse(input);
      if (!parsed.success) throw new Error(`generator made an invalid input: ${JSON.stringify(parsed.error.issues[0])}`);
      const c = parsed.data;
      t.deepEqual(viaYaml(c), c);
      t.deepEqual(viaXl(c), c);
      t.deepEqual(parseDomainConfigText(toXlCfg(viaYaml(c)), 'xlcfg', 'rt.cfg').config, c);
    }),
    { numRuns: 300 },
  );
  t.pass();
});

// The daemon checks the DomainConfig a create sends with the schema it came from.
test('the schema reads its own output back unchanged, as the daemon reads a create (property)', (t) => {
  fc.assert(
    fc.property(domainConfigInput, (input) => {
      const c = DomainConfigSchema.parse(input);
      const again = DomainConfigSchema.safeParse(JSON.parse(JSON.stringify(c)));
      if (!again.success) throw new Error(`its own output refused: ${JSON.stringify(again.error.issues[0])}`);
      t.deepEqual(again.data, c);
    }),
    { numRuns: 300 },
  );
  for (const file of EXAMPLES) {
    const { config } = loadDomainConfig(file);
    t.deepEqual(DomainConfigSchema.parse(JSON.parse(JSON.stringify(config))), config, file);
  }
});

test('a disk may carry its devid, which must be its vdev\'s', (t) => {
  const disk = { target: '/d.img', vdev: 'xvda' };
  t.is(DomainConfigSchema.parse({ name: 'w', disk: [{ ...disk, devid: 51712 }] }).disk[0]!.devid, 51712);
  t.false(DomainConfigSchema.safeParse({ name: 'w', disk: [{ ...disk, devid: 51713 }] }).success);
});
