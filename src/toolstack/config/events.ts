/**
 * Spec strings for xenemu's synthetic event sources (`xenemu.events`), written like a
 * vifspec so they fit in an xl.cfg list: `name=net0,rate=2000,handler=ithread,vcpu=1`.
 */

import { suggestion } from './errors.js';
import { forEachSpecPair, SpecError } from './spec-pairs.js';

export const EVENT_HANDLERS = ['filter', 'ithread', 'both'] as const;
export const EVENT_KEYS = ['name', 'rate', 'handler', 'vcpu'] as const;

export interface EventSpecFields {
  name?: string;
  rate?: number;
  handler?: string;
  vcpu?: number;
}

export function parseEventSpec(spec: string): EventSpecFields {
  const fields: EventSpecFields = {};
  forEachSpecPair(spec, 'event sources', EVENT_KEYS, (key, value, at, vat) => {
    if (key === 'name' || key === 'handler') {
      fields[key] = value;
    } else if (key === 'rate' || key === 'vcpu') {
      if (!/^[0-9]+(\.[0-9]+)?$/.test(value)) throw new SpecError(`${key}=${value}: ${key} must be a number`, vat);
      fields[key] = Number(value);
    } else {
      throw new SpecError(`unknown key "${key}"${suggestion(key, EVENT_KEYS)}: event sources take ${EVENT_KEYS.join(', ')}`, at);
    }
  });
  return fields;
}

export function formatEventSpec(e: { name: string; rate: number; handler: string; vcpu?: number | undefined }): string {
  const items = [`name=${e.name}`, `rate=${e.rate}`, `handler=${e.handler}`];
  if (e.vcpu !== undefined) items.push(`vcpu=${e.vcpu}`);
  return items.join(',');
}
