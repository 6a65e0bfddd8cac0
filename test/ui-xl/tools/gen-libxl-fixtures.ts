// Writes fixtures/libxl/guests/DOMID.json: the libxl JSON of each GUEST_DOMAINS config,
// as the formatter prints it. gen-libxl-goldens.sh then has the real libxl reprint them.
//   npx tsx test/ui-xl/tools/gen-libxl-fixtures.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { libxlDomainConfigGenJson } from '../../../src/toolstack/libxl/json.js';
import { YajlGen } from '../../../src/toolstack/libxl/yajl.js';
import { GUEST_DOMAINS } from '../guest-specs.js';
import { FIXTURES } from '../helpers.js';

const dir = join(FIXTURES, 'libxl', 'guests');
mkdirSync(dir, { recursive: true });
for (const d of GUEST_DOMAINS) {
  const g = new YajlGen();
  libxlDomainConfigGenJson(g, d.config);
  writeFileSync(join(dir, `${d.domid}.json`), g.buffer);
}
