// `xl list -l` (list_domains_details, xl_info.c:440-504) and the libxl JSON generator
// (gentypes.py libxl_C_type_gen_json + libxl_json.c), checked against the real
// libxenlight 4.17: fixtures/libxl/*/expected.txt were printed by
// tools/libxl-roundtrip.c, which parses each config with libxl_domain_config_from_json
// and prints it exactly as xl does.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import { LibxlConfigError, libxlDomainConfigGenJson } from '../../src/toolstack/libxl/json.js';
import { LIBXL_ENUMS, LIBXL_STRUCTS, type IdlType, type LibxlDomainConfig } from '../../src/toolstack/libxl/idl.js';
import { formatDomainConfigJson, formatListLong } from '../../src/ui/xl/list-long.js';
import type { XlListLongEntry } from '../../src/toolstack/libxl/rows.js';
import { YajlGen, yajlEscape } from '../../src/toolstack/libxl/yajl.js';
import { GUEST_DOMAINS } from './guest-specs.js';
import { cOracle, FIXTURES, fixture, run } from './helpers.js';
import { configFromLibxlJson, parseJsonExact } from './libxl-from-json.js';

function loadCase(name: string): XlListLongEntry[] {
  return readdirSync(join(FIXTURES, 'libxl', name))
    .filter((f) => f.endsWith('.json'))
    .map((f) => Number(f.slice(0, -5)))
    .sort((a, b) => a - b)
    .map((domid) => ({ domid, config: configFromLibxlJson(parseJsonExact(fixture(`libxl/${name}/${domid}.json`))) }));
}

test('PV, PVH, HVM guests and the dom0 stub print as libxl prints them', (t) => {
  t.is(formatListLong(GUEST_DOMAINS), fixture('libxl/guests/expected.txt'));
  // The committed inputs (the builder's output when the goldens were made) print the same.
  t.is(formatListLong(loadCase('guests')), fixture('libxl/guests/expected.txt'));
});

test('every kind of field: escapes, uint64 above 2^53, keyed unions, nested arrays, defaults left out', (t) => {
  t.is(formatListLong(loadCase('kitchen-sink')), fixture('libxl/kitchen-sink/expected.txt'));
});

test('yajl beautify: empty containers are "{", an empty line, "}"; the document ends with a newline', (t) => {
  t.is(formatListLong([]), '[\n\n]\n\n'); // yajl's "[\n" + "\n]" + final newline, then puts()
  const g = new YajlGen();
  g.mapOpen();
  g.string('a');
  g.mapOpen();
  g.mapClose();
  g.string('b');
  g.arrayOpen();
  g.integer(1);
  g.null();
  g.bool(true);
  g.arrayClose();
  g.mapClose();
  t.is(g.buffer, '{\n    "a": {\n\n    },\n    "b": [\n        1,\n        null,\n        true\n    ]\n}\n');
  t.throws(() => g.string('more'));
});

test('yajl_string_encode escapes quote, backslash, \\b\\f\\n\\r\\t and other control bytes (upper-case hex) only', (t) => {
  t.is(yajlEscape('a"b\\c/d\b\f\n\r\t\u0001\u001f\u007fé'), 'a\\"b\\\\c/d\\b\\f\\n\\r\\t\\u0001\\u001F\u007fé');
});

test('printf_info (xl create -n): one object, domid null, no trailing puts newline', (t) => {
  const out = formatDomainConfigJson(null, { c_info: { type: 'pv', name: 'x' } });
  t.true(out.startsWith('{\n    "domid": null,\n    "config": {\n        "c_info": {\n            "type": "pv",\n            "name": "x"\n        },'));
  t.true(out.endsWith('    }\n}\n'));
});

test('defaults are left out the way gentypes decides', (t) => {
  const json = (c: LibxlDomainConfig): string => formatDomainConfigJson(1, c);
  // init_val fields: on_* against destroy, devid against -1, memkb against ~0.
  t.false(json({ on_poweroff: 'destroy', nics: [{ devid: -1 }], b_info: { max_memkb: 2n ** 64n - 1n } }).includes('on_poweroff'));
  t.false(json({ nics: [{ devid: -1 }] }).includes('devid'));
  t.false(json({ b_info: { max_memkb: 2n ** 64n - 1n } }).includes('max_memkb'));
  // No init_val: zero numbers, false bools, enum value 0, empty bitmaps, nil uuids stay out.
  const quiet = json({ c_info: { ssidref: 0, uuid: '00000000-0000-0000-0000-000000000000' }, b_info: { avail_vcpus: [] }, disks: [{ backend: 'unknown', direct_io_safe: false, readwrite: 0 }] });
  for (const key of ['ssidref', 'uuid', 'avail_vcpus', '"backend"', 'direct_io_safe', 'readwrite']) t.false(quiet.includes(key), key);
  // A uint32 field set to -1 holds 4294967295 and prints so.
  t.true(json({ c_info: { ssidref: -1 } }).includes('"ssidref": 4294967295'));
});

