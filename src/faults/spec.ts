import { suggestion } from '../toolstack/config/errors.js';
import { forEachSpecPair, SpecError } from '../toolstack/config/spec-pairs.js';

/** Keys of a fault spec string; quota limits are `quota.NAME=VALUE`. */
export const FAULT_SPEC_KEYS = ['kind', 'probability', 'count', 'duration', 'seed', 'errno', 'op', 'path', 'delay', 'every', 'coalesce', 'quota.NAME', 'vcpu', 'at', 'after', 'vif', 'vdev', 'sectors'] as const;

const NUMBERS = new Set(['probability', 'count', 'seed', 'vcpu', 'after', 'vif']);
const STRINGS = new Set(['kind', 'errno', 'op', 'path', 'duration', 'delay', 'every', 'at', 'vdev', 'sectors']);

/**
 * A fault written as a spec string, so it fits in an xl.cfg list (`xenemu.faults`):
 * `kind=xs-errno,errno=EACCES,op=READ,count=3` or `kind=xs-quota,quota.nodes=20`.
 * Gives the fields of a fault mapping; the schema then checks them as it checks one.
 */
export function parseFaultSpec(spec: string): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  forEachSpecPair(spec, 'faults', FAULT_SPEC_KEYS, (key, value, at, vat) => {
    if (key.startsWith('quota.')) {
      if (!/^[0-9]+$/.test(value)) throw new SpecError(`${key}=${value}: a quota is a whole number`, vat);
      ((fields.quota ??= {}) as Record<string, number>)[key.slice('quota.'.length)] = Number(value);
    } else if (NUMBERS.has(key)) {
      if (!/^[0-9]+(\.[0-9]+)?$/.test(value)) throw new SpecError(`${key}=${value}: ${key} must be a number`, vat);
      fields[key] = Number(value);
    } else if (key === 'coalesce') {
      if (!/^(0|1|true|false)$/.test(value)) throw new SpecError(`coalesce=${value}: coalesce is 1 or 0`, vat);
      fields[key] = value === '1' || value === 'true';
    } else if (STRINGS.has(key)) {
      fields[key] = value;
    } else {
      throw new SpecError(`unknown key "${key}"${suggestion(key, FAULT_SPEC_KEYS)}: faults take ${FAULT_SPEC_KEYS.join(', ')}`, at);
    }
  });
  return fields;
}

/** A fault as a spec string (`config convert` to xl.cfg). */
export function formatFaultSpec(f: Record<string, unknown>): string {
  const items: string[] = [];
  for (const [key, value] of Object.entries(f)) {
    if (value === undefined) continue;
    if (key === 'quota') for (const [q, n] of Object.entries(value as Record<string, number>)) items.push(`quota.${q}=${n}`);
    else if (key === 'duration' || key === 'delay' || key === 'every') items.push(`${key}=${value as number}ms`);
    else items.push(`${key}=${value === true ? 1 : value === false ? 0 : String(value)}`);
  }
  return items.join(',');
}
