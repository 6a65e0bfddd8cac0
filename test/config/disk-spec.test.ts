import test from 'ava';
import { DiskSpecError, formatDiskSpec, parseDiskSpec } from '../../src/toolstack/config/disk-spec.js';
import { parseDomainConfigText, type DiskSpec } from '../../src/toolstack/config/index.js';

/** A one-disk config through the whole pipeline: the normalised DiskSpec. */
function disk(spec: string): DiskSpec {
  return parseDomainConfigText(`name = "d"\ndisk = [ ${JSON.stringify(spec)} ]\n`, 'xlcfg', 'd.cfg').config.disk[0]!;
}

const base = { backend: '0', 'direct-io-safe': false, discard: true, trusted: true, specification: 'xen' } as const;

// Equivalence groups from xl-disk-configuration(5) and xl's own check-xl-disk-parse.
const GROUPS: { name: string; specs: string[]; expected: DiskSpec }[] = [
  {
    name: 'a read-write hda on a volume',
    specs: [
      '/dev/vg/guest-volume,,hda',
      '/dev/vg/guest-volume,raw,hda,rw',
      'format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume',
      'format=raw,\tvdev=hda,\taccess=rw,\ttarget=/dev/vg/guest-volume',
      'raw:/dev/vg/guest-volume,hda,w',
    ],
    expected: { target: '/dev/vg/guest-volume', format: 'raw', vdev: 'hda', devid: 768, access: 'rw', devtype: 'disk', ...base },
  },
  {
    name: 'an iso on an IDE cdrom',
    specs: [
      '/root/image.iso,,hdc,cdrom',
      '/root/image.iso,,hdc,,cdrom',
      '/root/image.iso,raw,hdc,devtype=cdrom',
      'format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/image.iso',
      'raw:/root/image.iso,hdc:cdrom,ro',
    ],
    expected: { target: '/root/image.iso', format: 'raw', vdev: 'hdc', devid: 5632, access: 'ro', devtype: 'cdrom', ...base },
  },
  {
    name: 'an empty cdrom drive',
    specs: [
      'devtype=cdrom,,,hdc',
      ',,hdc:cdrom,r',
      ',hdc:cdrom,r',
      'vdev=hdc,access=r,devtype=cdrom,target=',
      ',empty,hdc:cdrom,r',
      'vdev=hdc,access=r,devtype=cdrom,format=empty',
      'vdev=hdc,access=r,devtype=cdrom',
    ],
    expected: { format: 'empty', vdev: 'hdc', devid: 5632, access: 'ro', devtype: 'cdrom', ...base },
  },
  {
    name: 'a phy backend',
    specs: ['backendtype=phy,vdev=xvdb,access=w,target=/dev/vg/guest-volume'],
    expected: { target: '/dev/vg/guest-volume', format: 'raw', vdev: 'xvdb', devid: 51728, access: 'rw', devtype: 'disk', ...base, backendtype: 'phy' },
  },
  {
    name: 'an iSCSI target through a block script',
    specs: [
      'iscsi:iqn.2001-05.com.equallogic:0-8a0906-23fe93404-c82797962054a96d-examplehost,xvda,w',
      'vdev=xvda,access=w,script=block-iscsi,target=iqn.2001-05.com.equallogic:0-8a0906-23fe93404-c82797962054a96d-examplehost',
    ],
    expected: {
      target: 'iqn.2001-05.com.equallogic:0-8a0906-23fe93404-c82797962054a96d-examplehost',
      format: 'raw',
      vdev: 'xvda',
      devid: 51712,
      access: 'rw',
      devtype: 'disk',
      ...base,
      script: 'block-iscsi',
    },
  },
  {
    name: 'a drbd resource',
    specs: ['drbd:app01,hda,w'],
    expected: { target: 'app01', format: 'raw', vdev: 'hda', devid: 768, access: 'rw', devtype: 'disk', ...base, script: 'block-drbd' },
  },
  {
    name: 'a cdrom image without discard',
    specs: ['cdrom, no-discard, vdev=hda, target=/some/disk/image.iso'],
    expected: { target: '/some/disk/image.iso', format: 'raw', vdev: 'hda', devid: 768, access: 'ro', devtype: 'cdrom', ...base, discard: false },
  },
  {
    name: 'an untrusted backend',
    specs: ['untrusted vdev=hda target=/some/disk/image.raw'.replace(/ /g, ', ')],
    expected: { target: '/some/disk/image.raw', format: 'raw', vdev: 'hda', devid: 768, access: 'rw', devtype: 'disk', ...base, trusted: false },
  },
  {
    name: 'a target holding commas, which only target= can say',
    specs: ['vdev=xvda, target=/srv/a,b,c.img'],
    expected: { target: '/srv/a,b,c.img', format: 'raw', vdev: 'xvda', devid: 51712, access: 'rw', devtype: 'disk', ...base },
  },
  {
    name: 'deprecated prefixes, stripped',
    specs: ['tap:aio:/srv/g.img,xvda,w', 'phy:/srv/g.img,xvda,w', 'file:/srv/g.img,xvda,w'],
    expected: { target: '/srv/g.img', format: 'raw', vdev: 'xvda', devid: 51712, access: 'rw', devtype: 'disk', ...base },
  },
  {
    name: 'a qcow2 image by prefix',
    specs: ['tap:qcow2:/srv/g.qcow2,xvda,w', '/srv/g.qcow2,qcow2,xvda,w'],
    expected: { target: '/srv/g.qcow2', format: 'qcow2', vdev: 'xvda', devid: 51712, access: 'rw', devtype: 'disk', ...base },
  },
  {
    name: 'the reference README example',
    specs: ['/srv/g.img,raw,xvda,rw', 'format=raw, vdev=xvda, access=rw, target=/srv/g.img'],
    expected: { target: '/srv/g.img', format: 'raw', vdev: 'xvda', devid: 51712, access: 'rw', devtype: 'disk', ...base },
  },
];

