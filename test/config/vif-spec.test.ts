import test from 'ava';
import { parseDomainConfigText, parseVifRate, type VifSpec } from '../../src/toolstack/config/index.js';
import { generateMac, parseVifSpec, VifSpecError } from '../../src/toolstack/config/vif-spec.js';

function vifs(specs: string[], type = 'pv'): VifSpec[] {
  const list = specs.map((s) => JSON.stringify(s)).join(', ');
  return parseDomainConfigText(`name = "n"\ntype = "${type}"\nvif = [ ${list} ]\n`, 'xlcfg', 'n.cfg').config.vif;
}

const dflt = { bridge: 'xenbr0', type: 'vif', script: 'vif-bridge', backend: '0', mtu: 1500, trusted: true } as const;

test('the examples of xl-network-configuration(5)', (t) => {
  t.deepEqual(vifs(['mac=00:16:3E:74:3d:76,model=rtl8139,bridge=xenbr0', 'mac=00:16:3E:74:34:32', '']), [
    { ...dflt, mac: '00:16:3e:74:3d:76', model: 'rtl8139', devid: 0 },
    { ...dflt, mac: '00:16:3e:74:34:32', devid: 1 },
    { ...dflt, mac: generateMac('n', 2), devid: 2 },
  ]);
  t.deepEqual(vifs(['mac=00:16:3E:74:34:32', 'mac=00:16:3e:5f:48:e4,bridge=xenbr1']), [
    { ...dflt, mac: '00:16:3e:74:34:32', devid: 0 },
    { ...dflt, mac: '00:16:3e:5f:48:e4', bridge: 'xenbr1', devid: 1 },
  ]);
});

test('a mac with blanks before the next comma, or a byte of one digit, reads as xl\'s strtoul loop reads it', (t) => {
  t.deepEqual(vifs(['mac=00:16:3e:0:0:1 ,bridge=br0', 'mac=00-16-3E-0a-0b-0c']), [
    { ...dflt, mac: '00:16:3e:00:00:01', bridge: 'br0', devid: 0 },
    { ...dflt, mac: '00:16:3e:0a:0b:0c', devid: 1 },
  ]);
});

test('every vif key, and the flags', (t) => {
  const [v] = vifs([
    'mac=00:16:3e:00:00:01, bridge=br1,gatewaydev=eth0,vifname=web0,script=vif-route,ip=10.0.0.2,backend=netdom,rate=10Mb/s,devid=7,mtu=9000,untrusted',
  ]);
  t.deepEqual(v, {
    mac: '00:16:3e:00:00:01',
    bridge: 'br1',
    gatewaydev: 'eth0',
    type: 'vif',
    vifname: 'web0',
    script: 'vif-route',
    ip: '10.0.0.2',
    backend: 'netdom',
    rate: '10Mb/s',
    devid: 7,
    mtu: 9000,
    trusted: false,
  });
});

test('an HVM guest gets emulated NICs by default, rtl8139 unless a model is named', (t) => {
  const [a, b, c] = vifs(['', 'model=e1000', 'type=vif'], 'hvm');
  t.like(a, { type: 'ioemu', model: 'rtl8139' });
  t.like(b, { type: 'ioemu', model: 'e1000' });
  t.is(c!.type, 'vif');
  t.false('model' in c!);
});

test('the default MAC is in Xen\'s OUI, stable, and depends on the uuid (else the name) and devid', (t) => {
  const mac = generateMac('web', 0);
  t.regex(mac, /^00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$/);
  t.is(generateMac('web', 0), mac);
  t.not(generateMac('web', 1), mac);
  t.not(generateMac('db', 0), mac);
  const withUuid = parseDomainConfigText('name = "web"\nuuid = "5B0B7F04-2D6C-4D3E-9C1A-0C2F5E8A9D11"\nvif = [ "" ]\n', 'xlcfg', 'w.cfg').config;
  t.is(withUuid.uuid, '5b0b7f04-2d6c-4d3e-9c1a-0c2f5e8a9d11');
  t.is(withUuid.vif[0]!.mac, generateMac('5b0b7f04-2d6c-4d3e-9c1a-0c2f5e8a9d11', 0));
});

test('netdev is read as gatewaydev, with a warning; accel and COLO keys are reported', (t) => {
  const r = parseDomainConfigText('name = "n"\nvif = [ "netdev=eth1,accel=x,colo_checkpoint_host=h" ]\n', 'xlcfg', 'n.cfg');
  t.is(r.config.vif[0]!.gatewaydev, 'eth1');
  t.deepEqual(
    r.warnings.map((w) => `${w.line}:${w.column}: ${w.message}`),
    [
      '2:10: netdev is deprecated: write gatewaydev',
      '2:22: the accel parameter for vifs is not supported (xl ignores it too)',
      '2:30: "colo_checkpoint_host" (COLO) is not emulated and was ignored',
    ],
  );
});

