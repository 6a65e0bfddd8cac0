/**
 * Every table in src/abi against the real headers: a C program prints offsetof/sizeof/
 * _Alignof of each field and struct, the io/ring.h geometry of each ring protocol and
 * the value of each constant, compiled against /usr/include/xen (libxen-dev) the way
 * layouts.md was measured (`gcc -D__XEN_TOOLS__`, interface version 0x00040e00).
 *
 * gcc and libxen-dev are in CI. Without them this test fails and says what to install;
 * XENEMU_SKIP_C_ABI=1 turns that into a skip for a machine that cannot have them.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ABI_CONSTANT_GROUPS } from '../../src/abi/constants.js';
import { ABI_STRUCTS, type FieldDef } from '../../src/abi/layout.js';
import { ringSize, SRING_ENTRIES_OFFSET, SRING_HEADER, SRING_PROTOCOLS } from '../../src/abi/ring.js';
// The modules that define struct tables register them on import.
import '../../src/abi/index.js';

const HEADER_ROOT = '/usr/include';

function missingPrereqs(): string | undefined {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'gcc is not installed (Debian: apt-get install gcc)';
  }
  if (!existsSync(join(HEADER_ROOT, 'xen/xen.h'))) return `${HEADER_ROOT}/xen/xen.h is missing (Debian: apt-get install libxen-dev)`;
  return undefined;
}

/** One value to compare: a C expression and what src/abi says it is. */
interface Probe {
  key: string;
  c: string;
  expected: number;
}

function structProbes(): Probe[] {
  const probes: Probe[] = [];
  for (const s of ABI_STRUCTS) {
    probes.push({ key: `sizeof(${s.c})`, c: `sizeof(${s.c})`, expected: s.size });
    probes.push({ key: `_Alignof(${s.c})`, c: `_Alignof(${s.c})`, expected: s.align });
    for (const f of Object.values<FieldDef>(s.fields)) probes.push(...fieldProbes(s.c, f));
  }
  return probes;
}

function fieldProbes(type: string, f: FieldDef): Probe[] {
  const member = `((${type} *)0)->${f.c}`;
  const probes = [
    { key: `offsetof(${type}, ${f.c})`, c: `offsetof(${type}, ${f.c})`, expected: f.offset },
    { key: `sizeof(${type}.${f.c})`, c: `sizeof(${member})`, expected: f.size },
  ];
  if (f.count !== undefined) {
    probes.push({ key: `countof(${type}.${f.c})`, c: `sizeof(${member}) / sizeof(${member}[0])`, expected: f.count });
  }
  return probes;
}

function ringProbes(): Probe[] {
  const probes: Probe[] = [];
  for (const [tag, proto] of Object.entries(SRING_PROTOCOLS)) {
    const type = `struct ${tag}_sring`;
    for (const f of Object.values<FieldDef>(SRING_HEADER.fields)) probes.push(...fieldProbes(type, f));
    probes.push({ key: `offsetof(${type}, ring)`, c: `offsetof(${type}, ring)`, expected: SRING_ENTRIES_OFFSET });
    probes.push({ key: `sizeof(union ${tag}_sring_entry)`, c: `sizeof(union ${tag}_sring_entry)`, expected: proto.slotBytes });
    for (let pages = 1; pages <= 16; pages++) {
      const bytes = pages * 4096;
      probes.push({ key: `__CONST_RING_SIZE(${tag}, ${bytes})`, c: `__CONST_RING_SIZE(${tag}, ${bytes})`, expected: ringSize(proto.slotBytes, bytes) });
    }
  }
  return probes;
}

function constantProbes(): Probe[] {
  return ABI_CONSTANT_GROUPS.flatMap((g) =>
    Object.entries(g.values).map(([k, v]) => ({ key: `${g.prefix}${k}`, c: `${g.prefix}${k}`, expected: v })),
  );
}

