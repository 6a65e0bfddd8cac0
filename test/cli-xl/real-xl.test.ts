import { dirname, join } from 'node:path';
import { scratchFile, XL_JS, type Outcome } from './helpers.js';
import { oracle, oracleHost, realXl as realXlOn } from './real-xl-oracle.js';

// The shim against the real xl 4.17 (Debian's xen-utils-4.17, unpacked by
// scripts/fetch-xen-tools.sh), run without a hypervisor: tools/fake-libxc.c answers
// its few libxenctrl calls (a host of 4 CPUs with a lone Domain-0), and xenstore is
// this test's xenemu. Compared: everything xl decides before it needs a guest, that is
// its command line (global options, help, getopt, operand checks), argument parsing
// (sizes, CPU lists, vCPU numbers, domain ids), name lookups, and `create -n`.
// Skipped when the xl binary, gcc or the Xen headers (libxen-dev) are missing.

const host = oracleHost();

function realXl(args: readonly string[]): Promise<Outcome> {
  return realXlOn(host(), args);
}

async function shim(args: readonly string[]): Promise<Outcome> {
  const r = await host().xl(...args);
  return { ...r, stderr: r.stderr.split(XL_JS).join('xl') };
}

const CASES: string[][] = [
  [],
  ['help'],
  ['help', 'list'],
  ['help', 'create'],
  ['help', 'vcpu'],
  ['-N', 'help'],
  ['list', '-h'],
  ['vcpu-pin', '--help'],
  ['bogus'],
  ['de', '0'],
  ['-x', 'list'],
  ['-N', 'list'],
  ['-N', 'destroy', '0'],
  ['list', '-x'],
  ['list', '--bogus'],
  ['list', '--lo=3'],
  ['list', '0', '1'],
  ['list', 'nosuch'],
  ['list', '99'],
  ['list', '--', '-l'],
  ['create'],
  ['create', '--vnc', 'x'],
  ['create', '-f'],
  ['create', '/nonexistent/x.cfg'],
  ['pause'],
  ['pause', 'nosuch'],
  ['mem-set', '0'],
  ['mem-set', '0', '12q'],
  ['mem-max', '0', '1kb'],
  ['mem-set', 'nosuch', '1g'],
  ['rename', '0'],
  ['shutdown'],
  ['reboot', '-x'],
  ['destroy', '0'],
  ['destroy', 'nosuch'],
  ['domid', 'Domain-0'],
  ['domid', 'nosuch'],
  ['domname', '0'],
  ['domname', '0abc'],
  ['domname', 'x'],
  ['domname', '-1'],
  ['domname', '--', '-1'],
  ['uptime', 'nosuch'],
  ['vcpu-list', 'nosuch'],
  ['vcpu-pin', '0', 'x', '1'],
  ['vcpu-pin', '-f', '0', 'all', '1'],
  ['vcpu-pin', '0', '0', '1-0'],
  ['-N', 'vcpu-pin', '0', 'all', '0-3,^1'],
  ['-N', 'vcpu-pin', '0', '0', '-', '9'],
  ['-N', 'vcpu-pin', '0', '1', 'all', '^all'],
  ['vcpu-set', '0', 'abc'],
  ['vcpu-set', '0', '99'],
];

oracle('command lines, usage errors and argument checks: the same stdout, stderr and status as xl 4.17', async (t) => {
  for (const args of CASES) {
    const [real, ours] = await Promise.all([realXl(args), shim(args)]);
    t.deepEqual(ours, real, `xl ${args.join(' ')}`);
  }
});

