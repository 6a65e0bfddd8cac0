/**
 * configs/schema.json, generated from the zod schema (scripts/gen-config-schema.ts
 * writes it; a test checks the file is current). Draft-07, the dialect YAML editors
 * (yaml-language-server) understand best; it describes the input form, defaults
 * included.
 */

import * as z from 'zod';
import { DomainConfigSchema } from './schema.js';

export function renderConfigJsonSchema(): string {
  const schema = z.toJSONSchema(DomainConfigSchema, { io: 'input', target: 'draft-7' }) as Record<string, unknown>;
  const { $schema, ...rest } = schema;
  const out = { $schema, title: 'xenemu domain config', ...rest };
  return `${JSON.stringify(out, null, 2)}\n`;
}
