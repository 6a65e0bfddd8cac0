// Writes configs/schema.json from the domain config's zod schema.
// Run: node --import=tsx scripts/gen-config-schema.ts
import { writeFileSync } from 'node:fs';
import { renderConfigJsonSchema } from '../src/toolstack/config/json-schema.js';

const target = new URL('../configs/schema.json', import.meta.url);
writeFileSync(target, renderConfigJsonSchema());
console.log(`wrote ${target.pathname}`);
