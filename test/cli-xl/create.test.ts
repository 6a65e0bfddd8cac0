import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { statePaths } from '../../src/state/state-dir.js';
import { tempHome } from '../helpers/daemon.js';
import { assertXlBuilt, CONFIGS, LIST_HEADER_RE, listRow, lit, runNode, RUN_JS, scratch, scratchFile, XL_JS, xlHost, type XlHost } from './helpers.js';

// `xl create` / `xenemu create` (xl_vmcontrol.c: main_create, create_domain).

let h: XlHost;
const WEB = join(CONFIGS, 'web.yaml');
const DB = join(CONFIGS, 'db.yaml');

test.before(async () => {
  assertXlBuilt();
  h = await xlHost();
});

test.after.always(async () => {
  await h?.dispose();
});

const names = async (): Promise<string[]> => (await (await h.client()).list()).map((r) => r.name ?? '');

test.serial('create prints "Parsing config from FILE" on stderr, nothing else, and the guest boots', async (t) => {
  t.deepEqual(await h.xl('create', WEB), { stdout: '', stderr: `Parsing config from ${WEB}\n`, code: 0 });
  const rows = await h.until((rs) => rs.some((r) => r.name === 'web' && r.stateFlags.blocked), 'web idle');
  t.is(rows.find((r) => r.name === 'web')!.domid, 1);
  // The guest kernel ran: it logged its boot.
  const log = await h.xenemu('dmesg', 'web');
  t.regex(log.stdout, /Booting web \(domain 1, PVH, 2 vCPUs, 524288 KiB\)/);
});

test.serial('the same name again is refused (exit 3, as xl) and the domain that has it is untouched', async (t) => {
  const before = (await (await h.client()).list(['1']))[0]!;
  for (const run of [h.xl, h.xenemu]) {
    const r = await run('create', WEB);
    t.is(r.code, 3);
    t.is(r.stderr, `Parsing config from ${WEB}\nxenemu: domain 'web' already exists with ID 1\n`);
  }
  const after = await (await h.client()).list();
  t.deepEqual(
    after.map((r) => r.name),
    ['Domain-0', 'web'],
  );
  t.like(after[1], { domid: 1, uuid: before.uuid, currentMemKb: before.currentMemKb, vcpusOnline: before.vcpusOnline });
});

test.serial('more memory than the host has free is refused (exit 3) and leaves no domain behind', async (t) => {
  const r = await h.xenemu('create', WEB, 'name="huge"', 'memory=100000');
  t.is(r.code, 3);
  t.regex(r.stderr, /^Parsing config from .*\nxenemu: cannot create domain 'huge': not enough free memory: 100000 MiB asked, \d+ MiB free\n$/);
  t.deepEqual(await names(), ['Domain-0', 'web']);
  t.regex((await h.xl('list')).stdout, new RegExp(`^${LIST_HEADER_RE}\n${listRow('Domain-0', 0, 1024, 4, 'r-----')}\n${listRow('web', 1, 512, 2, '-b----')}\n$`));
});

test.serial('config errors name file:line:column and the key, exit 1, and create nothing', async (t) => {
  const yaml = scratchFile('bad.yaml', 'name: bad\nmemory: lots\n');
  t.deepEqual(await h.xl('create', yaml), {
    stdout: '',
    stderr: `Parsing config from ${yaml}\n${yaml}:2:9: memory: expected a number, got the string "lots"\n`,
    code: 1,
  });
  const cfg = scratchFile('bad.cfg', 'name = "bad"\nmemory = foo\n');
  t.deepEqual(await h.xenemu('create', cfg), {
    stdout: '',
    stderr: `Parsing config from ${cfg}\n${cfg}:2:10: memory: syntax error near \`foo': strings must be quoted, e.g. memory = "foo"\n`,
    code: 1,
  });
  // KEY=VALUE settings are statements after the file: "<command line>", line = their index.
  const over = await h.xl('create', WEB, 'name="w2"', 'vcpus=9000');
  t.is(over.code, 1);
  t.is(over.stderr, `Parsing config from ${WEB}\n<command line>:2:7: vcpus: must be at most 8192 (Xen's limit for any guest, MAX_VIRT_CPUS; xenemu runs at most 128)\n`);
  t.deepEqual(await names(), ['Domain-0', 'web']);
});

