import test from 'ava';
import { ConfigError, parseDomainConfigText, type DomainConfig } from '../../src/toolstack/config/index.js';

function load(text: string, overrides: string[] = []): DomainConfig {
  return parseDomainConfigText(text, 'yaml', 'vm.yaml', { overrides }).config;
}

function error(text: string, overrides: string[] = []): string {
  try {
    parseDomainConfigText(text, 'yaml', 'vm.yaml', { overrides });
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error('no error');
}

const VALID: [string, string, Partial<DomainConfig>][] = [
  ['the smallest config', 'name: web\n', { name: 'web', type: 'pv', memory: 32, vcpus: 1 }],
  ['flow style', '{ name: web, memory: 256, vcpus: 2 }\n', { name: 'web', memory: 256, vcpus: 2 }],
  ['YAML numbers in other bases', 'name: web\nmemory: 0x200\n', { memory: 512 }],
  ['a leading document marker and comments', '---\n# c\nname: web # the name\n', { name: 'web' }],
  ['anchors and aliases', 'name: &n web\ncmdline: *n\n', { cmdline: 'web' }],
  ['booleans', 'name: web\ndriver_domain: true\n', { driver_domain: true }],
  ['a quoted name that looks like a version', 'name: "1.0-a"\n', { name: '1.0-a' }],
  ['xenemu keys', 'name: web\nxenemu:\n  hz: 1000\n  callback: pci-intx\n', { xenemu: { hz: 1000, callback: 'pci-intx', events: [], faults: [] } }],
];

for (const [what, text, expected] of VALID) {
  test(`YAML: ${what}`, (t) => {
    t.like(load(text), expected);
  });
}

const ERRORS: [string, string, string][] = [
  ['an unclosed flow list', 'name: web\nmemory: [1\n', 'vm.yaml:3:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]'],
  ['a duplicate key', 'name: web\nmemory: 1\nmemory: 2\n', 'vm.yaml:3:1: YAML syntax error: Map keys must be unique'],
  ['two documents', 'name: web\n---\nname: db\n', 'vm.yaml:2:1: the file holds more than one YAML document ("---"): a domain config is one document'],
  ['a list at the top', '- name: web\n', 'vm.yaml:1:1: the file must be a mapping of keys to values (name: web, memory: 512, ...), not a list or a single value'],
  ['nothing but comments', '# only a comment\n', 'vm.yaml:1:1: the file holds no settings: a domain config needs at least a name, e.g. name: web'],
  ['no name', 'memory: 512\n', 'vm.yaml:1:1: name: is mandatory: every domain needs a name, e.g. name: web'],
  ['a misspelt key', 'name: web\nmemroy: 512\n', 'vm.yaml:2:1: memroy: unknown key (did you mean "memory"?): not a key of a domain config (see xl.cfg(5) and configs/schema.json)'],
  ['a key in the wrong case', 'name: web\nMemory: 512\n', 'vm.yaml:2:1: Memory: unknown key (did you mean "memory"?): not a key of a domain config (see xl.cfg(5) and configs/schema.json)'],
  ['an xl.cfg key xenemu does not emulate', 'name: web\nvfb: []\n', 'vm.yaml:2:1: vfb: vfb is an xl.cfg key that xenemu does not emulate: remove it'],
  ['builder', 'name: web\nbuilder: hvm\n', 'vm.yaml:2:1: builder: builder is the deprecated xl.cfg spelling of type: write type: pv, pvh or hvm'],
  ['a quoted number', 'name: web\nmemory: "512"\n', 'vm.yaml:2:9: memory: expected a number, got the string "512" (write the number without quotes)'],
  ['a fraction', 'name: web\nmemory: 1.5\n', 'vm.yaml:2:9: memory: expected a whole number, got 1.5'],
  ['a negative size', 'name: web\nmemory: -1\n', 'vm.yaml:2:9: memory: must be at least 1'],
  ['a key without a value', 'name: web\nmemory:\n', 'vm.yaml:2:8: memory: has no value: give a number or remove the key'],
  ['an upper-case type', 'name: web\ntype: PV\n', 'vm.yaml:2:7: type: "PV" is not valid: must be one of pv, pvh, hvm (did you mean "pv"?)'],
  ['yes for a boolean', 'name: web\ndriver_domain: "yes"\n', 'vm.yaml:2:16: driver_domain: expected true or false, got the string "yes"'],
  ['a string for the disk list', 'name: web\ndisk: xvda\n', 'vm.yaml:2:7: disk: expected a list, got the string "xvda"'],
  ['a disk without a target', 'name: web\ndisk:\n  - vdev: xvda\n', 'vm.yaml:3:5: disk[0].target: no target: give the image path (only a cdrom may be empty)'],
  [
    'a misspelt disk key',
    'name: web\ndisk:\n  - vdev: xvda\n    target: a.img\n    acces: ro\n',
    'vm.yaml:5:5: disk[0].acces: unknown key (did you mean "access"?): the keys here are target, format, vdev, devid, access, devtype, backend, backendtype, script, direct-io-safe, discard, trusted, specification',
  ],
  ['a number for a disk', 'name: web\ndisk:\n  - 42\n', 'vm.yaml:3:5: disk[0]: a disk is a DISKSPEC string or a mapping with target, vdev, ...'],
  ['a quoted disk spec error, at its column', 'name: web\ndisk:\n  - "a.img,raw,xvda,rw,more"\n', 'vm.yaml:3:24: disk[0]: too many positional parameters near "more": the order is target, format, vdev, access'],
  ['a plain disk spec error, at its column', 'name: web\ndisk:\n  - a.img,raw,xvda,rw,more\n', 'vm.yaml:3:23: disk[0]: too many positional parameters near "more": the order is target, format, vdev, access'],
  ['a bad mac', 'name: web\nvif:\n  - mac: 00:16:3e:zz:00:00\n', 'vm.yaml:3:10: vif[0].mac: mac must be six hex bytes, e.g. 00:16:3e:74:3d:76'],
  ['a comma in a bridge name', 'name: web\nvif:\n  - bridge: "br,0"\n', 'vm.yaml:3:13: vif[0].bridge: bridge cannot contain a comma or a newline (xl cuts specs at commas)'],
  ['hz of 0', 'name: web\nxenemu:\n  hz: 0\n', 'vm.yaml:3:7: xenemu.hz: must be at least 1'],
  ['an unknown xenemu key', 'name: web\nxenemu:\n  hertz: 100\n', 'vm.yaml:3:3: xenemu.hertz: unknown key: the keys here are hz, callback, events, faults'],
  ['an event without a handler', 'name: web\nxenemu:\n  events:\n    - name: a\n      rate: 10\n', 'vm.yaml:4:7: xenemu.events[0].handler: is mandatory: one of filter, ithread, both'],
  ['a number for xenemu', 'name: web\nxenemu: 5\n', 'vm.yaml:2:9: xenemu: expected a mapping, got 5'],
  ['a number as a key', '1: web\n', 'vm.yaml:1:1: keys must be plain strings; 1 is not one'],
  ['a list as a key', 'name: web\n? [a, b]\n: c\n', 'vm.yaml:2:3: keys must be plain strings; a collection is not one'],
  ['a number as a name', 'name: 123\n', 'vm.yaml:1:7: name: expected a string, got 123'],
  ['a short uuid', 'name: web\nuuid: 5b0b7f04-2d6c-4d3e-9c1a-0c2f5e8a9d1\n', 'vm.yaml:2:7: uuid: a uuid is 8-4-4-4-12 hex digits, e.g. 5b0b7f04-2d6c-4d3e-9c1a-0c2f5e8a9d11'],
  ['an empty per-vCPU list', 'name: web\ncpus: [ ]\n', 'vm.yaml:2:7: cpus: the per-vCPU list is empty'],
  ['an unknown alias', 'name: web\nkernel: *b\n', 'vm.yaml:2:9: kernel: unknown alias *b: define the anchor &b before using it'],
  [
    'a kernel path too long for XenStore',
    `name: web\nkernel: /${'k'.repeat(2999)}\n`,
    'vm.yaml:2:9: kernel: kernel is 3000 bytes; XenStore holds values of at most 2048 bytes (its default quota-maxsize)',
  ],
  ['a ramdisk path too long for XenStore', `name: web\nramdisk: ${'r'.repeat(2049)}\n`, 'vm.yaml:2:10: ramdisk: ramdisk is 2049 bytes; XenStore holds values of at most 2048 bytes (its default quota-maxsize)'],
  [
    'a PV command line longer than start_info holds',
    `name: web\ntype: pv\ncmdline: ${'c'.repeat(1024)}\n`,
    "vm.yaml:3:10: cmdline: the kernel command line is 1024 bytes; a PV guest's start_info holds at most 1023 (cmd_line[1024] with its NUL)",
  ],
  [
    'a PV command line from root and extra longer than start_info holds',
    `name: web\nroot: /dev/xvda1\nextra: ${'e'.repeat(1010)}\n`,
    "vm.yaml:3:8: extra: the kernel command line is 1026 bytes; a PV guest's start_info holds at most 1023 (cmd_line[1024] with its NUL)",
  ],
  [
    'values over 4096 bytes anywhere, each at its place',
    `name: web\ndisk:\n  - target: /${'d'.repeat(5000)}\n    vdev: xvda\nkernel: /${'k'.repeat(4999)}\n`,
    [
      'vm.yaml:3:13: disk[0].target: the value is 5001 bytes; a config value may be at most 4096 bytes',
      'vm.yaml:5:9: kernel: the value is 5000 bytes; a config value may be at most 4096 bytes',
    ].join('\n'),
  ],
  [
    'a PVH command line too long for XenStore',
    `name: web\ntype: pvh\ncmdline: ${'c'.repeat(3000)}\n`,
    'vm.yaml:3:10: cmdline: cmdline is 3000 bytes; XenStore holds values of at most 2048 bytes (its default quota-maxsize)',
  ],
];

for (const [what, text, message] of ERRORS) {
  test(`YAML error: ${what}`, (t) => {
    t.is(error(text), message);
  });
}

test('YAML: every error of the file is reported', (t) => {
  t.is(
    error('name: web\nmemroy: 1\ntype: pvx\ndisk:\n  - vdev: xvda\n    traget: x\n'),
    [
      'vm.yaml:2:1: memroy: unknown key (did you mean "memory"?): not a key of a domain config (see xl.cfg(5) and configs/schema.json)',
      'vm.yaml:3:7: type: "pvx" is not valid: must be one of pv, pvh, hvm (did you mean "pv"?)',
      'vm.yaml:5:5: disk[0].target: no target: give the image path (only a cdrom may be empty)',
      'vm.yaml:6:5: disk[0].traget: unknown key (did you mean "target"?): the keys here are target, format, vdev, devid, access, devtype, backend, backendtype, script, direct-io-safe, discard, trusted, specification',
    ].join('\n'),
  );
});

test('YAML: disks and vifs as spec strings or mappings give the same DomainConfig', (t) => {
  const a = load('name: web\ndisk: ["format=raw, vdev=xvda, access=ro, target=a.img"]\nvif: ["mac=00:16:3e:00:00:01,bridge=br1,rate=1MB/s"]\n');
  const b = load('name: web\ndisk:\n  - { target: a.img, vdev: xvda, access: r }\nvif:\n  - { mac: "00:16:3E:00:00:01", bridge: br1, rate: 1MB/s }\n');
  t.deepEqual(a, b);
});

test('YAML: xl-style overrides apply to YAML configs too', (t) => {
  const c = load('name: web\nmemory: 512\nextra: console=hvc0\nvif:\n  - bridge: br0\n', ['memory=1024', 'extra+=" quiet"', 'vif+=["bridge=br1"]', 'xenemu.hz=250']);
  t.is(c.memory, 1024);
  t.is(c.extra, 'console=hvc0 quiet');
  t.deepEqual(
    c.vif.map((v) => v.bridge),
    ['br0', 'br1'],
  );
  t.is(c.xenemu.hz, 250);
});

test('YAML: an override error points at the override, a file error at the file', (t) => {
  t.is(
    error('name: web\nvif:\n  - bridge: br0\n', ['vif+=["mtu=big"]']),
    '<command line>:1:12: vif[1]: mtu=big: mtu must be a decimal number',
  );
  t.is(
    error('name: web\nvif:\n  - mac: zz\n', ['vif+=["bridge=br1"]']),
    'vm.yaml:3:10: vif[0].mac: mac must be six hex bytes, e.g. 00:16:3e:74:3d:76',
  );
  t.is(
    error('name: web\nextra: [a]\n', ['extra+="b"']),
    '<command line>:1:8: extra: can\'t add a "string" to the config\'s list: += appends a string to a string or a list to a list',
  );
});

test('YAML: an override of an xl key xenemu does not emulate is a warning, as in an xl.cfg', (t) => {
  const r = parseDomainConfigText('name: web\n', 'yaml', 'vm.yaml', { overrides: ['vnc=1'] });
  t.deepEqual(r.warnings.map((w) => `${w.file}:${w.line}:${w.column}: ${w.key}: ${w.message}`), ['<command line>:1:1: vnc: vnc is not emulated by xenemu and was ignored']);
});
