import test from 'ava';
import { ConfigError, formatIssue, parseDomainConfigText, warningsToShow, type DomainConfig } from '../../src/toolstack/config/index.js';
import { parseXlCfgSettings, resolveSettings } from '../../src/toolstack/config/xlcfg-syntax.js';

/** The effective settings of an xl.cfg text, as plain values. */
function settings(text: string): Record<string, unknown> {
  const plain = (v: { kind: string; value?: string; items?: unknown[] }): unknown =>
    v.kind === 'string' ? v.value : (v.items as { kind: string }[]).map((i) => plain(i as never));
  return Object.fromEntries([...resolveSettings(parseXlCfgSettings(text, 't.cfg'))].map(([k, s]) => [k, plain(s.value)]));
}

function config(text: string, overrides: string[] = []): DomainConfig {
  return parseDomainConfigText(text, 'xlcfg', 'vm.cfg', { overrides }).config;
}

function error(text: string, overrides: string[] = []): string {
  try {
    parseDomainConfigText(text, 'xlcfg', 'vm.cfg', { overrides });
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error('no error');
}

// The grammar of libxlu_cfg_y.y / libxlu_cfg_l.l, one feature per row.
const GRAMMAR: [string, string, Record<string, unknown>][] = [
  ['newline-separated settings', 'name="h0"\ntype="hvm"\n', { name: 'h0', type: 'hvm' }],
  ['semicolon-separated settings (xl.cfg(5))', 'name="h0"; type="hvm"', { name: 'h0', type: 'hvm' }],
  ['no newline after the last setting', 'name = "a"', { name: 'a' }],
  ['empty statements', ';;\n\nname = "a";;\n', { name: 'a' }],
  ['single and double quotes', `a = 'x"y'\nb = "x'y"\n`, { a: 'x"y', b: "x'y" }],
  ['escapes in strings', String.raw`a = "q\"q\\b\tn\n"` + '\n', { a: 'q"q\\b\tn\n' }],
  ['numbers are kept as text', 'a = 0x1f\nb = 0755\nc = 12\n', { a: '0x1f', b: '0755', c: '12' }],
  ['comments, also after values and at the end without a newline', '# c\na = 1 # one\n#end', { a: '1' }],
  ['lists with newlines, comments and a trailing comma', 'l = [\n  "a", # first\n  2,\n]\n', { l: ['a', '2'] }],
  ['empty and nested lists', 'e = []\nn = [ [ "a" ], [] ]\n', { e: [], n: [['a'], []] }],
  ['keys with dots and digits', 'xenemu.hz = 250\nspice_port2 = 1\n', { 'xenemu.hz': '250', spice_port2: '1' }],
  ['a later setting wins', 'a = "1"\na = "2"\n', { a: '2' }],
  ['+= appends strings', 'a = "x"\na += "y"\na += 1\n', { a: 'xy1' }],
  ['+= appends lists', 'l = [ "a" ]\nl += [ "b", "c" ]\n', { l: ['a', 'b', 'c'] }],
  ['+= without an earlier value sets it', 'l += [ "a" ]\n', { l: ['a'] }],
  ['blanks and tabs anywhere between tokens', ' \tname\t=\t"a" \t\n', { name: 'a' }],
];

for (const [what, text, expected] of GRAMMAR) {
  test(`xl.cfg grammar: ${what}`, (t) => {
    t.deepEqual(settings(text), expected);
  });
}

// Bad input: the exact message, with file:line:column and the key.
const ERRORS: [string, string, string][] = [
  ['two values', 'name = "web"\nmemory = 512 512\n', 'vm.cfg:2:14: memory: syntax error near the number 512: expected the end of the line or ";" after the value of memory'],
  ['a missing "="', 'name = "web"\nmemory 512\n', 'vm.cfg:2:8: memory: syntax error near the number 512: expected "=" after memory'],
  ['a missing comma', 'name = "web"\ndisk = [ "a,,xvda" "b,,xvdb" ]\n', 'vm.cfg:2:20: disk: syntax error near the string "b,,xvdb": expected "," or "]" in the list opened at line 2, column 8'],
  ['an unclosed list', 'name = "web"\ndisk = [ "a,,xvda",\n', 'vm.cfg:2:8: disk: the list opened here is not closed: add "]"'],
  ['a list starting with a comma', 'name = "web"\ndisk = [ , ]\n', 'vm.cfg:2:10: disk: syntax error near `,\': a list cannot start with ","'],
  ['two commas', 'name = "web"\ndisk = [ "a,,xvda",, ]\n', 'vm.cfg:2:20: disk: syntax error near `,\': two commas in a row; remove one'],
  ['an unterminated string', 'name = "web\n', 'vm.cfg:1:8: name: unterminated string: close it with " on the same line (strings cannot span lines; write \\n for a newline)'],
  ['a numeric escape', "name = 'web\\x41'\n", 'vm.cfg:1:12: name: invalid escape \\x in quoted string: numeric escapes are not supported (xl 4.17 misreads them); write the character itself'],
  ['an unknown escape', "name = 'web\\q'\n", 'vm.cfg:1:12: name: invalid escape \\q in quoted string: use one of \\" \\\' \\\\ \\a \\b \\f \\n \\r \\t \\v'],
  ['a missing value', 'name = "web"\nmemory = \n', 'vm.cfg:2:10: memory: syntax error near the end of the line: expected a value: a "string", a number or a [ list ]'],
  ['an unquoted string', 'name = web\n', 'vm.cfg:1:8: name: syntax error near `web\': strings must be quoted, e.g. name = "web"'],
  ['Python\'s True for a boolean', 'name = "web"\nacpi = True\n', 'vm.cfg:2:8: acpi: lexical error near `True\': xl.cfg has no true/false; a boolean is a number, 1 or 0'],
  ['true for a boolean', 'name = "web"\ndriver_domain = true\n', 'vm.cfg:2:17: driver_domain: syntax error near `true\': xl.cfg has no true/false; a boolean is a number, 1 or 0'],
  ['Python', 'name = "web"\nmemory = (512)\n', 'vm.cfg:2:10: memory: lexical error near `(512)\': this looks like Python, which xl.cfg is not since xl replaced xm: write KEY = "string", KEY = number or KEY = [ list ]'],
  ['an upper-case key', 'Name = "a"\n', 'vm.cfg:1:1: lexical error near `Name\': keys are lower case letters, digits, "_" and "." (did you mean "name"?)'],
  ['a unit after a number', 'name = "web"\nmemory = 512M\n', 'vm.cfg:2:13: memory: lexical error near `M\': a number cannot have a unit or letters after it (memory and maxmem are in MiB)'],
  ['CRLF line endings', 'name = "web"\r\nmemory = 512\r\n', 'vm.cfg:1:13: name: carriage return in the file: xl.cfg files use Unix line endings (LF); convert it, e.g. with dos2unix'],
  ['YAML in an xl.cfg', 'name: web\n', 'vm.cfg:1:5: lexical error near `:\': "key: value" is YAML; an xl.cfg says key = value (name a YAML file .yaml)'],
  ['no key', '= "web"\n', 'vm.cfg:1:1: syntax error near `=\': expected a setting, KEY = VALUE'],
  ['a quoted key', '"name" = "web"\n', 'vm.cfg:1:1: syntax error near the string "name": expected a setting, KEY = VALUE'],
  ['a word for a number', 'name = "web"\nmemory = "lots"\n', 'vm.cfg:2:10: memory: "lots" is not a valid number: memory wants a number, e.g. memory = 512'],
  ['a bad octal number', 'name = "web"\nmemory = 09\n', 'vm.cfg:2:10: memory: "09" is not a valid number: memory wants a number'],
  ['a number out of range', 'name = "web"\nmemory = 99999999999999999999\n', 'vm.cfg:2:10: memory: 99999999999999999999 is out of range: memory wants a number'],
  ['a list for a number', 'name = "web"\nmemory = [ 512 ]\n', 'vm.cfg:2:10: memory: must be a number, not a [list]'],
  ['a list for a string', 'name = [ "web" ]\n', 'vm.cfg:1:8: name: must be a single "string", not a [list]'],
  ['a string for a list', 'name = "web"\ndisk = "xvda"\n', 'vm.cfg:2:8: disk: must be a [list], e.g. disk = [ "xvda" ]'],
  ['a nested list of disks', 'name = "web"\ndisk = [ [ "a,,xvda" ] ]\n', 'vm.cfg:2:10: disk[0]: must be a "string", not a nested [list]'],
  ['+= on a number', 'name = "web"\nmemory = 512\nmemory += 512\n', 'vm.cfg:3:1: memory: "+=" cannot be used with numbers; write memory = VALUE'],
  ['+= of a list to a string', 'name = "web"\nextra = "a"\nextra += [ "b" ]\n', 'vm.cfg:3:10: extra: can\'t add a [list] to a "string": += appends a string to a string or a list to a list'],
  ['no name', 'memory = 512\n', 'vm.cfg:1:1: name: is mandatory: every domain needs a name, e.g. name = "web"'],
  ['a misspelt xenemu key', 'name = "web"\nxenemu.hzz = 5\n', 'vm.cfg:2:1: xenemu.hzz: unknown xenemu key (did you mean "xenemu.hz"?): the xenemu keys are xenemu.hz, xenemu.callback, xenemu.events, xenemu.faults'],
  ['builder against type', 'name = "web"\nbuilder = "hvm"\ntype = "pv"\n', 'vm.cfg:2:11: builder: contradicting "builder" and "type" options: builder = "hvm" is type "hvm", but type = "pv"'],
  ['a bad builder', 'name = "web"\nbuilder = "linux"\n', 'vm.cfg:2:11: builder: invalid builder "linux": it is "generic" (pv) or "hvm"; better, write type = "pv", "pvh" or "hvm"'],
  ['a bad type', 'name = "web"\ntype = "pvx"\n', 'vm.cfg:2:8: type: "pvx" is not valid: must be one of pv, pvh, hvm (did you mean "pv"?)'],
  ['more vCPUs than Xen has', 'name = "web"\nvcpus = 8193\n', "vm.cfg:2:9: vcpus: must be at most 8192 (Xen's limit for any guest, MAX_VIRT_CPUS; xenemu runs at most 128)"],
  ['vcpus over maxvcpus', 'name = "web"\nvcpus = 4\nmaxvcpus = 2\n', 'vm.cfg:2:9: vcpus: vcpus (4) is more than maxvcpus (2): raise maxvcpus or lower vcpus'],
  ['a bad action', 'name = "web"\non_crash = "reboot"\n', 'vm.cfg:2:12: on_crash: "reboot" is not valid: must be one of destroy, restart, rename-restart, preserve, coredump-destroy, coredump-restart, soft-reset'],
  ['a CPU list by socket', 'name = "web"\ncpus = "socket:0"\n', 'vm.cfg:2:8: cpus: "socket:0" is not a CPU range: write N, N-M, all, node:N, or ^N to exclude, e.g. "0-3,^2"'],
  ['a bad CPU range', 'name = "web"\ncpus = "0-3,^x"\n', 'vm.cfg:2:8: cpus: "^x" is not a CPU range: write N, N-M, all, node:N, or ^N to exclude, e.g. "0-3,^2"'],
  ['a bad enlightenment', 'name = "web"\ntype = "hvm"\nviridian = [ "base", "turbo" ]\n', 'vm.cfg:3:22: viridian[1]: "turbo" is not an enlightenment: use "defaults", "all", or one of base, freq, time_ref_count, reference_tsc, hcall_remote_tlb_flush, apic_assist, crash_ctl, synic, stimer, hcall_ipi, ex_processor_masks, no_vp_limit, cpu_hotplug, with a "!" in front to turn one off'],
  ['one disk twice', 'name = "web"\ndisk = [ "a.img,,xvda", "b.img,,d0p0" ]\n', 'vm.cfg:2:25: disk[1].vdev: d0p0 is the same device (51712) as disk[0] (xvda)'],
  ['a disk outside the config directory', 'name = "web"\ndisk = [ "../escape.img,,xvda" ]\n', 'vm.cfg:2:10: disk[0].target: "../escape.img" climbs out of the config file\'s directory: relative targets are resolved against that directory; write an absolute path to use an image elsewhere'],
  ['a bad vdev', 'name = "web"\ndisk = [ "a.img,,xvdz99999" ]\n', 'vm.cfg:2:10: disk[0].vdev: "xvdz99999" is not a virtual disk name: use xvdX[N] (xvda, xvdb2, xvdaa), hdX[N] (hda..hdd, partitions up to 63), sdX[N] (sda..sdp, partitions up to 15), dNpM (d0p0), or a device number'],
  ['a disk spec error, at its column', 'name = "web"\ndisk = [ "a.img,raw,xvda,rw,more" ]\n', 'vm.cfg:2:29: disk[0]: too many positional parameters near "more": the order is target, format, vdev, access'],
  ['a name with a blank', 'name = "my web"\n', 'vm.cfg:1:8: name: the name contains " ": use letters, digits, ".", "_" and "-" (the name becomes part of file names and xenstore values)'],
  ['a name starting with "-"', 'name = "-web"\n', 'vm.cfg:1:8: name: the name must not start with "." or "-"'],
  ['a numeric name', 'name = 42\n', 'vm.cfg:1:8: name: the name is all digits, which xl and xenemu read as a domain id: add a letter'],
  ['dom0\'s name', 'name = "Domain-0"\n', 'vm.cfg:1:8: name: Domain-0 is the name of dom0'],
  ['a bad uuid', 'name = "web"\nuuid = "not-a-uuid"\n', 'vm.cfg:2:8: uuid: a uuid is 8-4-4-4-12 hex digits, e.g. 5b0b7f04-2d6c-4d3e-9c1a-0c2f5e8a9d11'],
  ['an event rate of 0', 'name = "web"\nxenemu.events = [ "name=a,rate=0,handler=filter" ]\n', 'vm.cfg:2:19: xenemu.events[0].rate: must be greater than 0'],
  ['an event on a missing vCPU', 'name = "web"\nxenemu.events = [ "name=a,rate=10,handler=filter,vcpu=3" ]\n', 'vm.cfg:2:19: xenemu.events[0].vcpu: vcpu 3 does not exist: the domain has only vCPU 0 (raise maxvcpus to add more)'],
  ['a bad callback', 'name = "web"\nxenemu.callback = "msi"\n', 'vm.cfg:2:19: xenemu.callback: "msi" is not valid: must be one of vector, pci-intx'],
];

for (const [what, text, message] of ERRORS) {
  test(`xl.cfg error: ${what}`, (t) => {
    t.is(error(text), message);
  });
}

test('every error is reported, in source order', (t) => {
  t.is(
    error('name = "web"\nmemory = "lots"\nvcpus = [ 2 ]\n'),
    'vm.cfg:2:10: memory: "lots" is not a valid number: memory wants a number, e.g. memory = 512\n' + 'vm.cfg:3:9: vcpus: must be a number, not a [list]',
  );
});

test('keys xl does not know are ignored, as xl ignores them, each with a warning that always shows (often a typo)', (t) => {
  // xen-create-image's configs carry xm's dhcp; xl reads only the keys it knows.
  const r = parseDomainConfigText('name = "web"\ndhcp = "dhcp"\nmemroy = 512\nmemory = 256\n', 'xlcfg', 'vm.cfg');
  t.like(r.config, { name: 'web', memory: 256 });
  t.deepEqual(
    r.warnings.map((w) => formatIssue(w)),
    [
      'vm.cfg:2:1: dhcp: unknown key: xl.cfg(5) has no such key; ignored, as xl ignores it',
      'vm.cfg:3:1: memroy: unknown key (did you mean "memory"?): xl.cfg(5) has no such key; ignored, as xl ignores it',
    ],
  );
  t.deepEqual(warningsToShow(r.warnings, false), r.warnings);
  // An override on the command line too; xenemu's own keys stay checked.
  t.is(config('name = "web"\n', ['hostname="web"']).name, 'web');
  t.regex(error('name = "web"\nxenemu.hzz = 1\n'), /unknown xenemu key \(did you mean "xenemu.hz"\?\)/);
});

test('ConfigError carries the place and the key of its first issue', (t) => {
  const err = t.throws(() => parseDomainConfigText('name = "web"\nmemory = "x"\n', 'xlcfg', 'vm.cfg'), { instanceOf: ConfigError });
  t.like(err, { file: 'vm.cfg', line: 2, column: 10, key: 'memory', exitStatus: 1, code: 'EINVAL' });
  t.is(err.reason, '"x" is not a valid number: memory wants a number, e.g. memory = 512');
});

test('numbers read as xl reads them: strtol base 0, quoted or not', (t) => {
  t.like(config('name = "a"\nmemory = 0x200\nmaxmem = "01000"\nvcpus = " 2"\n'), { memory: 512, maxmem: 512, vcpus: 2 });
});

test('booleans are numbers: 0 is false, anything else true', (t) => {
  t.true(config('name = "a"\ndriver_domain = 2\n').driver_domain);
  t.false(config('name = "a"\ndriver_domain = 0\n').driver_domain);
});

test('the defaults of xl and libxl', (t) => {
  t.deepEqual(config('name = "a"\n'), {
    name: 'a',
    type: 'pv',
    memory: 32,
    maxmem: 32,
    vcpus: 1,
    maxvcpus: 1,
    cpu_weight: 256,
    cap: 0,
    on_poweroff: 'destroy',
    on_reboot: 'restart',
    on_watchdog: 'destroy',
    on_crash: 'destroy',
    on_soft_reset: 'soft-reset',
    viridian: false,
    max_event_channels: 1023,
    max_grant_frames: 64,
    max_maptrack_frames: 1024,
    driver_domain: false,
    disk: [],
    vif: [],
    xenemu: { hz: 100, callback: 'vector', events: [], faults: [] },
  });
});

test('memory defaults to maxmem and maxmem to memory; maxvcpus to vcpus', (t) => {
  t.like(config('name = "a"\nmaxmem = 1024\n'), { memory: 1024, maxmem: 1024 });
  t.like(config('name = "a"\nmemory = 256\nvcpus = 3\n'), { memory: 256, maxmem: 256, vcpus: 3, maxvcpus: 3 });
});

test('builder is the deprecated spelling of type, with a warning', (t) => {
  const r = parseDomainConfigText('name = "a"\nbuilder = "hvm"\n', 'xlcfg', 'vm.cfg');
  t.is(r.config.type, 'hvm');
  t.deepEqual(r.warnings.map((w) => `${w.line}:${w.column}: ${w.key}: ${w.message}`), ['2:1: builder: builder is deprecated: write type = "hvm"']);
  t.is(config('name = "a"\nbuilder = "generic"\ntype = "pv"\n').type, 'pv');
});

test('keys xl knows but xenemu does not emulate are warnings with their place', (t) => {
  const r = parseDomainConfigText('name = "a"\nvfb = [ "vnc=1" ]\npci = [ "01:00.0" ]\nserial = "pty"\n', 'xlcfg', 'vm.cfg');
  t.deepEqual(
    r.warnings.map((w) => `${w.file}:${w.line}:${w.column}: ${w.key}: ${w.message}`),
    [
      'vm.cfg:2:1: vfb: vfb is not emulated by xenemu and was ignored',
      'vm.cfg:3:1: pci: pci is not emulated by xenemu and was ignored',
      'vm.cfg:4:1: serial: serial is not emulated by xenemu and was ignored',
    ],
  );
});

test('xl\'s own warnings: root and extra under cmdline, bootloader_args as a string', (t) => {
  const r = parseDomainConfigText('name = "a"\ncmdline = "x"\nroot = "/dev/xvda1"\nbootloader = "pygrub"\nbootloader_args = "-q  --x"\n', 'xlcfg', 'vm.cfg');
  t.deepEqual(r.config.bootloader_args, ['-q', '--x']);
  t.deepEqual(
    r.warnings.map((w) => `${w.line}:${w.column}: ${w.key}: ${w.message}`),
    [
      '5:19: bootloader_args: giving bootloader_args as a string is deprecated: write a list, e.g. [ "--quiet" ] (split at blanks)',
      '3:8: root: root is ignored in favour of cmdline (as xl does)',
    ],
  );
});

test('cpus takes a string for every vCPU or a list with one per vCPU', (t) => {
  t.is(config('name = "a"\ncpus = "0-3,^2"\n').cpus, '0-3,^2');
  t.deepEqual(config('name = "a"\nvcpus = 2\ncpus = [ "2", "3-8,^5" ]\n').cpus, ['2', '3-8,^5']);
});

test('viridian takes a boolean or a list of enlightenments', (t) => {
  t.true(config('name = "a"\ntype = "hvm"\nviridian = 1\n').viridian);
  t.deepEqual(config('name = "a"\ntype = "hvm"\nviridian = [ "defaults", "!hcall_ipi" ]\n').viridian, ['defaults', '!hcall_ipi']);
});

// xl create: "key=value arguments after the file override the config file"; xl
// appends them to the file's text, so they are settings that come last.
test('overrides replace settings, in order, and += appends', (t) => {
  const c = config('name = "web"\nmemory = 512\nextra = "console=hvc0"\nvif = [ "bridge=br0" ]\n', ['memory=1024', 'extra+=" quiet"', 'vif=["bridge=br1"]', 'vif+=["bridge=br2"]']);
  t.is(c.memory, 1024);
  t.is(c.extra, 'console=hvc0 quiet');
  t.deepEqual(
    c.vif.map((v) => v.bridge),
    ['br1', 'br2'],
  );
});

test('an override may add a key and use ";" between settings', (t) => {
  t.like(config('name = "web"\n', ['vcpus=2; maxvcpus=4', 'xenemu.hz=1000']), { vcpus: 2, maxvcpus: 4, xenemu: { hz: 1000, callback: 'vector', events: [], faults: [] } });
});

test('errors in overrides name the argument', (t) => {
  t.is(error('name = "web"\n', ['vcpus=2', 'memory=lots']), '<command line>:2:8: memory: syntax error near `lots\': strings must be quoted, e.g. memory = "lots"');
  t.is(error('name = "web"\n', ['memory']), '<command line>:1:1: "memory" is not a KEY=VALUE override (e.g. memory=1024, or \'vif=["bridge=br1"]\')');
  t.is(error('name = "web"\nmemory = 512\n', ['vcpus=2', 'maxvcpus=1']), '<command line>:1:7: vcpus: vcpus (2) is more than maxvcpus (1): raise maxvcpus or lower vcpus');
});

test('the key tables agree with the schema: every mapped key is a schema key, none is both mapped and not emulated', async (t) => {
  const { XL_MAPPED_KEYS, XL_NOT_EMULATED_KEYS } = await import('../../src/toolstack/config/xlcfg.js');
  const { TOP_LEVEL_KEYS, XENEMU_KEYS } = await import('../../src/toolstack/config/schema.js');
  for (const [key, m] of Object.entries(XL_MAPPED_KEYS)) {
    t.false(XL_NOT_EMULATED_KEYS.has(key), key);
    if (m.path.length === 1) t.true(TOP_LEVEL_KEYS.includes(String(m.path[0])), key);
    else t.true(m.path[0] === 'xenemu' && XENEMU_KEYS.includes(String(m.path[1])), key);
  }
  // and every schema key can be written in an xl.cfg
  const mapped = new Set(Object.values(XL_MAPPED_KEYS).map((m) => m.path.join('.')));
  for (const k of TOP_LEVEL_KEYS) if (k !== 'xenemu') t.true(mapped.has(k), k);
  for (const k of XENEMU_KEYS) t.true(mapped.has(`xenemu.${k}`), k);
});