test.serial('-p leaves the domain paused; unpause boots it', async (t) => {
  t.is((await h.xenemu('create', '-p', DB)).code, 0);
  t.regex((await h.xl('list', 'db')).stdout, new RegExp(`\n${listRow('db', 2, 2048, 2, '--p---')}\n$`));
  t.deepEqual(await h.xl('unpause', 'db'), { stdout: '', stderr: '', code: 0 });
  await h.until((rs) => rs.some((r) => r.name === 'db' && r.stateFlags.blocked), 'db idle');
  t.regex((await h.xenemu('list', 'db')).stdout, new RegExp(`\n${listRow('db', 2, 2048, 2, '-b----')}\n$`));
});

test.serial('-q creates without a word', async (t) => {
  t.deepEqual(await h.xl('create', '-q', WEB, 'name="quiet"'), { stdout: '', stderr: '', code: 0 });
  t.deepEqual(await h.xl('destroy', 'quiet'), { stdout: '', stderr: '', code: 0 });
});

/** What the real xl 4.17 prints for configs/web.yaml (as xl.cfg, plus a kernel, which xenemu does not need), bar the mac: see src/toolstack/libxl/from-config.ts. */
const WEB_JSON = (uuid: string) => `{
    "c_info": {
        "type": "pvh",
        "name": "web",
        "uuid": "${uuid}",
        "run_hotplug_scripts": "True"
    },
    "b_info": {
        "max_vcpus": 2,
        "avail_vcpus": [
            0,
            1
        ],
        "max_memkb": 524288,
        "target_memkb": 524288,
        "sched_params": {

        },
        "claim_mode": "True",
        "cmdline": "root=/dev/xvda1 ro console=hvc0",
        "type.pvh": {

        },
        "arch_arm": {

        },
        "arch_x86": {

        }
    },
    "disks": [
        {
            "pdev_path": "${join(CONFIGS, 'images', 'web.img')}",
            "vdev": "xvda",
            "format": "raw",
            "readwrite": 1
        }
    ],
    "nics": [
        {
            "devid": 0,
            "mac": "00:16:3e:31:67:9a"
        }
    ],
    "on_reboot": "restart",
    "on_crash": "restart",
    "on_soft_reset": "soft_reset"
}
`;

test.serial('a create that fails half-way (no event channel for the console) exits 3 and leaves nothing, not a paused domain', async (t) => {
  const yaml = scratchFile('few-ports.yaml', 'name: few\ntype: pv\nmemory: 64\nmax_event_channels: 1\n');
  const before = await names();
  const r = await h.xl('create', yaml);
  t.is(r.code, 3);
  t.is(r.stdout, '');
  const m = /^Parsing config from .*\nxenemu: cannot create domain 'few': domain (\d+) has no free event channel \(max_event_channels 1\)\n$/.exec(r.stderr);
  t.truthy(m, r.stderr);
  t.deepEqual(await names(), before);
  t.not((await h.xenemu('xenstore', 'exists', `/local/domain/${m![1]}`)).code, 0);
});

test.serial('a config with a value over 1 MB is refused with a clear error, not ECONNRESET', async (t) => {
  const before = await names();
  const yaml = scratchFile('huge.yaml', `name: huge\ntype: pvh\ndisk:\n  - target: /${'d'.repeat(1_100_000)}\n    vdev: xvda\n`);
  const r = await h.xl('create', yaml);
  t.is(r.code, 1);
  t.is(r.stderr, `Parsing config from ${yaml}\n${yaml}:1:1: the config file is 1100056 bytes; xenemu reads configs of at most 1048576 bytes (1 MiB)\n`);
  const small = scratchFile('long-value.yaml', `name: long\ntype: pvh\ndisk:\n  - target: /${'d'.repeat(500_000)}\n    vdev: xvda\n`);
  const s = await h.xenemu('create', small);
  t.is(s.code, 1);
  t.is(s.stderr, `Parsing config from ${small}\n${small}:4:13: disk[0].target: the value is 500001 bytes; a config value may be at most 4096 bytes\n`);
  t.deepEqual(await names(), before);
});

