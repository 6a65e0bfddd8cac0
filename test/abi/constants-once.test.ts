import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ABI_CONSTANT_GROUPS } from '../../src/abi/constants.js';
import { XEN_PAGE_SIZE } from '../../src/abi/layout.js';

// A Xen constant has one definition, in src/abi (checked against the C headers by
// offsets.test.ts); everything else imports it. A second copy drifts unnoticed.

const SRC = new URL('../../src/', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

test('no module outside src/abi defines a constant named after a Xen macro, with or without XEN_', (t) => {
  const names = new Set<string>(['XEN_PAGE_SIZE']);
  for (const g of ABI_CONSTANT_GROUPS) for (const k of Object.keys(g.values)) names.add(`${g.prefix}${k}`);
  for (const n of [...names]) if (n.startsWith('XEN_')) names.add(n.slice(4));
  const defined: string[] = [];
  for (const file of sources(SRC)) {
    const rel = relative(SRC, file);
    if (rel.startsWith('abi/')) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(/\bconst ([A-Z][A-Z0-9_]*)\s*[:=]/g)) {
      if (names.has(m[1]!)) defined.push(`${rel}: ${m[1]}`);
    }
  }
  t.deepEqual(defined, []);
  t.is(XEN_PAGE_SIZE, 4096);
});
