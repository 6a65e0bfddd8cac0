import test from 'ava';
import { join } from 'node:path';
import { connectXsClient } from '../../src/client/xs-socket.js';
import { MAX_DEBUG_KEYS } from '../../src/protocol/domain-rpc.js';
import { formatCommandHelp } from '../../src/ui/xl/index.js';
import { assertXlBuilt, CONFIGS, xlHost, type XlHost } from './helpers.js';

// xl debug-keys (xl_misc.c main_debug_keys, XEN_SYSCTL_debug_keys): each key's handler
// prints to the hypervisor console in Xen 4.17's printk formats, and `xl dmesg` shows
// it. The guest, web, has a disk and a NIC connected to dom0's backends, so there are
// interdomain event channels and mapped grants to see. Serial: the tests share the
// console, which each clears first.

let h: XlHost;
let web: number;

test.before(async () => {
  assertXlBuilt();
  h = await xlHost();
  const r = await h.xl('create', '-q', join(CONFIGS, 'web.yaml'));
  if (r.code !== 0) throw new Error(r.stderr);
  await h.disksConnected('web');
  await h.nicsConnected('web', 1);
  web = await (await h.client()).domid('web');
});

test.after.always(async () => {
  await h?.dispose();
});

/** Press `keys` (through the xl shim, or `xenemu debug-keys`) on a cleared console; return what they printed, "(XEN) " cut. */
async function press(keys: string, via: 'xl' | 'xenemu' = 'xl'): Promise<string[]> {
  await h.xl('dmesg', '-c');
  const r = via === 'xl' ? await h.xl('debug-keys', keys) : await h.xenemu('debug-keys', keys);
  if (r.code !== 0 || r.stdout !== '' || r.stderr !== '') throw new Error(`debug-keys ${keys}: ${JSON.stringify(r)}`);
  const out = await h.xl('dmesg');
  const lines = out.stdout.split('\n').slice(0, -1);
  for (const l of lines) if (!l.startsWith('(XEN) ')) throw new Error(`not a hypervisor console line: ${l}`);
  // Other console traffic (a guest's CONSOLEIO line) could interleave; the handlers' own lines are all that is expected here.
  return lines.map((l) => l.slice('(XEN) '.length));
}

// Each line shape, from the printk format strings (%4u is right-aligned in 4, %05lx zero-padded...).
const SHAPES = {
  e: [
    /^'e' pressed -> dumping event-channel info$/,
    /^Event channel information for domain \d+:$/,
    /^Polling vCPUs: \{[\d,-]*\}$/,
    /^ {4}port \[p\/m\/s\]$/,
    /^ {4}(?: {3}\d| {2}\d{2}| \d{3}|\d{4,}) \[[01]\/[01]\/[01]\]: s=[2-6] n=\d+ x=\d+(?: d=\d+| d=\d+ p=\d+| p=\d+ i=-?\d+| v=\d+)?$/,
  ],
  g: [
    /^gnttab_usage_print_all \[ key 'g' pressed$/,
    /^ {6}-------- active -------- {7}-------- shared --------$/,
    /^\[ref\] localdom mfn {6}pin {10}localdom gmfn {5}flags$/,
    /^grant-table for remote d\d+ \(v[12]\)$/,
    /^ {2}\d+ frames \(\d+ max\), \d+ maptrack frames \(\d+ max\)$/,
    /^\[0x[0-9a-f]{3,}\] {2}[ \d]{4}\d 0x[0-9a-f]{5,} 0x[0-9a-f]{8} {6}[ \d]{4}\d 0x[0-9a-f]{6,} 0x[0-9a-f]{2,}$/,
    /^no active grant table entries$/,
    /^gnttab_usage_print_all \] done$/,
  ],
  q: [
    /^'q' pressed -> dumping domain info \(now = \d+\)$/,
    /^General information for domain \d+:$/,
    /^ {4}refcnt=\d+ dying=[012] pause_count=\d+$/,
    /^ {4}nr_pages=\d+ xenheap_pages=\d+ dirty_cpus=\{[\d,-]*\} max_pages=\d+$/,
    /^ {4}handle=[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12} vm_assist=[0-9a-f]{8,}$/,
    /^NODE affinity for domain \d+: \[[\d,-]*\]$/,
    /^VCPU information and callbacks for domain \d+:$/,
    /^ {2}UNIT\d+ affinities: hard=\{[\d,-]*\} soft=\{[\d,-]*\}$/,
    /^ {4}VCPU\d+: CPU\d+ \[has=[TF]\] poll=\d+ upcall_pend=[0-9a-f]{2} upcall_mask=[0-9a-f]{2} (?:dirty_cpu=\d+)?$/,
    /^ {4}pause_count=\d+ pause_flags=[0-9a-f]+$/,
    /^(?:No periodic timer|\d+ Hz periodic timer \(period \d+ ms\))$/,
    /^Notifying guest \d+:\d+ \(virq 1, port \d+\)$/,
    /^Shared frames \d+ -- Saved frames \d+$/,
  ],
  t: [/^Synced stime skew: max=\d+ns avg=\d+ns samples=\d+ current=\d+ns$/, /^Synced cycles skew: max=\d+ avg=\d+ samples=\d+ current=\d+$/],
} as const;