test.serial('-n prints the libxl JSON of the config (xl create -n) and creates nothing, with no daemon needed', async (t) => {
  // A state dir with no daemon: the dry run must not start one.
  const home = tempHome();
  const env = { ...h.env, XENEMU_HOME: home };
  const r = await runNode(XL_JS, ['create', '-n', WEB], env);
  t.is(r.code, 0);
  t.is(r.stderr, `Parsing config from ${WEB}\n`);
  const uuid = /"uuid": "([0-9a-f-]{36})"/.exec(r.stdout)?.[1] ?? 'none';
  t.is(r.stdout, WEB_JSON(uuid));
  t.false(existsSync(statePaths(home).control), 'no daemon was started');
  // xl's global -N does the same, and so does xenemu's --dry-run.
  for (const other of [await h.xl('-N', 'create', WEB), await h.xenemu('create', '--dry-run', WEB)]) {
    t.is(other.stdout, WEB_JSON(/"uuid": "([0-9a-f-]{36})"/.exec(other.stdout)?.[1] ?? 'none'));
  }
  t.deepEqual(await names(), ['Domain-0', 'web', 'db']);
});

test('-n of db.yaml: hard affinity per vCPU, weight, rate, a disk without discard (as the real xl prints them)', async (t) => {
  const r = await h.xl('create', '-n', DB);
  const config = JSON.parse(r.stdout) as Record<string, Record<string, unknown>>;
  t.is(config.c_info!.uuid, '3f2b6c1e-8a4d-4b7e-9c21-5d0e7a9b4f13');
  t.deepEqual(config.b_info!.vcpu_hard_affinity, [[0, 1, 2, 3], [0, 1, 2, 3], [0, 1, 2, 3], [0, 1, 2, 3]]);
  t.deepEqual(config.b_info!.sched_params, { weight: 512 });
  t.is(config.b_info!.cmdline, 'root=/dev/xvda1 console=hvc0 elevator=noop');
  t.deepEqual(config.nics, [{ devid: 0, mac: '00:16:3e:5f:48:e4', rate_bytes_per_interval: 625000, rate_interval_usecs: 50000 }] as never);
  t.deepEqual((config.disks as unknown as Record<string, unknown>[])[1], { pdev_path: join(CONFIGS, 'images', 'db-data.img'), vdev: 'xvdb', format: 'raw', readwrite: 1, discard_enable: 'False' });
  t.like(config, { on_reboot: 'restart', on_crash: 'preserve', on_soft_reset: 'soft_reset' } as never);
});

test('no config file: xl\'s message and status 6; an unreadable one: status 3', async (t) => {
  t.deepEqual(await h.xl('create'), { stdout: '', stderr: 'Config file not specified and none in save file\n', code: 6 });
  t.deepEqual(await h.xenemu('create', '/nonexistent/x.cfg'), { stdout: '', stderr: 'Failed to read config file: /nonexistent/x.cfg: No such file or directory\n', code: 3 });
  // -f names the file too; a second file prints the help (status 2), as main_create.
  t.is((await h.xl('create', '-n', '-f', WEB)).code, 0);
  const two = await h.xl('create', WEB, DB);
  t.is(two.code, 2);
  t.true(two.stdout.startsWith('Usage: xl [-vtTfN] create <ConfigFile> [options] [vars]\n'));
});

