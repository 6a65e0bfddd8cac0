/**
 * Spec strings for xenemu's synthetic event sources (`xenemu.events`), written like a
 * vifspec so they fit in an xl.cfg list: `name=net0,rate=2000,handler=ithread,vcpu=1`.
 */

import { suggestion } from './errors.js';
import { XenemuError } from '../../common/errors.js';

export const EVENT_HANDLERS = ['filter', 'ithread', 'both'] as const;
export const EVENT_KEYS = ['name', 'rate', 'handler', 'vcpu'] as const;

export interface EventSpecFields {
  name?: string;
  rate?: number;
  handler?: string;
  vcpu?: number;
}

export class EventSpecError extends XenemuError {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super('EINVAL', message);
  }
}

export function parseEventSpec(spec: string): EventSpecFields {
  const fields: EventSpecFields = {};
  let pos = 0;
  for (const raw of spec.split(',')) {
    const start = pos;
    pos += raw.length + 1;
    const lead = raw.length - raw.trimStart().length;
    const token = raw.trim();
    const at = start + lead;
    if (token === '') continue;
    const eq = token.indexOf('=');
    if (eq < 0) throw new EventSpecError(`"${token}" is not key=value: event sources take ${EVENT_KEYS.join(', ')}`, at);
    const key = token.slice(0, eq).trim();
    const value = token.slice(eq + 1).trim();
    const vat = at + eq + 1;
    if (key === 'name' || key === 'handler') {
      fields[key] = value;
    } else if (key === 'rate' || key === 'vcpu') {
      if (!/^[0-9]+(\.[0-9]+)?$/.test(value)) throw new EventSpecError(`${key}=${value}: ${key} must be a number`, vat);
      fields[key] = Number(value);
    } else {
      throw new EventSpecError(`unknown key "${key}"${suggestion(key, EVENT_KEYS)}: event sources take ${EVENT_KEYS.join(', ')}`, at);
    }
  }
  return fields;
}

export function formatEventSpec(e: { name: string; rate: number; handler: string; vcpu?: number | undefined }): string {
  const items = [`name=${e.name}`, `rate=${e.rate}`, `handler=${e.handler}`];
  if (e.vcpu !== undefined) items.push(`vcpu=${e.vcpu}`);
  return items.join(',');
}