oracle('create -n: the same libxl JSON as xl 4.17 for an xl.cfg with most keys xenemu reads (relative disk paths resolved)', async (t) => {
  const cfg = scratchFile(
    'guest.cfg',
    [
      'name = "guest"',
      'type = "pv"',
      'uuid = "6f1c8a52-3b1e-4c44-9d0a-2f7e5b9c1d20"',
      'kernel = "/boot/vmlinuz"',
      'ramdisk = "/boot/initrd.img"',
      'root = "/dev/xvda1 ro"',
      'extra = "console=hvc0"',
      'memory = 1024',
      'maxmem = 2048',
      'vcpus = 2',
      'maxvcpus = 3',
      'cpus = "0-2,^1"',
      'cpu_weight = 512',
      'cap = 50',
      'max_event_channels = 2047',
      'on_poweroff = "preserve"',
      'on_crash = "coredump-restart"',
      'on_watchdog = "rename-restart"',
      "disk = [ 'images/root.img,raw,xvda,rw', 'format=raw, vdev=xvdb, access=ro, target=/srv/data.img', 'vdev=xvdc, access=rw, no-discard, target=scratch.img' ]",
      "vif = [ 'mac=00:16:3e:74:3d:76,bridge=br1,ip=192.0.2.7,script=vif-route,rate=10Mb/s@20ms', 'mac=00:16:3e:74:3d:77,vifname=guest-int,mtu=9000' ]",
      '',
    ].join('\n'),
  );
  const [real, ours] = await Promise.all([realXl(['create', '-n', cfg]), shim(['create', '-n', cfg])]);
  t.is(real.code, 0, real.stderr);
  // One deliberate difference: xl prints a relative target as written (its hotplug
  // script resolves it against its own cwd); xenemu resolves it against the config's
  // directory and shows that path, the one `create` records and `list -l` prints.
  const resolved = (path: string) => `"pdev_path": "${join(dirname(cfg), path)}"`;
  const expected = real.stdout.replace('"pdev_path": "images/root.img"', resolved('images/root.img')).replace('"pdev_path": "scratch.img"', resolved('scratch.img'));
  t.not(expected, real.stdout, 'the relative targets are there to resolve');
  t.deepEqual(ours, { ...real, stdout: expected });
});

oracle('create -n: what an xl.cfg leaves out is left out, and what its specs spell out is printed, as xl 4.17 prints them', async (t) => {
  const configs = [
    // No vcpus, no memory: xl leaves both to libxl (no max_vcpus, no memkb, no affinity from a string).
    ['name = "bare"', 'kernel = "/k"', 'cpus = "all"'],
    // maxvcpus and maxmem alone; a per-vCPU list longer than max_vcpus, which turns NUMA placement off.
    ['name = "maxonly"', 'kernel = "/k"', 'maxmem = 256', 'maxvcpus = 2', 'cpus = [ "0", "1", "0" ]'],
    ['name = "short"', 'kernel = "/k"', 'vcpus = 3', 'cpus = [ "1" ]', 'cpus_soft = "0-1"'],
    // Defaults written out in a vif and in disks; the empty cdrom forms.
    [
      'name = "given"',
      'type = "hvm"',
      'memory = 128',
      "vif = [ 'mac=00:16:3e:00:00:01, bridge=xenbr0, script=vif-bridge, mtu=1500, backend=0, type=ioemu, model=rtl8139' ]",
      "disk = [ 'vdev=xvda, discard, specification=xen, target=/dev/null', ',hdc:cdrom,r', 'vdev=hdd, devtype=cdrom' ]",
    ],
    // Vifs without a mac: xl leaves it to libxl, which draws one at create; nothing is printed.
    ['name = "nomac"', 'kernel = "/k"', "vif = [ 'bridge=xenbr0', 'script=vif-route, ip=10.0.0.2', '' ]"],
    // Top-level keys written at their defaults are set, and printed.
    ['name = "dflt"', 'kernel = "/k"', 'cpu_weight = 256', 'cap = 0', 'max_grant_frames = 64', 'max_maptrack_frames = 1024', 'max_event_channels = 1023', 'driver_domain = 0'],
    ['name = "vir0"', 'type = "hvm"', 'viridian = 0'],
    ['name = "vir1"', 'type = "hvm"', 'viridian = [ "defaults" ]'],
    // xen-create-image's PV config, with xm's dhcp, which xl ignores (xenemu warns).
    ["bootloader = 'pygrub'", "vcpus = '2'", "memory = '512'", "root = '/dev/xvda2 ro'", "disk = [ 'file:/srv/deb1/disk.img,xvda2,w', 'file:/srv/deb1/swap.img,xvda1,w' ]", "name = 'deb1'", "vif = [ 'mac=00:16:3E:68:7F:D4,bridge=xenbr0' ]", "on_crash = 'restart'"],
  ];
  for (const lines of configs) {
    const cfg = scratchFile('given.cfg', `${lines.join('\n')}\n`);
    const [real, ours] = await Promise.all([realXl(['create', '-n', cfg]), shim(['create', '-n', cfg])]);
    t.is(real.code, 0, real.stderr);
    const uuid = (s: string) => s.replace(/"uuid": "[0-9a-f-]{36}"/, '"uuid": "U"');
    t.is(uuid(ours.stdout), uuid(real.stdout), lines[0]);
    t.is(ours.code, real.code);
  }
});