test('an ordinary HVM config creates without warnings, as xl; -v shows xenemu\'s notes (not emulated, deprecated)', async (t) => {
  const cfg = scratchFile(
    'hvm.cfg',
    'name = "win"\ntype = "hvm"\nmemory = 256\ndisk = [ "phy:/dev/vg/win,hda,w", "file:/tmp/cd.iso,hdc:cdrom,r" ]\nvnc = 1\nserial = "pty"\nacpi = 1\n',
  );
  for (const run of [h.xl, h.xenemu]) {
    const quiet = await run('create', '-n', cfg);
    t.is(quiet.code, 0, quiet.stderr);
    t.is(quiet.stderr, `Parsing config from ${cfg}\n`);
  }
  const notes = [
    `xenemu: warning: ${cfg}:5:1: vnc: vnc is not emulated by xenemu and was ignored`,
    `xenemu: warning: ${cfg}:6:1: serial: serial is not emulated by xenemu and was ignored`,
    `xenemu: warning: ${cfg}:7:1: acpi: acpi is not emulated by xenemu and was ignored`,
    `xenemu: warning: ${cfg}:4:11: disk[0]: the "phy:" prefix is deprecated and ignored`,
    `xenemu: warning: ${cfg}:4:36: disk[1]: the "file:" prefix is deprecated and ignored`,
  ];
  for (const r of [await h.xl('-v', 'create', '-n', cfg), await h.xenemu('create', '-v', '-n', cfg)]) {
    t.is(r.code, 0, r.stderr);
    t.is(r.stderr, `Parsing config from ${cfg}\n${notes.join('\n')}\n`);
  }
});

test('a key xl does not know (xen-create-image\'s dhcp) is ignored as xl ignores it, with a warning that names it', async (t) => {
  const cfg = scratchFile(
    'deb.cfg',
    "bootloader = 'pygrub'\nvcpus = '2'\nmemory = '256'\nroot = '/dev/xvda2 ro'\nname = 'deb1'\ndhcp = 'dhcp'\nvif = [ 'mac=00:16:3E:68:7F:D4,bridge=xenbr0' ]\n",
  );
  for (const run of [h.xl, h.xenemu]) {
    const r = await run('create', '-n', cfg);
    t.is(r.code, 0, r.stderr);
    t.is(r.stderr, `Parsing config from ${cfg}\nxenemu: warning: ${cfg}:6:1: dhcp: unknown key: xl.cfg(5) has no such key; ignored, as xl ignores it\n`);
    t.like(JSON.parse(r.stdout), { c_info: { name: 'deb1' }, b_info: { max_memkb: 262144, bootloader: 'pygrub' } });
  }
});

test('-n prints what a vif or disk spells out even at its default, as parse_nic_config and xlu_disk_parse set it', async (t) => {
  const cfg = scratchFile(
    'given.cfg',
    [
      'name = "given"',
      'type = "hvm"',
      'memory = 128',
      "vif = [ 'mac=00:16:3e:00:00:01, bridge=xenbr0, script=vif-bridge, mtu=1500, backend=0, type=ioemu, model=rtl8139', 'mac=00:16:3e:00:00:02' ]",
      "disk = [ 'vdev=xvda, discard, specification=xen, target=/dev/null', ',hdc:cdrom,r', 'vdev=hdd, devtype=cdrom' ]",
      '',
    ].join('\n'),
  );
  const r = await h.xl('create', '-n', cfg);
  t.is(r.code, 0, r.stderr);
  const config = JSON.parse(r.stdout) as { nics: unknown[]; disks: unknown[] };
  t.deepEqual(config.nics, [
    { backend_domname: '0', devid: 0, mtu: 1500, model: 'rtl8139', mac: '00:16:3e:00:00:01', bridge: 'xenbr0', script: 'vif-bridge', nictype: 'vif_ioemu' },
    { devid: 1, mac: '00:16:3e:00:00:02' },
  ]);
  t.deepEqual(config.disks, [
    { pdev_path: '/dev/null', vdev: 'xvda', format: 'raw', readwrite: 1, discard_enable: 'True', specification: 'xen' },
    { pdev_path: '', vdev: 'hdc', format: 'empty', removable: 1, is_cdrom: 1 },
    { vdev: 'hdd', format: 'empty', removable: 1, is_cdrom: 1 },
  ]);
});

