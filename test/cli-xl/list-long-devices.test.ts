import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generateMac } from '../../src/toolstack/config/vif-spec.js';
import { assertXlBuilt, scratch, scratchFile, xlHost } from './helpers.js';

// `xl list -l` prints the config libxl stored at create: the "vanilla" one xl's parser
// built, which `xl create -n` prints (libxl_create.c keeps it as guest_config_saved), with
// what libxl__update_domain_configuration() brought over from the create (each nic's
// nictype and mac, video_memkb, msr_relaxed) and what libxl_retrieve_domain_configuration()
// reads live (name, uuid, avail_vcpus, max_memkb, target_memkb, sched_params).

interface Json {
  [key: string]: unknown;
}

/** A config without the fields a create and the running domain fill (nictype set or not), to compare list -l's with create -n's. */
function vanilla(config: Json): Json {
  const c = structuredClone(config) as { b_info?: Json & { arch_x86?: Json }; nics?: Json[] };
  for (const k of ['avail_vcpus', 'max_memkb', 'target_memkb', 'video_memkb', 'sched_params']) delete c.b_info?.[k];
  delete c.b_info?.arch_x86?.msr_relaxed;
  for (const n of c.nics ?? []) {
    delete n.nictype;
    delete n.mac;
  }
  return c;
}

test('list -l prints what create -n printed for the config, plus what the create settled and the live fields', async (t) => {
  assertXlBuilt();
  const h = await xlHost();
  t.teardown(() => h.dispose());
  t.is((await h.xl('create', '-q', scratchFile('dd.cfg', 'name = "dd"\nmemory = 64\ndriver_domain = 1\n'))).code, 0);
  const images = scratch();
  for (const f of ['root.img', 'data.img', 'ro.img']) writeFileSync(join(images, f), Buffer.alloc(65536));
  const configs: string[][] = [
    // A PV guest: defaults spelt out at the top level and in the specs, backends by name and id, an xm leftover.
    [
      'name = "pv1"',
      'uuid = "6f1c8a52-3b1e-4c44-9d0a-2f7e5b9c1d20"',
      'kernel = "/boot/vmlinuz"',
      'memory = 64',
      'maxmem = 128',
      'vcpus = 2',
      'maxvcpus = 3',
      'cpu_weight = 256',
      'cap = 0',
      'max_grant_frames = 64',
      'driver_domain = 0',
      'dhcp = "dhcp"',
      `disk = [ 'vdev=xvda, access=rw, backend=dd, discard, target=${images}/root.img', 'format=raw, vdev=xvdb, specification=xen, target=${images}/data.img', '${images}/ro.img,raw,xvdc,ro' ]`,
      "vif = [ 'mac=00:16:3e:00:00:01, bridge=xenbr0, script=vif-bridge, mtu=1500', 'backend=dd, bridge=xenbr1, type=vif', 'bogus=1' ]",
      'vfb = [ "vnc=1,vnclisten=0.0.0.0" ]',
    ],
    // An HVM guest with keys xenemu reads but does not emulate, and no vcpus or memory keys at all.
    [
      'name = "hvm1"',
      'uuid = "f7e6d5c4-b3a2-4918-8776-655443322110"',
      'type = "hvm"',
      'boot = "dc"',
      'vnc = 1',
      'serial = "pty"',
      'stdvga = 1',
      'viridian = [ "defaults" ]',
      "vif = [ 'mac=00:16:3e:11:22:33, model=e1000' ]",
      `disk = [ '${images}/data.img,raw,hda,ro', ',hdc:cdrom,r' ]`,
    ],
    // vcpus = 0 and maxmem under memory, which xl takes.
    ['name = "odd1"', 'uuid = "a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d"', 'kernel = "/k"', 'memory = 96', 'maxmem = 64', 'vcpus = 0'],
  ];
  for (const lines of configs) {
    const name = /"(.*)"/.exec(lines[0]!)![1]!;
    const cfg = scratchFile(`${name}.cfg`, `${lines.join('\n')}\n`);
    const dry = await h.xl('create', '-n', cfg);
    t.is(dry.code, 0, dry.stderr);
    const made = await h.xl('create', '-q', cfg);
    t.is(made.code, 0, made.stderr);
    const long = await h.xl('list', '-l', name);
    t.is(long.code, 0, long.stderr);
    const live = (JSON.parse(long.stdout) as { config: Json }[])[0]!.config;
    const dryConfig = JSON.parse(dry.stdout) as Json;
    t.deepEqual(vanilla(live), vanilla(dryConfig), name);
    // Each nic has a mac once created: the one its spec names (create -n printed it), or the one drawn for it.
    const dryNics = (dryConfig.nics ?? []) as Json[];
    const seed = /^uuid = "(.*)"$/m.exec(lines.join('\n'))?.[1] ?? name;
    for (const [i, n] of ((live.nics ?? []) as Json[]).entries()) t.is(n.mac, dryNics[i]!.mac ?? generateMac(seed, i), `${name} nic ${i}`);
  }
  // The fields a create fills and the domain reports.
  const fields = async (name: string) => (JSON.parse((await h.xl('list', '-l', name)).stdout) as { config: { b_info: Json; nics?: Json[] } }[])[0]!.config;
  const pv = await fields('pv1');
  t.like(pv.b_info, { avail_vcpus: [0, 1], max_memkb: 131072, target_memkb: 65536, video_memkb: 0, arch_x86: { msr_relaxed: 'False' } });
  t.deepEqual(pv.nics!.map((n) => n.nictype), ['vif', 'vif', 'vif']);
  const hvm = await fields('hvm1');
  // No vcpus key: max_vcpus stays 0 in the stored config, so no vCPU is read back.
  t.is(hvm.b_info.avail_vcpus, undefined);
  t.like(hvm.b_info, { max_memkb: 32768, video_memkb: 16384 });
  t.deepEqual(hvm.nics!.map((n) => n.nictype), ['vif_ioemu']);
  // maxmem is memory/static-max; vCPU 0 runs though it is marked offline.
  t.like((await fields('odd1')).b_info, { max_memkb: 65536, target_memkb: 98304 });

  // The record keeps what the xl.cfgs spelled out across a restart of the daemon.
  const all = async () => (JSON.parse((await h.xl('list', '-l')).stdout) as { domid: number; config: Json }[]).map((e) => ({ domid: e.domid, config: vanilla(e.config) }));
  const before = await all();
  await h.host.stop();
  await h.host.restart();
  t.deepEqual(await all(), before);
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
