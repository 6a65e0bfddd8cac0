import test from 'ava';
import type { XlDomainRow } from '../../src/toolstack/libxl/rows.js';
import { formatCommandHelp } from '../../src/ui/xl/index.js';
import { assertXlBuilt, scratchFile, xlHost, XL_JS, type Outcome, type XlHost } from './helpers.js';
import { oracle, realXl } from './real-xl-oracle.js';

// The read-only listers of what the emulated host has none of (pci-list, usb-list,
// vtpm-list, vkb-list, vdispl-list, vsnd-list, channel-list, pci-assignable-list),
// claims and getenforce, through the xl shim: xl 4.17's bytes and exit statuses
// (tools/xl/xl_pci.c, xl_usb.c, xl_vtpm.c, xl_vkb.c, xl_vdispl.c, xl_vsnd.c,
// xl_console.c, xl_info.c, xl_flask.c) for a running, a paused and a shut-down guest,
// dom0, a domid no domain has, a name no domain has, and missing arguments. Where the
// real xl can run (real-xl-oracle.ts), it reads this host's XenStore for the same
// domains and must print the same.

assertXlBuilt();

// The headers, as the printf()s of main_vtpmlist, main_vkblist and main_channellist write them.
const VTPM = 'Idx BE Uuid                                 handle state evt-ch ring-ref BE-path   \n';
const VKB = 'Idx BE handle state evt-ch    ref ID         BE-type    BE-path                       \n';
const CHANNEL = 'Idx BE state evt-ch ring-ref connection                               \n';
const PCIBACK = 'libxl: error: libxl_pci.c:444:libxl_device_pci_assignable_list: Looks like pciback driver not loaded\n';

const ok = (stdout: string, stderr = ''): Outcome => ({ stdout, stderr, code: 0 });
/** find_domain(): a name no domain has ends xl (libxl_name_to_domid's ERROR_INVAL). */
const NOSUCH_EXIT = 'nosuch is an invalid domain identifier (rc=-6)\n';
/** libxl_domain_qualifier_to_domid() < 0: named, skipped, status 0. */
const NOSUCH_SKIP = 'nosuch is an invalid domain identifier\n';

/** What each lister prints for one domain that exists, or for a domid, whatever its state: no device. */
const EMPTY: Record<string, Outcome> = {
  'pci-list': ok(''),
  'usb-list': ok(''),
  'vtpm-list': ok(VTPM),
  'vkb-list': ok(VKB),
  'vdispl-list': ok(''),
  'vsnd-list': ok(''),
  'channel-list': ok(CHANNEL),
};

let h: XlHost;
/** The guests' names and ids: running, paused, shut down (on_poweroff = "preserve"). */
const guests: Record<'run' | 'paused' | 'down', number> = { run: -1, paused: -1, down: -1 };

/** A guest whose config names devices xenemu reads but does not emulate: vfb (libxl adds a vkb), channel, vtpm, pci. */
function guestCfg(name: string): string {
  return scratchFile(
    `${name}.cfg`,
    [
      `name = "${name}"`,
      'memory = 64',
      'on_poweroff = "preserve"',
      'vfb = [ "vnc=1" ]',
      'channel = [ "name=org.qemu.guest_agent.0,connection=pty" ]',
      'vtpm = [ "backend=0" ]',
      'pci = [ "0000:00:1f.3" ]',
      '',
    ].join('\n'),
  );
}

test.before(async () => {
  h = await xlHost();
  for (const [name, args] of [
    ['run', []],
    ['paused', ['-p']],
    ['down', []],
  ] as const) {
    const r = await h.xl('create', '-q', ...args, guestCfg(name));
    if (r.code !== 0) throw new Error(`create ${name}: ${r.stderr}`);
  }
  const c = await h.client();
  for (const name of Object.keys(guests) as Array<keyof typeof guests>) guests[name] = await c.domid(name);
  await h.until((rs) => rs.some((r) => r.name === 'down' && r.stateFlags.blocked), 'down booted');
  const r = await h.xl('shutdown', 'down');
  if (r.code !== 0) throw new Error(`shutdown: ${r.stderr}`);
  await h.until((rs) => rs.some((r) => r.name === 'down' && r.stateFlags.shutdown), 'down shut down');
});

