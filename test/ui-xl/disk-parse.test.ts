// Disk specs (xl-disk-configuration(5)) read as the real libxlutil 4.17 reads them:
// every spec below goes through xlu_disk_parse() and libxl_device_disk_to_json()
// (tools/xlu-disk-parse.c) and through xenemu's reader and printer (what `xl -N
// block-attach` and each disk of `xl create -n` print), and the two must agree byte
// for byte, or both refuse the spec.
import { DiskSpecObject } from '../../src/toolstack/config/index.js';
import { parseDiskSpec } from '../../src/toolstack/config/disk-spec.js';
import { xlParsedDisk } from '../../src/toolstack/libxl/from-config.js';
import { libxlDeviceDiskGenJson, YajlGen } from '../../src/toolstack/libxl/index.js';
import { needing } from '../helpers/needing.js';
import { cOracle, run } from './helpers.js';

const oracle = cOracle('xlu-disk-parse.c', ['-lxlutil', '-lxenlight']);

const ACCEPTED = [
  'file:/path,xvda,w',
  'phy:/dev/vg/lv,xvda,w',
  'phy:/dev/sdb,xvdb,r',
  'tap:aio:/x.img,xvda,w',
  'tap2:tapdisk:aio:/x.img,xvda,w',
  'aio:/x.img,xvda,w',
  'raw:/x.img,xvda,w',
  'qcow2:/x.img,xvda,w',
  '/a.img,raw,xvda,rw',
  '/a.img,qcow2,xvda,rw',
  '/a.img,,xvda,rw',
  '/a.img,,xvda',
  '/img, raw, xvda, w',
  '/img,raw,sda,w',
  '/img,raw,hda,w',
  '/img,raw,xvda1,w',
  '/img,raw,d0p1,w',
  '/img,raw,51712,w',
  'format=raw, vdev=xvdc, access=rw, target=/a b',
  'vdev=xvda,target=/x,y',
  'vdev=xvda,target=/img,access=ro',
  'vdev=xvda,access=ro,target=/img',
  'vdev=xvda,access=r,target=/img',
  'vdev=xvda,backendtype=phy,target=/dev/sdb',
  'vdev=xvda,backendtype=qdisk,target=/img',
  'vdev=xvda,backend=dom1,target=/img',
  'vdev=xvda,backend=0,target=/img',
  'vdev=xvda,script=block-iscsi,target=iqn.foo',
  // Empty cdrom drives: a target of "" is printed as such, none is left out.
  ',,hdc,cdrom',
  ',,hdc:cdrom,r',
  ',hdc:cdrom,r',
  'vdev=hdc,devtype=cdrom',
  '/x.iso,,hdc:cdrom,r',
  'file:/x.iso,hdc:cdrom,r',
  '/x.iso,raw,hdc,ro,devtype=cdrom',
  'devtype=cdrom,vdev=hdc,target=/x.iso',
  '/img,raw,xvda,w,cdrom',
  // Flags written out are set even to their defaults.
  '/img,raw,xvda,w,discard',
  '/img,raw,xvda,w,no-discard',
  '/img,raw,xvda,w,direct-io-safe',
  '/img,raw,xvda,w,specification=xen',
  '/img,raw,xvda,w,specification=virtio',
];

const REFUSED = ['xvda', '', '/img,xvda,w', 'xvda,/img', '/img,raw,xvda,x', '/img,raw,xvda,w,extra', '/img,bogus,xvda,w', 'target=/img,vdev=xvda', 'vdev=xvda', 'foo=bar,/x,xvda'];

/** What xenemu prints for a spec, or null when it refuses it. */
function ours(spec: string): string | null {
  let fields;
  try {
    fields = parseDiskSpec(spec).fields;
  } catch {
    return null;
  }
  const checked = DiskSpecObject.safeParse(fields);
  if (!checked.success) return null;
  const g = new YajlGen();
  libxlDeviceDiskGenJson(g, xlParsedDisk(checked.data, new Set(Object.keys(fields))));
  return g.buffer;
}

/** What libxlutil prints for each spec, or null for a refused one. */
function theirs(specs: readonly string[]): Map<string, string | null> {
  const out = run(oracle!, specs);
  const blocks = out.split(/^@@ /m).slice(1);
  return new Map(
    blocks.map((b) => {
      const nl = b.indexOf('\n');
      const body = b.slice(nl + 1);
      return [b.slice(0, nl), body.endsWith('ERR\n') ? null : body] as const;
    }),
  );
}

const check = needing(oracle === null ? 'gcc or libxen-dev (libxlutil) is missing' : null);

check('disk specs xl accepts print as libxlutil prints them, defaults spelled out included', (t) => {
  const real = theirs(ACCEPTED);
  for (const spec of ACCEPTED) {
    const want = real.get(spec);
    t.is(typeof want, 'string', `libxlutil refuses ${spec}`);
    t.is(ours(spec), want ?? null, spec);
  }
});

check('disk specs xl refuses are refused', (t) => {
  const real = theirs(REFUSED);
  for (const spec of REFUSED) {
    t.is(real.get(spec), null, `libxlutil accepts ${spec}`);
    t.is(ours(spec), null, spec);
  }
});

check('trusted and untrusted: in xl-disk-configuration(5) 4.17 and read here, though the shipped libxlutil refuses them (its generated scanner predates them)', (t) => {
  const specs = ['/img,raw,xvda,w,trusted', '/img,raw,xvda,w,untrusted'];
  const real = theirs(specs);
  t.deepEqual(
    specs.map((s) => real.get(s)),
    [null, null],
  );
  t.regex(ours(specs[0]!)!, /"trusted": "True"/);
  t.regex(ours(specs[1]!)!, /"trusted": "False"/);
});
