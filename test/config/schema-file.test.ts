import { readFileSync } from 'node:fs';
import test from 'ava';
import { renderConfigJsonSchema } from '../../src/toolstack/config/json-schema.js';

test('configs/schema.json is generated from the zod schema and up to date (node --import=tsx scripts/gen-config-schema.ts)', (t) => {
  const onDisk = readFileSync(new URL('../../configs/schema.json', import.meta.url), 'utf8');
  t.is(onDisk, renderConfigJsonSchema());
});

test('the JSON Schema describes the keys, the defaults and the xenemu extensions', (t) => {
  const schema = JSON.parse(renderConfigJsonSchema()) as {
    required: string[];
    additionalProperties: boolean;
    properties: Record<string, { default?: unknown; description?: string; properties?: Record<string, unknown> }>;
  };
  t.deepEqual(schema.required, ['name']);
  t.false(schema.additionalProperties);
  t.is(schema.properties.type!.default, 'pv');
  t.is(schema.properties.on_reboot!.default, 'restart');
  t.is(schema.properties.cpu_weight!.default, 256);
  t.regex(schema.properties.xenemu!.description!, /xenemu extensions/);
  t.deepEqual(Object.keys(schema.properties.xenemu!.properties!), ['hz', 'callback', 'events', 'faults']);
});