test.after.always(async () => {
  await h?.dispose();
});

/** The domains the listers are tried on by name (the oracle test tries the guests by id): the guests, dom0 both ways, a domid no domain has. */
const REFS = [...Object.keys(guests), '0', 'Domain-0', '99'];
/** The domains both xls know: the guests by id, dom0 both ways, a domid no domain has. */
const ids = (): string[] => [...Object.values(guests).map(String), '0', 'Domain-0', '99'];
/** The listers of one domain; the others take several. */
const ONE_DOMAIN = ['pci-list', 'usb-list'];

test('each lister, on every guest state, dom0 and a free domid: its header alone (or nothing), status 0', async (t) => {
  const rows = await (await h.client()).list();
  const state = (name: string): XlDomainRow['stateFlags'] | undefined => rows.find((r) => r.name === name)?.stateFlags;
  t.like(state('paused'), { paused: true });
  t.like(state('down'), { shutdown: true });
  for (const [verb, expected] of Object.entries(EMPTY)) {
    // The listers of several domains print one header, then nothing for each.
    const calls = ONE_DOMAIN.includes(verb) ? REFS.map((ref) => [ref]) : [REFS, [...REFS].reverse()];
    for (const args of calls) t.deepEqual(await h.xl(verb, ...args), expected, `xl ${verb} ${args.join(' ')}`);
  }
  // pci-list reads its first operand only.
  t.deepEqual(await h.xl('pci-list', 'run', 'nosuch'), ok(''));
});

test('a name no domain has: find_domain() ends pci-list, usb-list, vkb-list and channel-list (status 1, after the header); the others name it and go on', async (t) => {
  t.deepEqual(await h.xl('pci-list', 'nosuch'), { stdout: '', stderr: NOSUCH_EXIT, code: 1 });
  t.deepEqual(await h.xl('usb-list', 'nosuch'), { stdout: '', stderr: NOSUCH_EXIT, code: 1 });
  // The domain is looked up before the surplus operand is refused.
  t.deepEqual(await h.xl('usb-list', 'nosuch', 'x'), { stdout: '', stderr: NOSUCH_EXIT, code: 1 });
  t.deepEqual(await h.xl('usb-list', 'run', 'x'), { stdout: '', stderr: 'Invalid arguments.\n', code: 255 });
  t.deepEqual(await h.xl('vkb-list', 'run', 'nosuch', 'paused'), { stdout: VKB, stderr: NOSUCH_EXIT, code: 1 });
  t.deepEqual(await h.xl('channel-list', '0', 'nosuch', 'down'), { stdout: CHANNEL, stderr: NOSUCH_EXIT, code: 1 });
  t.deepEqual(await h.xl('vtpm-list', 'run', 'nosuch', 'down'), { stdout: VTPM, stderr: NOSUCH_SKIP, code: 0 });
  t.deepEqual(await h.xl('vdispl-list', 'nosuch', '0', 'nosuch'), { stdout: '', stderr: NOSUCH_SKIP + NOSUCH_SKIP, code: 0 });
  t.deepEqual(await h.xl('vsnd-list', 'nosuch'), { stdout: '', stderr: NOSUCH_SKIP, code: 0 });
});