for (const g of GROUPS) {
  for (const spec of g.specs) {
    test(`disk spec ${JSON.stringify(spec)} is ${g.name}`, (t) => {
      t.deepEqual(disk(spec), g.expected);
    });
  }
}

const ERRORS: [string, string, number][] = [
  ['foo', 'no vdev specified: every disk needs one, e.g. vdev=xvda', 3],
  ['/srv/a.img,raw,xvda,rw,extra', 'too many positional parameters near "extra": the order is target, format, vdev, access', 23],
  ['vdev=xvda, size=10, target=/x', 'unknown parameter "size": disk specs take target, format, vdev, access, devtype, backend, backendtype, script, specification and the flags cdrom, discard, no-discard, direct-io-safe, trusted, untrusted', 11],
  ['/srv/a.img,qcow3,xvda', 'unknown value for format near "qcow3": use one of raw, qcow, qcow2, vhd, qed, empty', 11],
  ['/srv/a.img,raw,xvda,rx', 'unknown value for access near "rx": use ro (or r) for read-only, rw (or w) for read-write', 20],
  ['vdev=xvda, access=rw', 'no target specified (and device not removable): give the image path, e.g. target=disk.img', 20],
  ['target=/srv/a.img,vdev=xvda', 'no vdev specified: every disk needs one, e.g. vdev=xvda', 27],
  ['vdev=xvda, vdev=xvdb, target=/x', 'vdev respecified near "xvdb"', 16],
  ['format=raw, format=qcow2, vdev=xvda, target=/x', 'format respecified near "qcow2"', 19],
  ['vdev=xvda, devtype=floppy, target=/x', 'unknown value for devtype near "floppy": use cdrom or disk', 19],
  ['bogus:/x,xvda', 'unknown deprecated disk prefix "bogus:"', 0],
  ['=x', 'bad disk syntax near "=x"', 0],
];

for (const [spec, message, offset] of ERRORS) {
  test(`disk spec ${JSON.stringify(spec)} is refused: ${message.split(':')[0]}`, (t) => {
    const err = t.throws(() => parseDiskSpec(spec), { instanceOf: DiskSpecError });
    t.is(err.message, message);
    t.is(err.offset, offset);
  });
}

test('a positional target may be empty only for a cdrom', (t) => {
  t.throws(() => disk(',,xvda'), { message: /d\.cfg:2:10: disk\[0\]\.target: no target: give the image path/ });
});

test('COLO items and deprecated prefixes are reported, never dropped silently', (t) => {
  const r = parseDomainConfigText(`name = "d"\ndisk = [ "colo, colo-host=h, qcow2:/x.img,xvda,w" ]\n`, 'xlcfg', 'd.cfg');
  t.deepEqual(
    r.warnings.map((w) => `${w.line}:${w.column}: ${w.key}: ${w.message}`),
    [
      '2:11: disk[0]: "colo" (COLO) is not emulated and was ignored',
      '2:17: disk[0]: "colo-host=h" (COLO) is not emulated and was ignored',
      '2:30: disk[0]: the "qcow2:" prefix is deprecated: write format=qcow2',
      '2:10: disk[0]: format qcow2 is not emulated: xenemu serves raw images (convert one with qemu-img convert -O raw)',
    ],
  );
});

test('formatDiskSpec writes target= last and reads back the same', (t) => {
  for (const g of GROUPS) {
    const spec = formatDiskSpec(g.expected);
    t.deepEqual(disk(spec), g.expected, spec);
  }
  t.is(formatDiskSpec(GROUPS[0]!.expected), 'vdev=hda, access=rw, target=/dev/vg/guest-volume');
  t.is(formatDiskSpec(GROUPS[2]!.expected), 'vdev=hdc, devtype=cdrom');
});
