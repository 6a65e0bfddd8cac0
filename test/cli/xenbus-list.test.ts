import test from 'ava';
import { join } from 'node:path';
import type { XenbusRpc } from '../../src/protocol/xenbus-rpc.js';
import { assertXlBuilt, CONFIGS, scratchFile, xlHost, type XlHost } from '../cli-xl/helpers.js';

// `xenemu xenbus list DOM [--json]` through dist/ (npm run build first), against a host
// with web running on real disks: xvda from its config (configs/images/web.img) and
// xvdb block-attached from a scratch image, each taken by blkfront (xbd) in web and by
// blkback (xbbd) in dom0, and its vif from the config, taken by netfront and netback.
// Beside them, a vkbd's nodes written as libxl writes them: a
// device type xenemu does not serve, so both of its ends are devices no driver took.

let h: XlHost;
const VBD_FE = (devid: number): string => `/local/domain/1/device/vbd/${devid}`;
const VBD_BE = (devid: number): string => `/local/domain/0/backend/vbd/1/${devid}`;
const FE = '/local/domain/1/device/vkbd/0';
const BE = '/local/domain/0/backend/vkbd/1/0';

test.before(async () => {
  assertXlBuilt();
  h = await xlHost();
  const r = await h.xl('create', join(CONFIGS, 'web.yaml'));
  if (r.code !== 0) throw new Error(`xl create: ${r.stderr}`);
  await h.until((rows) => rows.find((d) => d.name === 'web')?.stateFlags.blocked === true, 'web idle');
  const spare = scratchFile('spare.img', '\0'.repeat(64 * 1024));
  const a = await h.xenemu('block-attach', 'web', `vdev=xvdb,access=ro,target=${spare}`);
  if (a.code !== 0) throw new Error(`block-attach: ${a.stderr}`);
  const disks = await h.disksConnected('web');
  if (disks.length !== 2) throw new Error(`web's disks: ${JSON.stringify(disks)}`);
  await h.nicsConnected('web', 1);
  const nodes = [
    [`${BE}/frontend`, FE],
    [`${BE}/frontend-id`, '1'],
    [`${BE}/state`, '1'],
    [`${FE}/backend`, BE],
    [`${FE}/backend-id`, '0'],
    [`${FE}/state`, '1'],
  ];
  const w = await h.xenemu('xenstore', 'write', ...nodes.flat());
  if (w.code !== 0) throw new Error(`xenstore write: ${w.stderr}`);
  // libxl's permissions: each end owned by its domain, readable by the other.
  for (const [path, perms] of [
    [BE, ['n0', 'r1']],
    [FE, ['n1', 'r0']],
  ] as const) {
    const c = await h.xenemu('xenstore', 'chmod', '-r', path, ...perms);
    if (c.code !== 0) throw new Error(`xenstore chmod: ${c.stderr}`);
  }
});

test.after.always(async () => {
  await h?.dispose();
});

test('xenbus list: a guest’s disks taken by blkfront and Connected, a vkbd no driver took, and the children of xenstore', async (t) => {
  const r = await h.xenemu('xenbus', 'list', 'web');
  t.is(r.stderr, '');
  t.is(r.code, 0);
  t.is(
    r.stdout,
    [
      'Bus            Node              Type     State           Peer  Peer path                            Peer state      Driver',
      `xenbusb_front  device/vbd/51712  vbd      4 Connected     0     ${VBD_BE(51712)}  4 Connected     xbd`,
      `xenbusb_front  device/vbd/51728  vbd      4 Connected     0     ${VBD_BE(51728)}  4 Connected     xbd`,
      'xenbusb_front  device/vif/0      vif      4 Connected     0     /local/domain/0/backend/vif/1/0      4 Connected     netfront',
      `xenbusb_front  device/vkbd/0     vkbd     1 Initialising  0     ${BE}     1 Initialising  -`,
      'xenstore       control           xctrl    -               -     -                                    -               xctrl',
      'xenstore       memory            balloon  -               -     -                                    -               balloon',
      'xenstore       cpu               cpu      -               -     -                                    -               cpu',
      '',
    ].join('\n'),
  );
});

test('xenbus list 0: dom0’s back bus holds the disks’ backends (blkback), the vkbd backend no driver took, and the console backend', async (t) => {
  const r = await h.xenemu('xenbus', 'list', '0');
  t.is(r.code, 0);
  const lines = r.stdout.split('\n');
  for (const devid of [51712, 51728]) {
    t.regex(lines.find((l) => l.includes(`backend/vbd/1/${devid} `))!, new RegExp(`^xenbusb_back +backend/vbd/1/${devid} +vbd +4 Connected +1 +${VBD_FE(devid)} +4 Connected +xbbd$`));
  }
  t.regex(lines.find((l) => l.includes('backend/vkbd/1/0'))!, new RegExp(`^xenbusb_back +backend/vkbd/1/0 +vkbd +1 Initialising +1 +${FE} +1 Initialising +-$`));
  t.true(lines.some((l) => /^xenbusb_back +backend\/console\/1\/0 +console /.test(l)));
});

test('xenbus list --json: FreeBSD’s per-device variables, with the absolute path', async (t) => {
  const r = await h.xenemu('xenbus', 'list', 'web', '--json');
  t.is(r.code, 0);
  const out = JSON.parse(r.stdout) as XenbusRpc['xenbus.list']['result'];
  t.is(out.domid, 1);
  t.is(out.name, 'web');
  t.deepEqual(out.devices[0], {
    bus: 'xenbusb_front',
    node: 'device/vbd/51712',
    xenstorePath: VBD_FE(51712),
    type: 'vbd',
    state: 4,
    stateName: 'Connected',
    otherendPath: VBD_BE(51712),
    otherendId: 0,
    otherendState: 4,
    otherendStateName: 'Connected',
    driver: 'xbd',
  });
  t.deepEqual(out.devices[3], {
    bus: 'xenbusb_front',
    node: 'device/vkbd/0',
    xenstorePath: FE,
    type: 'vkbd',
    state: 1,
    stateName: 'Initialising',
    otherendPath: BE,
    otherendId: 0,
    otherendState: 1,
    otherendStateName: 'Initialising',
    driver: null,
  });
  t.deepEqual(
    out.devices.filter((d) => d.bus === 'xenstore').map((d) => [d.node, d.driver, d.state]),
    [
      ['control', 'xctrl', null],
      ['memory', 'balloon', null],
      ['cpu', 'cpu', null],
    ],
  );
});

test('an unknown domain is named as xl names it, exit 1', async (t) => {
  t.deepEqual(await h.xenemu('xenbus', 'list', 'nosuch'), { stdout: '', stderr: 'nosuch is an invalid domain identifier (rc=-6)\n', code: 1 });
  t.deepEqual(await h.xenemu('xenbus', 'list', '42'), { stdout: '', stderr: "Error: Domain '42' does not exist.\n", code: 1 });
});

test('xenbus list --help says what the columns are', async (t) => {
  const r = await h.xenemu('xenbus', 'list', '--help');
  t.is(r.code, 0);
  t.regex(r.stdout, /xenbus_connection_state/);
  t.regex(r.stdout, /xenemu xenbus list web --json/);
});
