import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSaveStream } from '../../src/toolstack/migrate/stream-writer.js';
import { imageOf } from '../helpers/domain-image.js';
import { bootMachine, until, yamlConfig } from '../helpers/machine.js';
import { needing } from '../helpers/needing.js';
import { run, SYSTEM_PYTHON, xenToolsDir } from '../helpers/run.js';

// Xen's own checker of migration streams, from xen-utils-4.17 (scripts/fetch-xen-tools.sh),
// run as the package runs it: the system Python 3 with the package's library.
const VERIFY = join(xenToolsDir(), 'verify-stream-v2');
const LIB = join(xenToolsDir(), '../lib/python');
const verifying = needing(!existsSync(VERIFY) ? `verify-stream-v2 is not unpacked (${VERIFY}: run scripts/fetch-xen-tools.sh)` : !existsSync(SYSTEM_PYTHON) ? `no ${SYSTEM_PYTHON}` : null);

for (const type of ['pv', 'pvh', 'hvm'] as const) {
  verifying(`verify-stream-v2 -f xl accepts a ${type} domain's save file, record by record`, async (t) => {
    const tm = await bootMachine();
    const dir = mkdtempSync(join(tmpdir(), 'xe-vs-'));
    t.teardown(async () => {
      await tm.dispose();
      rmSync(dir, { recursive: true, force: true });
    });
    const r = await tm.m.toolstack.create(yamlConfig(`name: g\ntype: ${type}\nmemory: 64\nvcpus: 2\n`));
    await until(() => tm.m.kernel(r.domid)?.state === 'running', 'the guest boots');
    tm.m.kernel(r.domid)!.shell.input(Buffer.from('memwrite 5M\r'));
    const chunks: Uint8Array[] = [];
    await writeSaveStream((pieces) => void chunks.push(...pieces), await imageOf(tm, r.domid), '{"c_info":{"name":"g"}}');
    const file = join(dir, 'g.save');
    writeFileSync(file, Buffer.concat(chunks));
    const res = await run(SYSTEM_PYTHON, [VERIFY, '-f', 'xl', '-v', '-i', file], { env: { ...process.env, PYTHONPATH: LIB } });
    t.is(res.code, 0, res.stderr);
    t.regex(res.stdout, new RegExp(`Domain Header: x86 ${type === 'pv' ? 'PV' : 'HVM'} from Xen 4\\.17`));
    t.regex(res.stdout, /Squashed \d+ Page Data records together/);
    t.regex(res.stdout, type === 'pv' ? /x86 PV vcpu basic[\s\S]*vcpu1 basic context/ : /HVM params[\s\S]*HVM context/);
    t.regex(res.stdout, /Libxl Record: Emulator context[\s\S]*Libxl Record: End, length 0\s*$/);
  });
}
