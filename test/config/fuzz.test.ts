import test from 'ava';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { ConfigError, parseDomainConfigText, type ConfigFormat } from '../../src/toolstack/config/index.js';
import { parseDiskSpec, DiskSpecError } from '../../src/toolstack/config/disk-spec.js';
import { parseVifSpec, VifSpecError } from '../../src/toolstack/config/vif-spec.js';

/** Parse, and fail unless the outcome is a config or a ConfigError that is not a bug. */
function onlyConfigErrors(text: string, format: ConfigFormat, overrides: string[] = []): void {
  try {
    parseDomainConfigText(text, format, 'fuzz', { overrides });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    if (/internal error/.test(e.message)) throw e;
    for (const i of e.issues) {
      if (!(i.line >= 1 && i.column >= 1)) throw new Error(`bad location in ${JSON.stringify(i)}`);
    }
  }
}

const XL_TOKENS = [
  'name', 'memory', 'maxmem', 'vcpus', 'disk', 'vif', 'type', 'xenemu.hz', 'xenemu.events', 'cpus', 'viridian', 'builder', 'vfb', 'extra',
  '=', '+=', ';', '\n', ' ', '[', ']', ',', '#c\n', '"web"', "'hvm'", '"pv"', '512', '0x10', '08', '"a,,xvda"', '"vdev=xvdb, target=x"',
  '"mac=00:16:3e:00:00:01"', '""', '"\\n"', '"\\x4"', "'\\'", '"', "'", '\r', '(', 'Name', '12ab', '"0-3,^2"', '"name=e,rate=1,handler=both"',
];

test('the xl.cfg reader throws only ConfigError, on token soup', (t) => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...XL_TOKENS), { maxLength: 40 }), (tokens) => onlyConfigErrors(tokens.join(''), 'xlcfg')),
    { numRuns: 3000 },
  );
  t.pass();
});

test('the xl.cfg reader throws only ConfigError, on any text', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => onlyConfigErrors(text, 'xlcfg')),
    { numRuns: 2000 },
  );
  t.pass();
});

test('the YAML reader throws only ConfigError, on any text', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => onlyConfigErrors(text, 'yaml')),
    { numRuns: 2000 },
  );
  t.pass();
});

const YAML_VALUES = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom('web', 'xvda', 'a.img,,xvda', 'mac=zz', 'pvh', '0-3', 'nodes:1', 'ithread', '../x', 'Domain-0'),
);
const YAML_KEYS = fc.constantFrom('name', 'type', 'memory', 'maxmem', 'vcpus', 'maxvcpus', 'disk', 'vif', 'cpus', 'viridian', 'xenemu', 'kernel', 'target', 'vdev', 'events', 'hz', 'bogus');

test('the YAML reader throws only ConfigError, on YAML documents of config-like shape', (t) => {
  const doc = fc.dictionary(YAML_KEYS, fc.oneof(YAML_VALUES, fc.array(fc.dictionary(YAML_KEYS, YAML_VALUES), { maxLength: 3 }), fc.dictionary(YAML_KEYS, YAML_VALUES)));
  fc.assert(
    fc.property(doc, (d) => onlyConfigErrors(stringify(d), 'yaml')),
    { numRuns: 2000 },
  );
  t.pass();
});

test('overrides throw only ConfigError', (t) => {
  fc.assert(
    fc.property(fc.array(fc.array(fc.constantFrom(...XL_TOKENS), { maxLength: 6 }).map((a) => a.join('')), { maxLength: 3 }), fc.constantFrom<ConfigFormat>('yaml', 'xlcfg'), (overrides, format) =>
      onlyConfigErrors(format === 'yaml' ? 'name: web\n' : 'name = "web"\n', format, overrides),
    ),
    { numRuns: 2000 },
  );
  t.pass();
});

test('the disk and vif spec parsers throw only their own errors', (t) => {
  const spec = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.array(fc.constantFrom('target=', 'vdev=', 'xvda', ',', ':', 'raw:', 'cdrom', '=', ' ', 'hdc:cdrom', 'a', 'phy:', 'format=', 'mac=', 'rate=1Mb/s@', 'trusted'), { maxLength: 10 }).map((a) => a.join('')),
  );
  fc.assert(
    fc.property(spec, (s) => {
      try {
        parseDiskSpec(s);
      } catch (e) {
        if (!(e instanceof DiskSpecError)) throw e;
        if (e.offset < 0 || e.offset > s.length) throw new Error(`offset ${e.offset} outside ${JSON.stringify(s)}`);
      }
      try {
        parseVifSpec(s);
      } catch (e) {
        if (!(e instanceof VifSpecError)) throw e;
      }
    }),
    { numRuns: 3000 },
  );
  t.pass();
});