// What parse_nic_config() refuses with a message and goes on without (compared with xl
// 4.17: test/cli-xl/real-xl.test.ts): xl's words, xenemu's, the offset, the fields kept.
const REFUSED: [string, string, string, number, object][] = [
  ['foo', "unrecognized argument `foo'", 'unrecognized argument "foo", ignored as xl ignores it: vif items are key=value (mac, bridge, gatewaydev, type, model, vifname, script, ip, backend, rate, devid, mtu, capture) or the flags trusted, untrusted', 0, {}],
  ['bridge=br0,brige=br1', "unrecognized argument `brige=br1'", 'unrecognized argument "brige=br1" (did you mean "bridge"?), ignored as xl ignores it: vif items are key=value (mac, bridge, gatewaydev, type, model, vifname, script, ip, backend, rate, devid, mtu, capture) or the flags trusted, untrusted', 11, { bridge: 'br0' }],
  ['mac=00:16:3e:74:3d', "Invalid parameter `mac'.", 'invalid mac "00:16:3e:74:3d" (six hex bytes, e.g. 00:16:3e:74:3d:76): the bytes before the bad one make the mac, 00:16:3e:74:3d:00, as in xl', 4, { mac: '00:16:3e:74:3d:00' }],
  ['mac=zz:16:3e:74:3d:76', "Invalid parameter `mac'.", 'invalid mac "zz:16:3e:74:3d:76" (six hex bytes, e.g. 00:16:3e:74:3d:76): the vif gets a generated mac, as in xl', 4, {}],
  ['mac=00:16:3e:100:0:1', "Invalid parameter `mac'.", 'invalid mac "00:16:3e:100:0:1" (six hex bytes, e.g. 00:16:3e:74:3d:76): the bytes before the bad one make the mac, 00:16:3e:00:00:00, as in xl', 4, { mac: '00:16:3e:00:00:00' }],
  ['type=virtio', "Invalid parameter `type'.", 'invalid type "virtio" (vif, PV only, or ioemu, emulated and PV): ignored as xl ignores it, the guest type\'s default applies', 5, {}],
];

for (const [spec, xl, message, offset, fields] of REFUSED) {
  test(`vif spec ${JSON.stringify(spec)}: the item is refused as xl refuses it, and the rest kept`, (t) => {
    const r = parseVifSpec(spec);
    t.deepEqual(r.refused, [{ xl, message, offset }]);
    t.deepEqual(r.fields, fields);
  });
}

test("vif spec mac=: xl's strtoul loop, any separator, 0x and blanks; all zeros is no mac", (t) => {
  t.deepEqual(parseVifSpec('mac=00.16.3E.1.2.3').fields, { mac: '00:16:3e:01:02:03' });
  t.deepEqual(parseVifSpec('mac= 0x1:2:3:4:5:06').fields, { mac: '01:02:03:04:05:06' });
  t.deepEqual(parseVifSpec('mac=0016:3e:0:0:0:1').fields, { mac: '16:3e:00:00:00:01' });
  t.deepEqual(parseVifSpec('mac=00:00:00:00:00:00'), { fields: {}, warnings: [], refused: [] });
  t.is(parseVifSpec('mac=-1:2:3:4:5:6').refused.length, 1);
});

const ERRORS: [string, string, number][] = [
  ['mtu=big', 'mtu=big: mtu must be a decimal number', 4],
  ['bridge=', 'bridge= has no value', 7],
  ['rate=10MB', 'invalid rate "10MB": write a number, an optional G, M or K, then B/s (bytes) or b/s (bits), e.g. 10Mb/s', 5],
];

for (const [spec, message, offset] of ERRORS) {
  test(`vif spec ${JSON.stringify(spec)} is refused`, (t) => {
    const err = t.throws(() => parseVifSpec(spec), { instanceOf: VifSpecError });
    t.is(err.message, message);
    t.is(err.offset, offset);
  });
}

// tools/xl/check-xl-vif-parse: each valid rate and the rate_bytes_per_interval /
// rate_interval_usecs xl computes for it.
const RATES: [string[], number, number][] = [
  [['16000000b/s', '16000000b/s@50ms', '2000000B/s', '2000000B/s@50ms'], 100000, 50000],
  [['16Kb/s', '16Kb/s@50ms', '2KB/s', '2KB/s@50ms'], 100, 50000],
  [['16Mb/s', '16Mb/s@50ms', '2MB/s', '2MB/s@50ms'], 100000, 50000],
  [['8Gb/s', '8Gb/s@50ms', '1GB/s', '1GB/s@50ms'], 50000000, 50000],
  [['80Mb/s@1s', '10MB/s@1s'], 10000000, 1000000],
  [['1MB/s@20ms'], 20000, 20000],
];

for (const [rates, bytes, usecs] of RATES) {
  for (const rate of rates) {
    test(`vif rate ${rate} is ${bytes} bytes every ${usecs} us`, (t) => {
      t.deepEqual(parseVifRate(rate), { bytesPerInterval: bytes, intervalUsecs: usecs });
    });
  }
}

const BAD_RATES = [
  'foo',
  '10MB',
  '10MB/m',
  '10ZB',
  '10ZB/s',
  '10ZB/m',
  '4294967296b/s',
  '4294967296Kb/s',
  '4294967296Mb/s',
  '4294967296Gb/s',
  '0B/s',
  '10Mb/s@foo',
  '10Mb/s@10h',
  '10MB/s@foo',
  '10MB/s@10h',
  '1B/s@4294967296us',
  '1B/s@4294968ms',
  '1B/s@4295s',
  '1B/s@0us',
  '4294967295GB/s@5us',
  '4296MB/s@4294s',
  '@',
];

test('the rates xl refuses are refused (check-xl-vif-parse)', (t) => {
  for (const rate of BAD_RATES) t.throws(() => parseVifRate(rate), undefined, rate);
});
