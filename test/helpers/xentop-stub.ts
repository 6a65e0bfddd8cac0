import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { xenToolsDir } from './run.js';

/** The real xentop of Xen 4.17 (from xen-utils-4.17, see scripts/fetch-xen-tools.sh). */
export const XENTOP = join(xenToolsDir(), 'xentop');

const FIXTURES = new URL('../top/fixtures/', import.meta.url).pathname;

/**
 * Build, in `dir`, what runs the real xentop on a machine without Xen: a stand-in
 * libxenstat (test/top/fixtures/xenstat-stub.c, under the soname and symbol version
 * xentop links against: run xentop with LD_LIBRARY_PATH=dir) serving the hosts named
 * by $XENSTAT_STUB, and libclock.so (LD_PRELOAD it) stepping gettimeofday() by
 * $XENTOP_STEP_US per call.
 */
export function buildXentopStub(dir: string): void {
  if (!existsSync(XENTOP)) throw new Error(`${XENTOP} is missing: run scripts/test-prereqs.sh (it fetches xen-utils-4.17)`);
  writeFileSync(join(dir, 'vers.map'), 'VERS_4.17.0 { global: xenstat_*; local: *; };\n');
  execFileSync('gcc', ['-O1', '-shared', '-fPIC', '-o', join(dir, 'libxenstat.so.4.17'), join(FIXTURES, 'xenstat-stub.c'), '-Wl,-soname,libxenstat.so.4.17', `-Wl,--version-script=${join(dir, 'vers.map')}`]);
  execFileSync('gcc', ['-O1', '-shared', '-fPIC', '-o', join(dir, 'libclock.so'), join(FIXTURES, 'clock-stub.c')]);
}