test('-n prints the HVM keys xenemu reads but does not emulate where xl puts them (vnc, serial, boot, acpi, vga, viridian bitmaps)', async (t) => {
  const cfg = scratchFile(
    'hvm-keys.cfg',
    'name = "win"\ntype = "hvm"\nmemory = 128\nvnc = 1\nvnclisten = "0.0.0.0"\nserial = "pty"\nboot = "dc"\nacpi = 1\nlocaltime = 1\nstdvga = 0\nusbdevice = [ "tablet" ]\nviridian = [ "defaults", "!hcall_ipi" ]\n',
  );
  const r = await h.xl('create', '-n', cfg);
  t.is(r.code, 0, r.stderr);
  const b = (JSON.parse(r.stdout) as { b_info: Record<string, unknown> }).b_info;
  t.like(b, { acpi: 'True', localtime: 'True' });
  t.deepEqual(b['type.hvm'], {
    viridian: 'True',
    viridian_disable: [9],
    vga: { kind: 'cirrus' },
    vnc: { enable: 'True', listen: '0.0.0.0' },
    sdl: {},
    spice: {},
    serial: 'pty',
    boot: 'dc',
    usbdevice_list: ['tablet'],
    rdm: {},
  });
});

test('-n turns vfb= items, and a PV guest\'s top-level vnc, into vfb and vkb devices numbered by place', async (t) => {
  const vfb = async (lines: string) => {
    const r = await h.xl('create', '-n', scratchFile('fb.cfg', `name = "fb"\nmemory = 128\n${lines}`));
    t.is(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout) as { vfbs?: unknown[]; vkbs?: unknown[] };
    return [c.vfbs, c.vkbs];
  };
  t.deepEqual(await vfb('vfb = [ "vnc=1,vnclisten=0.0.0.0,keymap=de", "sdl=1" ]\n'), [
    [
      { devid: 0, vnc: { enable: 'True', listen: '0.0.0.0' }, sdl: {}, keymap: 'de' },
      { devid: 1, vnc: {}, sdl: { enable: 'True' } },
    ],
    [{ devid: 0 }, { devid: 1 }],
  ]);
  t.deepEqual(await vfb('vnc = 1\nvncdisplay = 2\n'), [[{ devid: 0, vnc: { enable: 'True', display: 2 }, sdl: {} }], [{ devid: 0 }]]);
  t.deepEqual(await vfb('vnc = 0\n'), [undefined, undefined]);
});

test('cpus = "node:0" is every host CPU, as "all" is (the host is one NUMA node)', async (t) => {
  const affinity = async (cpus: string) => {
    const r = await h.xl('create', '-n', scratchFile('numa.cfg', `name = "numa"\nmemory = 128\nvcpus = 2\ncpus = "${cpus}"\n`));
    t.is(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { b_info: { vcpu_hard_affinity: number[][] } }).b_info.vcpu_hard_affinity;
  };
  const all = await affinity('all');
  t.true(all[0]!.length > 0);
  t.deepEqual(await affinity('node:0'), all);
  t.deepEqual(await affinity('nodes:0-1,^0'), all.map((cpus) => cpus.slice(1)));
});

// ---- the daemon reads the file (domain.createFile) ---------------------------------------
// With a daemon running, create hands it the file's absolute path and the file as typed,
// and prints what it answers; the CLI loads neither YAML nor zod for that.

/** A directory to run in, with vm/<name> files (configs, and 1 MiB disk images). */
function workDir(files: Record<string, string>): string {
  const cwd = scratch();
  mkdirSync(join(cwd, 'vm'));
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(cwd, 'vm', name), text);
    if (name.endsWith('.img')) truncateSync(join(cwd, 'vm', name), 1 << 20);
  }
  return cwd;
}

