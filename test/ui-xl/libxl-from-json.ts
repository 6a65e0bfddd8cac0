/**
 * Test helper: libxl's JSON form of a libxl_domain_config (what libxl parses and
 * prints) → the TypeScript object the formatter takes. Keyed unions ("type.pv": {…})
 * become the key variable plus the union property; defbools "True"/"False" become
 * booleans; integers too large for a double are read as bigint.
 */
import { LIBXL_STRUCTS, type IdlType, type LibxlDomainConfig } from '../../src/toolstack/libxl/idl.js';

export function configFromLibxlJson(json: unknown): LibxlDomainConfig {
  return convertStruct('libxl_domain_config', json) as LibxlDomainConfig;
}

function convertStruct(name: string, json: unknown): Record<string, unknown> {
  const fields = LIBXL_STRUCTS[name]!;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
    const dot = key.indexOf('.');
    if (dot > 0) {
      const keyvar = key.slice(0, dot);
      const member = key.slice(dot + 1);
      const f = fields.find((x) => x.type.kind === 'keyedUnion' && x.type.keyvar === keyvar)!;
      const t = f.type as Extract<IdlType, { kind: 'keyedUnion' }>;
      const m = t.members.find((x) => x.name === member)!;
      out[keyvar] = member;
      out[f.name] = { [member]: m.type === null ? {} : convert(m.type, value) };
      continue;
    }
    const f = fields.find((x) => x.name === key);
    if (f === undefined) throw new Error(`${name} has no field ${key}`);
    out[key] = convert(f.type, value);
  }
  return out;
}

function convert(t: IdlType, value: unknown): unknown {
  switch (t.kind) {
    case 'struct':
      return convertStruct(t.name, value);
    case 'array':
      return (value as unknown[]).map((v) => convert(t.elem, v));
    case 'defbool':
      return value === 'True' ? true : value === 'False' ? false : undefined;
    case 'key_value_list':
      return Object.entries(value as Record<string, string | null>);
    case 'number':
      return typeof value === 'string' ? BigInt(value) : value;
    default:
      return value;
  }
}

/** JSON.parse that keeps integers beyond 2^53 exact (as decimal strings for convert()). */
export function parseJsonExact(text: string): unknown {
  return JSON.parse(text.replace(/(?<=[:[,]\s*)(\d{16,})(?=\s*[,\]}])/g, '"$1"'));
}
