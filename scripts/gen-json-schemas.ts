// Writes schemas/<command>.json, the JSON Schema of every command's --json output,
// from the zod schemas in src/ui/json/schemas.ts (and deletes files of commands gone).
// Run: node --import=tsx scripts/gen-json-schemas.ts
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { JSON_OUTPUTS, renderJsonSchema, schemaFileName, type JsonCommand } from '../src/ui/json/schemas.js';

const dir = new URL('../schemas/', import.meta.url);
mkdirSync(dir, { recursive: true });
const wanted = new Set<string>();
for (const command of [...(Object.keys(JSON_OUTPUTS) as JsonCommand[]), 'error' as const]) {
  const file = schemaFileName(command);
  wanted.add(file);
  writeFileSync(new URL(file, dir), renderJsonSchema(command));
}
for (const file of readdirSync(dir)) if (!wanted.has(file)) rmSync(new URL(file, dir));
console.log(`wrote ${wanted.size} schemas in ${dir.pathname}`);