function headers(): string[] {
  // xen.h first: several headers use its types without including it.
  const all = new Set<string>(['xen/xen.h', 'xen/grant_table.h', 'xen/event_channel.h']);
  for (const s of ABI_STRUCTS) all.add(s.header);
  for (const g of ABI_CONSTANT_GROUPS) all.add(g.header);
  all.add(SRING_HEADER.header);
  for (const p of Object.values(SRING_PROTOCOLS)) all.add(p.header);
  return [...all];
}

function program(probes: readonly Probe[]): string {
  const lines = probes.map((p) => `  printf("%s\\t%lld\\n", ${JSON.stringify(p.key)}, (long long)(${p.c}));`);
  return [
    '#include <stdint.h>',
    '#include <stddef.h>',
    '#include <stdio.h>',
    '#include <string.h>',
    ...headers().map((h) => `#include <${h}>`),
    'int main(void) {',
    ...lines,
    '  return 0;',
    '}',
    '',
  ].join('\n');
}

/** Compile and run the probe program; returns key → value as C computed it. */
function measure(probes: readonly Probe[]): Map<string, number> {
  const dir = mkdtempSync(join(tmpdir(), 'xenemu-abi-'));
  try {
    const src = join(dir, 'abi.c');
    const bin = join(dir, 'abi');
    writeFileSync(src, program(probes));
    try {
      execFileSync('gcc', ['-D__XEN_TOOLS__', `-I${HEADER_ROOT}`, '-std=gnu11', '-o', bin, src], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      // A name src/abi uses that the headers do not define shows up here.
      const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? String(err);
      throw new Error(`the probe program does not compile against ${HEADER_ROOT}/xen:\n${stderr}`);
    }
    const out = execFileSync(bin, { encoding: 'utf8' });
    return new Map(out.trim().split('\n').map((line) => {
      const [key, value] = line.split('\t');
      return [key!, Number(value)];
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const missing = missingPrereqs();
const skip = missing !== undefined && process.env.XENEMU_SKIP_C_ABI === '1';
const cTest = skip ? test.skip : test;

function compare(t: import('ava').ExecutionContext, probes: Probe[]): void {
  if (missing) {
    t.fail(`cannot check src/abi against the Xen headers: ${missing}. Set XENEMU_SKIP_C_ABI=1 to skip.`);
    return;
  }
  const measured = measure(probes);
  const wrong = probes
    .filter((p) => measured.get(p.key) !== p.expected)
    .map((p) => `${p.key}: src/abi says ${p.expected}, the C compiler says ${measured.get(p.key)}`);
  t.deepEqual(wrong, [], wrong.join('\n'));
  t.is(measured.size, new Set(probes.map((p) => p.key)).size, 'every probe printed a value');
}

cTest('every struct table matches offsetof/sizeof/_Alignof from the headers', (t) => {
  const probes = structProbes();
  t.true(probes.length > 100, `only ${probes.length} struct probes: a table was not registered`);
  compare(t, probes);
});

cTest('the io/ring.h header, slot sizes and __CONST_RING_SIZE for 1..16 pages match every ring protocol', (t) => {
  compare(t, ringProbes());
});

cTest('every ABI constant equals its C macro', (t) => {
  const probes = constantProbes();
  t.true(probes.length > 200, `only ${probes.length} constants`);
  compare(t, probes);
});

test('every struct this brief names has a registered table', (t) => {
  const names = new Set(ABI_STRUCTS.map((s) => s.c));
  for (const c of [
    'struct shared_info',
    'struct vcpu_info',
    'struct vcpu_time_info',
    'struct vcpu_register_vcpu_info',
    'struct start_info',
    'struct xenstore_domain_interface',
    'struct xencons_interface',
    'struct grant_entry_v1',
    'struct blkif_request',
    'struct blkif_request_segment',
    'struct blkif_request_indirect',
    'struct blkif_request_discard',
    'struct blkif_response',
  ]) {
    t.true(names.has(c), c);
  }
});