function assertShapes(t: { fail(m: string): void; pass(): void }, lines: readonly string[], shapes: readonly RegExp[]): void {
  for (const l of lines) if (!shapes.some((re) => re.test(l))) return t.fail(`no printk format of Xen's makes ${JSON.stringify(l)}`);
  t.pass();
}

/** The 'e' section of one domain: port → its line's fields. */
function evtchnSection(lines: readonly string[], domid: number): Map<number, { s: number; n: number; rest: string }> {
  const start = lines.indexOf(`Event channel information for domain ${domid}:`);
  if (start < 0) throw new Error(`no event channel section for domain ${domid}`);
  const ports = new Map<number, { s: number; n: number; rest: string }>();
  for (const l of lines.slice(start + 3)) {
    const m = /^ +(\d+) \[[01]\/[01]\/[01]\]: s=(\d) n=(\d+) x=0(.*)$/.exec(l);
    if (m === null) break;
    ports.set(Number(m[1]), { s: Number(m[2]), n: Number(m[3]), rest: m[4]! });
  }
  return ports;
}

test.serial("e: every domain's ports in event_channel.c's format; the disk's and NIC's channels join the guest and dom0 both ways", async (t) => {
  const lines = await press('e');
  t.is(lines[0], "'e' pressed -> dumping event-channel info");
  assertShapes(t, lines, SHAPES.e);
  const xs = await connectXsClient(h.host.paths.socket);
  t.teardown(() => xs.close());
  const front = [
    await xs.read(`/local/domain/${web}/device/vbd/51712/event-channel`),
    await xs.read(`/local/domain/${web}/device/vif/0/event-channel-tx`),
    await xs.read(`/local/domain/${web}/device/vif/0/event-channel-rx`),
  ].map(Number);
  const guest = evtchnSection(lines, web);
  const dom0 = evtchnSection(lines, 0);
  for (const port of front) {
    const g = guest.get(port);
    const m = /^ d=0 p=(\d+)$/.exec(g?.rest ?? '');
    t.is(g?.s, 3, `web's port ${port} is interdomain (ECS_INTERDOMAIN)`);
    t.truthy(m, `web's port ${port} names dom0 and its port`);
    t.is(dom0.get(Number(m![1]))?.rest, ` d=${web} p=${port}`, `dom0's end of web's port ${port} points back`);
  }
  // The same ports, vCPUs and peers as `xenemu evtchn list` (EVTCHNOP_status) reports.
  const listed = (await h.xenemu('evtchn', 'list', 'web')).stdout.trimEnd().split('\n');
  t.is(guest.size, listed.length);
  for (const l of listed) {
    const m = /^ *(\d+): VCPU (\d+): (\w+)/.exec(l)!;
    t.is(guest.get(Number(m[1]))?.n, Number(m[2]), l);
  }
  // VIRQ_TIMER (0) and VIRQ_DEBUG (1) on each of web's two vCPUs.
  const virqs = [...guest.values()].filter((c) => c.s === 5).map((c) => `${c.n}${c.rest}`);
  t.deepEqual(virqs.filter((v) => / v=[01]$/.test(v)).sort(), ['0 v=0', '0 v=1', '1 v=0', '1 v=1']);
});

test.serial("g: grant_table.c's table per domain; the disk's ring pages are mapped writable by dom0", async (t) => {
  const lines = await press('g');
  t.is(lines[0], "gnttab_usage_print_all [ key 'g' pressed");
  t.is(lines.at(-1), 'gnttab_usage_print_all ] done');
  assertShapes(t, lines, SHAPES.g);
  const start = lines.indexOf(`grant-table for remote d${web} (v1)`);
  t.true(start > 0);
  t.regex(lines[start + 1]!, /^ {2}\d+ frames \(64 max\), 0 maptrack frames \(1024 max\)$/);
  const active = new Map<number, string>();
  for (const l of lines.slice(start + 2)) {
    const m = /^\[0x([0-9a-f]+)\]/.exec(l);
    if (m === null) break;
    active.set(parseInt(m[1]!, 16), l);
  }
  const xs = await connectXsClient(h.host.paths.socket);
  t.teardown(() => xs.close());
  const pages = Number(await xs.read(`/local/domain/${web}/device/vbd/51712/num-ring-pages`));
  t.true(pages >= 1);
  for (let i = 0; i < pages; i++) {
    const ref = Number(await xs.read(`/local/domain/${web}/device/vbd/51712/ring-ref${i}`));
    const line = active.get(ref);
    // Used by dom0, one host-writable mapping (GNTPIN_hstw_inc), granted to dom0 with
    // GTF_permit_access | GTF_reading | GTF_writing, the frame the same on both sides.
    const m = /^\[0x[0-9a-f]+\] {2} {4}0 0x([0-9a-f]+) 0x00000001 {6} {4}0 0x([0-9a-f]+) 0x19$/.exec(line ?? '');
    t.truthy(m, `ring-ref${i} = ${ref}: ${line}`);
    t.is(parseInt(m![1]!, 16), parseInt(m![2]!, 16));
  }
  // dom0 maps them, so its maptrack has grown; nobody maps dom0's grants.
  const d0 = lines.indexOf('grant-table for remote d0 (v1)');
  t.regex(lines[d0 + 1]!, /^ {2}\d+ frames \(\d+ max\), [1-9]\d* maptrack frames \(\d+ max\)$/);
});