test.serial('a config named relative to the command\'s directory: named as typed, its disks resolved against its own directory', async (t) => {
  const cwd = workDir({ 'rel.yaml': 'name: rel\ntype: pvh\nmemory: 64\ndisk:\n  - target: rel.img\n    vdev: xvda\n', 'rel.img': '', 'bad.yaml': 'name: bad\nmemory: lots\n' });
  const created = await runNode(RUN_JS, ['create', '-p', 'vm/rel.yaml'], h.env, cwd);
  t.deepEqual(created, { stdout: '', stderr: 'Parsing config from vm/rel.yaml\n', code: 0 });
  t.true((await h.xenemu('list', '-l', 'rel')).stdout.includes(`"pdev_path": "${join(cwd, 'vm', 'rel.img')}"`));
  t.deepEqual(await runNode(RUN_JS, ['create', 'vm/bad.yaml'], h.env, cwd), {
    stdout: '',
    stderr: 'Parsing config from vm/bad.yaml\nvm/bad.yaml:2:9: memory: expected a number, got the string "lots"\n',
    code: 1,
  });
  t.is((await h.xl('destroy', 'rel')).code, 0);
});

test.serial('warnings come first, then the failure of the create (exit 3), as xl orders them', async (t) => {
  const yaml = scratchFile('multicast.yaml', 'name: mc\ntype: pvh\nmemory: 64\nvif:\n  - mac: "01:16:3e:00:00:01"\n');
  const warning = `xenemu: warning: ${yaml}:5:5: vif[0]: mac 01:16:3e:00:00:01 is a multicast address: a NIC needs a unicast one (clear bit 0 of the first byte)\n`;
  t.deepEqual(await h.xenemu('create', '-p', yaml), { stdout: '', stderr: `Parsing config from ${yaml}\n${warning}`, code: 0 });
  const again = await h.xl('create', '-p', yaml);
  t.is(again.code, 3);
  t.regex(again.stderr, new RegExp(`^Parsing config from ${lit(yaml)}\n${lit(warning)}xenemu: domain 'mc' already exists with ID \\d+\n$`));
  t.is((await h.xl('destroy', 'mc')).code, 0);
});

/** The modules a command loads (a loader hook records each URL). */
const TRACES = scratch();
let traces = 0;
async function modulesLoaded(args: readonly string[]): Promise<{ outcome: Awaited<ReturnType<typeof runNode>>; urls: string[] }> {
  const dir = join(TRACES, String(traces++));
  mkdirSync(dir);
  const trace = join(dir, 'trace');
  writeFileSync(trace, '');
  writeFileSync(join(dir, 'hook.mjs'), `import { appendFileSync } from 'node:fs';\nexport async function load(url, ctx, next) { appendFileSync(${JSON.stringify(trace)}, url + '\\n'); return next(url, ctx); }\n`);
  writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hook.mjs')).href)});\n`);
  const outcome = await runNode(RUN_JS, args, { ...h.env, NODE_OPTIONS: `--import ${pathToFileURL(join(dir, 'register.mjs')).href}` });
  return { outcome, urls: readFileSync(trace, 'utf8').split('\n').filter((u) => u !== '') };
}

test.serial('with the daemon running, create loads neither YAML nor zod nor the config reader (a good config and a bad one)', async (t) => {
  const heavy = (u: string): boolean => /\/node_modules\/(yaml|zod)\/|\/toolstack\/config\/(index|yaml|validate|schema)\.js$/.test(u);
  const bad = scratchFile('bad-light.yaml', 'name: bad\nmemory: lots\n');
  for (const args of [['create', '-q', '-p', WEB, 'name="light"', 'memory=64'], ['create', bad]]) {
    const { outcome, urls } = await modulesLoaded(args);
    t.is(outcome.code, args[1] === '-q' ? 0 : 1, outcome.stderr);
    t.true(urls.some((u) => u.endsWith('/compat/xl-commands.js')), 'the trace saw the command');
    t.deepEqual(urls.filter(heavy), [], args.join(' '));
  }
  // The dry run still reads the config itself (what it prints is libxl's JSON of it).
  t.true((await modulesLoaded(['create', '-n', WEB])).urls.some(heavy));
  t.is((await h.xl('destroy', 'light')).code, 0);
});