oracle('create -n: an HVM config\'s firmware, display and device-model keys print as xl 4.17 prints them, though xenemu does not emulate them', async (t) => {
  const hvm = (...lines: string[]) => ['name = "win"', 'type = "hvm"', 'memory = 256', ...lines];
  const configs = [
    // A typical HVM guest of the xm days.
    hvm(
      "disk = [ 'file:/srv/win.img,hda,w', ',hdc:cdrom,r' ]",
      "vif = [ 'type=ioemu, mac=00:16:3e:11:22:33, bridge=xenbr0, model=e1000' ]",
      'boot = "dc"',
      'vnc = 1',
      'vnclisten = "0.0.0.0"',
      'vncpasswd = "s3cr#t"   # a # in a string',
      'serial = "pty"',
      'usb = 1',
      'usbdevice = "tablet"',
      'acpi = 1',
      'apic = 1',
      'pae = 1',
      'localtime = 1',
      'stdvga = 0',
      'viridian = 1',
    ),
    hvm('sdl = 1', 'opengl = 1', 'display = ":0"', 'xauthority = "/root/.Xauthority"', 'vga = "stdvga"', 'videoram = 16', 'vncdisplay = 5', 'vncunused = 0'),
    hvm('serial = [ "pty", "file:/tmp/x" ]', 'usbversion = 2', 'usbdevice = [ "tablet", "mouse" ]', 'soundhw = "hda"', 'keymap = "en-us"', 'hdtype = "ahci"'),
    hvm('bios = "seabios"', 'firmware_override = "/x"', 'bios_path_override = "/y"', 'acpi_s3 = 0', 'acpi_s4 = 0', 'acpi_laptop_slate = 1', 'nx = 0', 'hpet = 0', 'vpt_align = 1'),
    hvm('nographic = 1', 'xen_platform_pci = 0', 'vkb_device = 0', 'hap = 0', 'nestedhvm = 1', 'shadow_memory = 8', 'nomigrate = 1', 'rtc_timeoffset = 3600'),
    hvm('tsc_mode = "native"', 'timer_mode = "no_delay_for_missed_ticks"', 'device_model_version = "qemu-xen"', 'dm_restrict = 1', 'vga = "qxl"'),
    hvm('viridian = [ "defaults", "all", "!hcall_ipi" ]'),
    hvm('viridian = [ "base", "!base", "freq" ]'),
  ];
  for (const lines of configs) {
    const cfg = scratchFile('hvm.cfg', `${lines.join('\n')}\n`);
    const [real, ours] = await Promise.all([realXl(['create', '-n', cfg]), shim(['create', '-n', cfg])]);
    t.is(real.code, 0, real.stderr);
    const uuid = (s: string) => s.replace(/"uuid": "[0-9a-f-]{36}"/, '"uuid": "U"');
    t.is(uuid(ours.stdout), uuid(real.stdout), lines.slice(3).join('; '));
    t.is(ours.code, 0);
  }
});

