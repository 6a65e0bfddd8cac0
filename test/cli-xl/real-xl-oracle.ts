import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { needing } from '../helpers/needing.js';
import { assertXlBuilt, REPO, xlHost, type Outcome, type XlHost } from './helpers.js';

/**
 * The real xl 4.17 (Debian's xen-utils-4.17, unpacked by scripts/fetch-xen-tools.sh),
 * run without a hypervisor: tools/fake-libxc.c answers its few libxenctrl calls (a host
 * of 4 CPUs with a lone Domain-0), and xenstore is a test's xenemu.
 */

export const XL = join(REPO, '.cache/xen-tools/usr/lib/xen-4.17/bin/xl');

function fakeLibxc(): string | null {
  const src = join(REPO, 'test/cli-xl/tools/fake-libxc.c');
  const key = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'xenemu-cli-xl-oracles');
  const so = join(dir, `fake-libxc-${key}.so`);
  if (existsSync(so)) return so;
  try {
    mkdirSync(dir, { recursive: true });
    execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', so, src], { stdio: 'ignore' });
    return so;
  } catch {
    return null;
  }
}

/** The fake libxc to preload, or null when the real xl or gcc is missing. */
export const fake = existsSync(XL) ? fakeLibxc() : null;

/** Register a test that needs the real xl: skipped, with the reason in the title, when it cannot run here. */
export const oracle = needing(!existsSync(XL) ? `the real xl is not unpacked (${XL}: run scripts/fetch-xen-tools.sh)` : fake === null ? 'gcc cannot build test/cli-xl/tools/fake-libxc.c' : null);

/** Run the real xl against `h`'s xenstored. */
export function realXl(h: XlHost, args: readonly string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const env = { ...h.env, LD_PRELOAD: fake!, XENSTORED_PATH: h.host.paths.socket };
    const child = spawn(XL, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      // Without /etc/xen/xl.conf, xl says so first and goes on with its defaults.
      stderr = stderr.replace(/^Failed to read config file: \/etc\/xen\/xl\.conf: .*\n/, '');
      resolve({ stdout, stderr: stderr.split(XL).join('xl'), code: code ?? -1 });
    });
  });
}

/**
 * The xenemu host a file's oracle tests run the real xl against: started before them
 * when the real xl can run, stopped after. Call at the top of the test file; the
 * function returned gives the host inside a test.
 */
export function oracleHost(): () => XlHost {
  let h: XlHost | undefined;
  test.before(async () => {
    if (fake === null) return;
    assertXlBuilt();
    h = await xlHost();
  });
  test.after.always(async () => {
    await h?.dispose();
  });
  return () => h!;
}