test('values libxl could not hold are refused', (t) => {
  t.throws(() => formatDomainConfigJson(1, { c_info: { type: 'kvm' as never } }), { instanceOf: LibxlConfigError });
  t.throws(() => formatDomainConfigJson(1, { c_info: { uuid: 'nope' } }), { instanceOf: LibxlConfigError });
  t.throws(() => formatDomainConfigJson(1, { nics: [{ mac: '00:16:3e' }] }), { instanceOf: LibxlConfigError });
  t.throws(() => formatDomainConfigJson(1, { b_info: { max_vcpus: 1.5 } }), { instanceOf: LibxlConfigError });
});

// ---- live cross-check against libxenlight, over random configurations -------------

const roundtrip = cOracle('libxl-roundtrip.c', ['-rdynamic', '-lxenlight', '-lxentoollog', '-lyajl']);

const SPECIAL_STRINGS = ['', 'a b', 'quote"back\\slash', 'tab\tnl\n', 'ctl\u0001\u001f', 'sol/idus', 'ünïcødé', '中文'];
const RANGES: Record<string, [bigint, bigint]> = {
  int: [-(2n ** 31n), 2n ** 31n - 1n],
  uint8_t: [0n, 255n],
  uint16_t: [0n, 65535n],
  uint32_t: [0n, 2n ** 32n - 1n],
  // libxl's parser saturates integers above LLONG_MAX, so stay below it.
  uint64_t: [0n, 2n ** 63n - 1n],
};

function arbValue(t: IdlType, init: string | undefined, depth: number): fc.Arbitrary<unknown> {
  switch (t.kind) {
    case 'number': {
      const [min, max] = RANGES[t.ctype]!;
      const picks: fc.Arbitrary<unknown>[] = [fc.constant(0), fc.bigInt({ min, max }), fc.integer({ min: 0, max: 5000 })];
      if (init !== undefined) picks.push(fc.constant(BigInt(init)));
      if (t.ctype === 'int') picks.push(fc.constant(-1));
      return fc.oneof(...picks);
    }
    case 'bool':
    case 'defbool':
      return fc.boolean();
    case 'string':
      return fc.oneof(fc.constantFrom(...SPECIAL_STRINGS), fc.string({ maxLength: 8 }).filter((s) => !s.includes('\0')));
    case 'enum':
      return fc.constantFrom(...Object.keys(LIBXL_ENUMS[t.name]!.values));
    case 'uuid':
      return fc.oneof(fc.constant('00000000-0000-0000-0000-000000000000'), fc.uuid());
    case 'mac':
      return fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 }).map((b) => b.map((x) => x.toString(16)).join(':'));
    case 'bitmap':
      return fc.array(fc.integer({ min: 0, max: 70 }), { maxLength: 5 });
    case 'string_list':
      return fc.array(fc.constantFrom(...SPECIAL_STRINGS), { maxLength: 3 });
    case 'key_value_list':
      return fc.uniqueArray(fc.tuple(fc.constantFrom('k', 'x"y', 'z\n', 'é'), fc.option(fc.constantFrom(...SPECIAL_STRINGS), { nil: null })), { maxLength: 3, selector: (p) => p[0] });
    case 'ms_vm_genid':
      return fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 });
    case 'struct':
      return arbStruct(t.name, depth + 1);
    case 'array':
      return depth > 3 ? fc.constant([]) : fc.array(arbValue(t.elem, undefined, depth + 1), { maxLength: 2 });
    default:
      return fc.constant(undefined);
  }
}

function arbStruct(name: string, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of LIBXL_STRUCTS[name]!) {
    if (f.type.kind === 'cpuid_policy_list') continue;
    if (f.type.kind === 'keyedUnion') {
      const ku = f.type;
      parts[ku.keyvar] = fc.option(fc.constantFrom(...Object.keys(LIBXL_ENUMS[ku.keyEnum]!.values)), { nil: undefined });
      const members: Record<string, fc.Arbitrary<unknown>> = {};
      for (const m of ku.members) if (m.type !== null) members[m.name] = arbValue(m.type, undefined, depth);
      parts[f.name] = fc.record(members, { requiredKeys: [] });
      continue;
    }
    parts[f.name] = arbValue(f.type, f.init, depth);
  }
  return fc.record(parts, { requiredKeys: [] });
}

(roundtrip ? test : test.skip)('live: random configurations print exactly as libxenlight prints them (needs gcc, libxen-dev)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xenemu-libxl-'));
  try {
    const samples = fc.sample(arbStruct('libxl_domain_config', 0), { numRuns: 150, seed: 417 }) as LibxlDomainConfig[];
    samples.forEach((config, i) => {
      const g = new YajlGen();
      libxlDomainConfigGenJson(g, config);
      const file = join(dir, `${i}.json`);
      writeFileSync(file, g.buffer);
      const expected = run(roundtrip!, [String(i), file]);
      t.is(formatListLong([{ domid: i, config }]), expected, `sample ${i}`);
    });
    // And the builder's domains, all at once.
    const args: string[] = [];
    for (const d of GUEST_DOMAINS) {
      const g = new YajlGen();
      libxlDomainConfigGenJson(g, d.config);
      const file = join(dir, `guest-${d.domid}.json`);
      writeFileSync(file, g.buffer);
      args.push(String(d.domid), file);
    }
    t.is(formatListLong(GUEST_DOMAINS), run(roundtrip!, args));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