test.serial('a config on a pipe (/dev/stdin) is read by the CLI; the daemon refuses a FIFO, and a path that is not absolute', async (t) => {
  // A shell's pipe (node's own stdin pipes are sockets, which /dev/stdin does not reopen).
  const yaml = scratchFile('piped.yaml', 'name: piped\ntype: pvh\nmemory: 64\n');
  const r = spawnSync('sh', ['-c', 'cat "$2" | "$0" "$1" create -p /dev/stdin', process.execPath, RUN_JS, yaml], { env: h.env, encoding: 'utf8' });
  t.deepEqual({ stdout: r.stdout, stderr: r.stderr, code: r.status }, { stdout: '', stderr: 'Parsing config from /dev/stdin\n', code: 0 });
  t.is((await h.xl('destroy', 'piped')).code, 0);
  // Asked directly, the daemon answers at once (no writer will ever come) and creates nothing.
  const fifo = join(TRACES, 'cfg.yaml');
  execFileSync('mkfifo', [fifo]);
  const client = await h.client();
  t.deepEqual(await client.createFile({ file: fifo, label: 'cfg.yaml', overrides: [], paused: true }), {
    outcome: 'invalid',
    issues: [{ file: 'cfg.yaml', line: 1, column: 1, key: '', message: 'cannot read the config file: not a regular file' }],
  });
  await t.throwsAsync(client.createFile({ file: 'vm/x.yaml', label: 'x', overrides: [], paused: true }), { message: /params\.file: must be an absolute path/ });
  t.false((await names()).includes('piped'));
});

test.serial('what xl takes and libxl builds, xenemu creates: maxmem under memory, vcpus = 0, a vif with a bad mac; over 128 vCPUs the create fails (exit 3)', async (t) => {
  // maxmem below memory: built with memory (libxl__build_pre's maximum is the target), maxmem is memory/static-max.
  const mem = scratchFile('undermax.cfg', 'name = "undermax"\nkernel = "/k"\nmemory = 96\nmaxmem = 64\n');
  const r1 = await h.xl('create', mem);
  t.is(r1.code, 0, r1.stderr);
  t.regex(r1.stderr, /maxmem: maxmem \(64 MiB\) is less than memory \(96 MiB\)/);
  const read = async (path: string) => (await h.xenemu('xenstore', 'read', path)).stdout.trim();
  const undermax = (await h.xl('domid', 'undermax')).stdout.trim();
  t.is(await read(`/local/domain/${undermax}/memory/static-max`), String(64 * 1024));
  t.is(await read(`/local/domain/${undermax}/memory/target`), String(96 * 1024));
  t.is((await (await h.client()).list([undermax]))[0]!.currentMemKb, 96 * 1024);

  // vcpus = 0: libxl's max_vcpus 1, vCPU 0 runs, its availability says offline; xl prints nothing.
  const zero = scratchFile('zero.cfg', 'name = "zero"\nkernel = "/k"\nmemory = 64\nvcpus = 0\nvif = [ "mac=00:16:3e:zz:00:01,bogus=1" ]\n');
  const r2 = await h.xl('create', zero);
  t.is(r2.code, 0, r2.stderr);
  const zeroId = (await h.xl('domid', 'zero')).stdout.trim();
  t.is((await (await h.client()).list([zeroId]))[0]!.vcpusOnline, 1);
  t.is(await read(`/local/domain/${zeroId}/cpu/0/availability`), 'offline');
  t.is(await read(`/local/domain/${zeroId}/device/vif/0/mac`), '00:16:3e:00:00:00');
  t.regex(r2.stderr, /vif\[0\]: invalid mac "00:16:3e:zz:00:01".*\n.*vif\[0\]: unrecognized argument "bogus=1"/);

  // 129 vCPUs: xl prints the config; the hypervisor refuses the domain, as Xen refuses an HVM guest's.
  const many = scratchFile('many.cfg', 'name = "many"\nkernel = "/k"\nmemory = 64\nvcpus = 129\n');
  t.is((await h.xl('create', '-n', many)).code, 0);
  const r3 = await h.xl('create', many);
  t.is(r3.code, 3);
  t.regex(r3.stderr, /\nxenemu: cannot create domain 'many': max_vcpus 129 is out of range: the hypervisor runs 1 to 128 vCPUs per domain\n$/);
  t.false((await names()).includes('many'));
  for (const d of ['undermax', 'zero']) t.is((await h.xl('destroy', d)).code, 0);
});
