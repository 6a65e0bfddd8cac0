import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { assertXlBuilt, scratch, scratchFile, xlHost } from './helpers.js';

// `xl create -n` prints what xl's parser builds; `xl list -l` prints the same config
// after libxl's defaults (libxl__device_disk_setdefault, libxl__device_nic_setdefault),
// which resolve a device's backend domain (a name or an id) to backend_domid with
// libxl_domain_qualifier_to_domid(): all digits is an id, anything else a name.

type Device = Record<string, unknown> & { backend_domname?: string; backend_domid?: number };
interface LibxlConfig {
  disks?: Device[];
  nics?: Device[];
}

test('create -n and list -l agree on disks and vifs, backend_domid included (by name and by id)', async (t) => {
  assertXlBuilt();
  const h = await xlHost();
  t.teardown(() => h.dispose());
  t.is((await h.xl('create', '-q', scratchFile('dd.yaml', 'name: dd\nmemory: 64\ndriver_domain: true\n'))).code, 0);
  const dd = (await (await h.client()).list(['dd']))[0]!.domid;
  t.not(dd, 0);
  // create attaches the disks: their images must exist.
  const images = scratch();
  for (const f of ['guest-root.img', 'guest-data.img', 'guest-ro.img']) writeFileSync(join(images, f), Buffer.alloc(65536));
  const guest = scratchFile(
    'guest.yaml',
    [
      'name: guest',
      'memory: 64',
      'disk:',
      `  - "vdev=xvda, access=rw, backend=dd, target=${images}/guest-root.img"`,
      `  - target: ${images}/guest-data.img`,
      '    vdev: xvdb',
      '    discard: false',
      `    backend: ${dd}`,
      `  - "vdev=xvdc, access=ro, target=${images}/guest-ro.img"`,
      'vif:',
      '  - backend: dd',
      '    bridge: xenbr1',
      '    mtu: 9000',
      `  - "backend=${dd}, rate=100Mb/s"`,
      '  - "mac=00:16:3e:00:00:01"',
      '',
    ].join('\n'),
  );
  const dry = await h.xl('create', '-n', guest);
  t.is(dry.code, 0, dry.stderr);
  const made = await h.xl('create', '-q', guest);
  t.is(made.code, 0, made.stderr);
  const long = await h.xl('list', '-l', 'guest');
  t.is(long.code, 0, long.stderr);
  const parsed = JSON.parse(dry.stdout) as LibxlConfig;
  const live = (JSON.parse(long.stdout) as { config: LibxlConfig }[])[0]!.config;

  const resolve = (name: string | undefined): number => (name === undefined ? 0 : /^\d+$/.test(name) ? Number(name) : name === 'dd' ? dd : -1);
  for (const kind of ['disks', 'nics'] as const) {
    const want = parsed[kind]!;
    const got = live[kind]!;
    t.is(got.length, want.length, kind);
    want.forEach((w, i) => {
      // Every key xl's parser set keeps its value; libxl only adds defaults.
      t.like(got[i], w, `${kind}[${i}]`);
      // The JSON writer leaves out a backend_domid of 0 (the IDL's default).
      t.is(got[i]!.backend_domid ?? 0, resolve(w.backend_domname), `${kind}[${i}].backend_domid`);
    });
  }
  t.deepEqual(
    live.disks!.map((d) => d.backend_domid ?? 0),
    [dd, dd, 0],
  );
  t.deepEqual(
    live.nics!.map((n) => n.backend_domid ?? 0),
    [dd, dd, 0],
  );
});

test('a relative disk target is the same resolved path in create -n and in list -l (against the config\'s directory)', async (t) => {
  assertXlBuilt();
  const h = await xlHost();
  t.teardown(() => h.dispose());
  const file = scratchFile('rel.yaml', 'name: rel\nmemory: 64\ndisk:\n  - target: images/rel-root.img\n    vdev: xvda\n');
  const want = join(dirname(file), 'images', 'rel-root.img');
  mkdirSync(dirname(want));
  writeFileSync(want, Buffer.alloc(65536));
  const dry = await h.xl('create', '-n', file);
  t.is(dry.code, 0, dry.stderr);
  t.is((JSON.parse(dry.stdout) as { disks: { pdev_path: string }[] }).disks[0]!.pdev_path, want);
  t.is((await h.xl('create', '-q', file)).code, 0);
  const live = (JSON.parse((await h.xl('list', '-l', 'rel')).stdout) as { config: { disks: { pdev_path: string }[] } }[])[0]!.config;
  t.is(live.disks[0]!.pdev_path, want);
});