oracle('create -n: vfb= items and a PV guest\'s top-level vnc become vfb and vkb devices as xl 4.17 makes them', async (t) => {
  const pv = (...lines: string[]) => ['name = "fb"', 'kernel = "/k"', 'memory = 256', ...lines];
  const configs = [
    pv('vfb = [ "vnc=1,vnclisten=0.0.0.0,vncpasswd=x,vncdisplay=3,vncunused=0,keymap=de" ]'),
    pv('vfb = [ "sdl=1,opengl=1,display=:0,xauthority=/x", " vnc=1", "vnc=1,bogus,sdl=1" ]'),
    pv('vnc = 1', 'vnclisten = "0.0.0.0"', 'keymap = "fr"', 'sdl = 0'),
    pv('vnc = 1', 'vfb = [ "sdl=1" ]'),
    pv('type = "hvm"', 'vfb = [ "vnc=1" ]'),
  ];
  for (const lines of configs) {
    const cfg = scratchFile('fb.cfg', `${lines.join('\n')}\n`);
    const [real, ours] = await Promise.all([realXl(['create', '-n', cfg]), shim(['create', '-n', cfg])]);
    t.is(real.code, 0, real.stderr);
    const uuid = (s: string) => s.replace(/"uuid": "[0-9a-f-]{36}"/, '"uuid": "U"');
    t.is(uuid(ours.stdout), uuid(real.stdout), lines.slice(3).join('; '));
  }
});

oracle('create -n: what xl takes though xenemu refused it (maxmem under memory, vcpus 0 or over 128, a bad vif mac, type or item) prints as xl 4.17 prints it, with a warning where xl says why', async (t) => {
  const pv = (...lines: string[]) => ['name = "lax"', 'kernel = "/k"', ...lines];
  const configs = [
    pv('memory = 512', 'maxmem = 256'),
    pv('vcpus = 0'),
    pv('vcpus = 0', 'maxvcpus = 3'),
    pv('vcpus = 129'),
    ['name = "lax"', 'type = "hvm"', 'memory = 64', 'vcpus = 200'],
    pv("vif = [ 'mac=zz:16:3e:00:00:01', 'mac=00:16:3e:zz:00:01', 'mac=00.16.3E.1.2.3,type=ioemu', ' mac= 0x1:2:3:4:5:6', 'mac=00:00:00:00:00:00', 'mac=00:16:3e:100:1:1' ]"),
    pv("vif = [ 'type=bogus,bridge=xenbr1', 'bogus=1', 'bogus', 'bridge=xenbr0,colour=red,mtu=9000' ]"),
  ];
  const xlSays = /^(Invalid parameter `(mac|type)'\.|unrecognized argument `.*')$/gm;
  const weSay = /^xenemu: warning: .*: vif\[\d+\]: (invalid (mac|type)|unrecognized argument) /gm;
  for (const lines of configs) {
    const cfg = scratchFile('lax.cfg', `${lines.join('\n')}\n`);
    const [real, ours] = await Promise.all([realXl(['create', '-n', cfg]), shim(['create', '-n', cfg])]);
    const what = lines.slice(2).join('; ');
    t.is(real.code, 0, real.stderr);
    t.is(ours.code, 0, `${what}: ${ours.stderr}`);
    const r = JSON.parse(real.stdout) as { c_info: { uuid?: string }; nics?: { mac?: string }[] };
    const o = JSON.parse(ours.stdout) as typeof r;
    // xl leaves a vif without a mac to libxl's random one; xenemu settles it when it reads the config.
    o.nics?.forEach((n, i) => r.nics?.[i]?.mac === undefined && delete n.mac);
    delete r.c_info.uuid;
    delete o.c_info.uuid;
    t.deepEqual(o, r, what);
    t.is((ours.stderr.match(weSay) ?? []).length, (real.stderr.match(xlSays) ?? []).length, `${what}: ${ours.stderr}`);
  }
});