test('missing arguments, -h and a bad option: def_getopt()\'s help and statuses', async (t) => {
  for (const verb of Object.keys(EMPTY)) {
    t.deepEqual(await h.xl(verb), { stdout: formatCommandHelp(verb), stderr: `'xl ${verb}' requires at least 1 argument.\n\n`, code: 2 }, verb);
    t.deepEqual(await h.xl(verb, '-h'), ok(formatCommandHelp(verb)), `${verb} -h`);
    t.deepEqual(await h.xl(verb, '-n', '0'), { stdout: '', stderr: "option `n' not supported.\n", code: 2 }, `${verb} -n`);
  }
  t.deepEqual(await h.xl('claims', '-x'), { stdout: '', stderr: "option `x' not supported.\n", code: 2 });
  t.deepEqual(await h.xl('pci-assignable-list', '--help'), ok(formatCommandHelp('pci-assignable-list')));
  t.deepEqual(await h.xl('-N', 'claims'), { stdout: '', stderr: 'command does not implement -N (dryrun) option\n', code: 1 });
});

test('pci-assignable-list: dom0 has no pciback driver, which libxl logs; nothing is listed, status 0, with or without -n', async (t) => {
  for (const args of [[], ['-n'], ['--show-names'], ['ignored']]) t.deepEqual(await h.xl('pci-assignable-list', ...args), ok('', PCIBACK), args.join(' '));
});

test('claims: xl list\'s lines of every domain with a Claimed column of 0 (the emulated hypervisor has no claims)', async (t) => {
  const claims = await h.xl('claims', 'ignored');
  t.is(claims.code, 0, claims.stderr);
  t.is(claims.stderr, '');
  const lines = claims.stdout.split('\n');
  t.is(lines[0], 'Name                                        ID   Mem VCPUs\tState\tTime(s)  Claimed');
  t.is(lines.length, 2 + 4, claims.stdout);
  // The columns before Claimed are xl list's (Time(s) may have moved between the two calls).
  const list = (await h.xl('list')).stdout.split('\n');
  const time = (s: string): string => s.replace(/ {2}[ 0-9]{6}\.[0-9]/, '  T');
  for (let i = 1; i < lines.length - 1; i++) {
    t.true(lines[i]!.endsWith('     0'), lines[i]);
    t.is(time(lines[i]!.slice(0, -6)), time(list[i]!));
  }
});

test('getenforce: Xen without FLASK answers ENOSYS, which xl prints on stdout and returns -1 (255); it reads no options', async (t) => {
  for (const args of [[], ['-h'], ['--bogus', 'x']]) t.deepEqual(await h.xl('getenforce', ...args), { stdout: 'Flask XSM Disabled\n', stderr: '', code: 255 }, args.join(' '));
});

oracle('the real xl 4.17, reading this host\'s XenStore for the guests by id and dom0, prints the same', async (t) => {
  const shim = async (args: string[]): Promise<Outcome> => {
    const r = await h.xl(...args);
    return { ...r, stderr: r.stderr.split(XL_JS).join('xl') };
  };
  // The real xl knows the guests by id only (its fake libxc lists dom0 alone).
  const cases: string[][] = [];
  for (const verb of Object.keys(EMPTY)) {
    if (ONE_DOMAIN.includes(verb)) cases.push(...ids().map((id) => [verb, id]), [verb, 'nosuch']);
    else cases.push([verb, ...ids()], [verb, 'nosuch', ...ids()], [verb, ...ids(), 'nosuch']);
    cases.push([verb]);
  }
  cases.push(['usb-list', '0', 'x'], ['pci-assignable-list'], ['pci-assignable-list', '-n'], ['claims', '-h'], ['getenforce'], ['getenforce', '-h']);
  for (const args of cases) t.deepEqual(await shim(args), await realXl(h, args), `xl ${args.join(' ')}`);
  // claims: the header and the Claimed column; the rows are each host's own.
  const [real, ours] = [await realXl(h, ['claims']), await shim(['claims'])];
  t.is(real.code, 0, real.stderr);
  t.is(ours.stdout.split('\n')[0], real.stdout.split('\n')[0]);
  t.regex(real.stdout, /\nDomain-0 {37}0 .* {5}0\n$/);
  t.regex(ours.stdout, /\nDomain-0 {37}0 .* {5}0\n/);
});