test.serial("q: each domain and vCPU in keyhandler.c's format, then VIRQ_DEBUG to every vCPU, which the guest's kernel logs", async (t) => {
  const lines = await press('q');
  assertShapes(t, lines, SHAPES.q);
  const start = lines.indexOf(`General information for domain ${web}:`);
  t.regex(lines[start + 1]!, /^ {4}refcnt=3 dying=0 pause_count=0$/);
  // web.yaml: 512 MiB, 2 vCPUs, 250 Hz.
  t.regex(lines[start + 2]!, /^ {4}nr_pages=131072 xenheap_pages=\d+ dirty_cpus=\{[\d,-]*\} max_pages=131072$/);
  const uuid = (JSON.parse((await h.xl('list', '-l', 'web')).stdout) as Array<{ config: { c_info: { uuid: string } } }>)[0]!.config.c_info.uuid;
  t.is(lines[start + 3], `    handle=${uuid} vm_assist=00000000`);
  t.is(lines.filter((l) => l === '250 Hz periodic timer (period 4 ms)').length, 2);
  // The port each vCPU's VIRQ_DEBUG is bound to, as 'e' shows it.
  const e = evtchnSection(await press('e'), web);
  for (const vcpu of [0, 1]) {
    const port = [...e].find(([, c]) => c.s === 5 && c.n === vcpu && c.rest === ' v=1')![0];
    t.true(lines.includes(`Notifying guest ${web}:${vcpu} (virq 1, port ${port})`), `vCPU ${vcpu}: port ${port}`);
  }
  t.is(lines.at(-1), 'Shared frames 0 -- Saved frames 0');
  let logged = false;
  for (let i = 0; i < 200 && !logged; i++) logged = (await h.xenemu('dmesg', 'web')).stdout.includes('xen: VIRQ_DEBUG on vCPU 1');
  t.true(logged, "web's kernel took VIRQ_DEBUG on vCPU 1");
});

test.serial("h lists the installed keys; * runs every diagnostic one under its heading; t's skews are 0 (one clock); keys Xen has no handler for print nothing", async (t) => {
  t.deepEqual(await press('h', 'xenemu'), [
    "'h' pressed -> showing installed handlers",
    " key '*' (ascii '2a') => print all diagnostics",
    " key 'e' (ascii '65') => dump evtchn info",
    " key 'g' (ascii '67') => print grant table usage",
    " key 'h' (ascii '68') => show this message",
    " key 'q' (ascii '71') => dump domain (and guest debug) info",
    " key 't' (ascii '74') => display multi-cpu clock info",
  ]);
  const all = await press('*');
  t.is(all[0], "'*' pressed -> firing all diagnostic keyhandlers");
  t.deepEqual(
    all.filter((l) => l.startsWith('[') && l.endsWith(']') && !l.startsWith('[ref]')),
    ['[e: dump evtchn info]', '[g: print grant table usage]', '[q: dump domain (and guest debug) info]', '[t: display multi-cpu clock info]'],
  );
  assertShapes(t, all.slice(1).filter((l) => !/^\[[egqt]: /.test(l)), [...SHAPES.e, ...SHAPES.g, ...SHAPES.q, ...SHAPES.t]);
  const clocks = await press('tt');
  assertShapes(t, clocks, SHAPES.t);
  t.is(clocks[2], 'Synced stime skew: max=0ns avg=0ns samples=3 current=0ns');
  // handle_keypress: no handler, nothing happens (not even an error); 'é' is two bytes past key_table's 128.
  t.deepEqual(await press('xyzRé'), []);
  t.deepEqual(await press(''), []);
});

test.serial("usage: no KEYS is def_getopt's complaint and the usage, an option its complaint alone, exit 2; too many keys exit 1", async (t) => {
  t.deepEqual(await h.xl('debug-keys'), { stdout: formatCommandHelp('debug-keys'), stderr: "'xl debug-keys' requires at least 1 argument.\n\n", code: 2 });
  t.is((await h.xenemu('debug-keys')).code, 2);
  // Past the daemon's bound: libxl's error, then xl's, exit 1; nothing pressed.
  const many = 'h'.repeat(MAX_DEBUG_KEYS + 1);
  t.deepEqual(await h.xl('debug-keys', many), { stdout: '', stderr: `xenemu: sending debug keys: params.keys: ${MAX_DEBUG_KEYS} keys at most per call\ncannot send debug keys: ${many}\n`, code: 1 });
  t.deepEqual(await h.xl('debug-keys', '-x', 'e'), { stdout: '', stderr: "option `x' not supported.\n", code: 2 });
});
