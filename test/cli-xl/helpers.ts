import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceClient } from '../../src/client/devices.js';
import { DomainClient } from '../../src/client/domains.js';
import { writeHostConfig, type HostConfig } from '../../src/state/host-config.js';
import { statePaths } from '../../src/state/state-dir.js';
import type { NicInfo } from '../../src/toolstack/devices/vif.js';
import type { VbdInfo } from '../../src/toolstack/devices/vbd.js';
import type { XlDomainRow } from '../../src/toolstack/libxl/rows.js';
import { startHost, tempHome, type TestHost } from '../helpers/daemon.js';

/**
 * The xl family run the way users run it: the built `xenemu` (bin/run.js, oclif) and
 * the `xl` shim (bin/xl.js), as child processes against a daemon of the test's own
 * on a fixed emulated machine. Waits are on states (polled through the RPC), never
 * on time.
 */

export const REPO = new URL('../../', import.meta.url).pathname;
export const RUN_JS = join(REPO, 'bin/run.js');
export const XL_JS = join(REPO, 'bin/xl.js');
export const CONFIGS = join(REPO, 'configs');

/** The emulated machine of every test host: 4 CPUs, 16 GiB, dom0 1 GiB. */
export const HOST_PCPUS = 4;
export const HOST_MEMORY_MIB = 16384;
export const DOM0_MEMORY_MIB = 1024;

/** bin/run.js and bin/xl.js load dist/ (and oclif its manifest): refuse to test stale output. */
export function assertXlBuilt(): void {
  const built = join(REPO, 'dist/src/compat/xl-main.js');
  let builtAt: number;
  try {
    builtAt = statSync(built).mtimeMs;
  } catch {
    throw new Error(`${built} is missing: run \`npx tsc -p tsconfig.build.json && npx oclif manifest\` first`);
  }
  for (const dir of ['src/compat', 'src/client', 'src/ui/xl', 'src/toolstack/libxl', 'commands']) {
    for (const f of readdirSync(join(REPO, dir))) {
      const st = statSync(join(REPO, dir, f));
      if (st.isFile() && st.mtimeMs > builtAt) throw new Error(`dist/ is older than ${dir}/${f}: run \`npx tsc -p tsconfig.build.json\` first`);
    }
  }
  const manifest = readFileSync(join(REPO, 'oclif.manifest.json'), 'utf8');
  if (!manifest.includes('"vcpu-list"')) throw new Error('oclif.manifest.json lacks the xl commands: run `npx oclif manifest`');
}

export interface Outcome {
  stdout: string;
  stderr: string;
  code: number;
}

/** Run a node script to completion (in `cwd`, for relative paths; else this process's). */
export function runNode(script: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], ...(cwd !== undefined ? { cwd } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ stdout, stderr, code: code ?? (signal ? 128 : -1) }));
  });
}

export interface XlHost {
  host: TestHost;
  env: NodeJS.ProcessEnv;
  /** `xenemu ARGS` (bin/run.js). */
  xenemu(...args: string[]): Promise<Outcome>;
  /** `xl ARGS` (the shim). */
  xl(...args: string[]): Promise<Outcome>;
  /** The daemon's domain methods, for waiting on states. */
  client(): Promise<DomainClient>;
  /** Poll `domain.list` until `check` holds (each poll is one round trip; no fixed sleeps). */
  until(check: (rows: XlDomainRow[]) => boolean, what: string): Promise<XlDomainRow[]>;
  /** Poll `block.list` until each of the domain's disks has both ends Connected (4); returns them. */
  disksConnected(domain: string): Promise<VbdInfo[]>;
  /** Poll `network.list` until the domain has `count` vifs, each with both ends Connected (4); returns them. */
  nicsConnected(domain: string, count: number): Promise<NicInfo[]>;
  dispose(): Promise<void>;
}

/** A daemon in a fresh state dir, on the fixed emulated machine (with `settings` added to its host.yaml). */
export async function xlHost(settings: Omit<HostConfig, 'faults'> = {}): Promise<XlHost> {
  const home = tempHome();
  const paths = statePaths(home);
  // A host as xencommons leaves it: xl looks dom0 up by its name in XenStore. dom0 has
  // the bridges the test configs name (a vif on another fails as vif-bridge fails it).
  writeHostConfig(paths.hostConfig, { pcpus: HOST_PCPUS, memory: HOST_MEMORY_MIB, dom0_memory: DOM0_MEMORY_MIB, xen_init_dom0: true, bridges: ['xenbr0', 'xenbr1'], ...settings });
  const host = await startHost(home);
  // Not XENSTORED_PATH: the commands under test find everything through XENEMU_HOME.
  const env: NodeJS.ProcessEnv = { ...process.env, XENEMU_HOME: home };
  delete env.XENSTORED_PATH;
  let client: Promise<DomainClient> | undefined;
  const getClient = (): Promise<DomainClient> => (client ??= DomainClient.connect(paths, { start: false }));
  return {
    host,
    env,
    xenemu: (...args) => runNode(RUN_JS, args, env),
    xl: (...args) => runNode(XL_JS, args, env),
    client: getClient,
    async until(check, what) {
      const c = await getClient();
      for (let i = 0; i < 2000; i++) {
        const rows = await c.list();
        if (check(rows)) return rows;
        // Let the daemon run the guest a little between polls (a round trip is not enough
        // to give a deferred domain action its turn, a timer is).
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error(`never happened: ${what}`);
    },
    async disksConnected(domain) {
      const devices = new DeviceClient((await getClient()).rpc);
      for (let i = 0; i < 2000; i++) {
        const disks = await devices.blockList(domain);
        if (disks.length > 0 && disks.every((d) => d.state === 4 && d.backendState === 4)) return disks;
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error(`never happened: ${domain}'s disks Connected`);
    },
    async nicsConnected(domain, count) {
      const devices = new DeviceClient((await getClient()).rpc);
      for (let i = 0; i < 2000; i++) {
        const nics = await devices.networkList(domain);
        if (nics.length === count && nics.every((n) => n.state === 4 && n.backendState === 4)) return nics;
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error(`never happened: ${domain}'s ${count} vifs Connected`);
    },
    async dispose() {
      if (client) (await client.catch(() => null))?.close();
      await host.dispose();
    },
  };
}

/** The scratch directories to remove at exit (one listener for them all, however many a test file makes). */
const scratchDirs: string[] = [];

/** A scratch directory removed at exit. */
export function scratch(prefix = 'xe-xl-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (scratchDirs.length === 0) process.on('exit', () => scratchDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  scratchDirs.push(dir);
  return dir;
}

/** Write a file in a scratch directory; returns its path. */
export function scratchFile(name: string, text: string): string {
  const path = join(scratch(), name);
  writeFileSync(path, text);
  return path;
}

/** `xl list`'s Time(s) column is the one moving part of a row: `%8.1f`. */
export const TIME = '[ 0-9]{6}\\.[0-9]';

/** Escape a literal for a RegExp. */
export const lit = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The regex of one `xl list` row (`%-40s %5d %5lu %5d     %c%c%c%c%c%c  %8.1f`), any CPU time. */
export function listRow(name: string, domid: number, memMiB: number, vcpus: number, state: string): string {
  return `${lit(name.padEnd(40))} ${String(domid).padStart(5)} ${String(memMiB).padStart(5)} ${String(vcpus).padStart(5)}     ${lit(state)}  ${TIME}`;
}

export const LIST_HEADER = 'Name                                        ID   Mem VCPUs\tState\tTime(s)';
/** LIST_HEADER as a RegExp source. */
export const LIST_HEADER_RE = lit(LIST_HEADER);
