import { existsSync, lstatSync, mkdirSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StatePaths } from '../state/state-dir.js';
import { onPath } from './invoked-as.js';

/**
 * `xenemu env`: the shell variables that point existing scripts at the emulated host.
 * XENSTORED_PATH is all libxenstore (the C tools, libxl, pyxs) needs. The real C tools
 * answer in ~2 ms and any Node program needs 60+, so a shim goes on PATH only for a
 * tool this machine lacks, and in a directory appended to PATH: it can never shadow a
 * real tool.
 *
 * xl and xentop are the exception: they only work on a Xen host (xl opens
 * /dev/xen/privcmd before anything else, xentop's xenstat_init opens it too), so where
 * that device is missing an installed one is useless and xenemu's goes in front of it,
 * in a second directory that holds nothing else.
 */

/** Debian's xenstore-utils, plus xenstore-control from xen-utils. */
export const XENSTORE_TOOLS = [
  'xenstore',
  'xenstore-read',
  'xenstore-write',
  'xenstore-ls',
  'xenstore-list',
  'xenstore-rm',
  'xenstore-exists',
  'xenstore-chmod',
  'xenstore-watch',
  'xenstore-control',
] as const;

/** Tools with a shim, and the bin/ script each one runs. */
const SHIM_SCRIPTS: Readonly<Record<string, string>> = {
  ...Object.fromEntries(XENSTORE_TOOLS.map((t) => [t, 'xenstore.js'])),
  xl: 'xl.js',
  xentop: 'xentop.js',
};

/** Tools that cannot work without Xen: where /dev/xen is missing, ours go in front of an installed one. */
const NEED_XEN = ['xl', 'xentop'];

export interface EnvVariables {
  XENEMU_HOME: string;
  XENSTORED_PATH: string;
  /** Only when a shim is needed: PATH with the shim directory appended. */
  PATH?: string;
}

export interface EnvPlan {
  variables: EnvVariables;
  /** The tools that get a shim (those missing from PATH, and xl and xentop where they cannot work). */
  shims: string[];
  shimDir: string;
  /** The directory put in front of PATH, for an installed xl or xentop that cannot work here. */
  overrideDir: string;
}

/** A bin/ script, whether we run compiled (dist/src/compat) or from sources (src/compat). */
export function binScript(name: string): string {
  for (const rel of [`../../../bin/${name}`, `../../bin/${name}`]) {
    const file = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(file)) return file;
  }
  throw new Error(`cannot find bin/${name} next to the xenemu sources`);
}

/**
 * Work out the variables and make the shim directories match them: a link to the bin/
 * script for each missing tool, and no link of ours for a tool that is present
 * (installed since the last run). The shim directories themselves are left out of the
 * PATH search, so running `env` again after `eval` gives the same answer.
 */
export function prepareEnv(paths: StatePaths, env: NodeJS.ProcessEnv = process.env, script = binScript, hasXen = existsSync('/dev/xen/privcmd')): EnvPlan {
  const shimDir = resolve(paths.shimDir);
  const overrideDir = `${shimDir}-override`;
  const ours = [shimDir, overrideDir];
  const missing = Object.keys(SHIM_SCRIPTS).filter((tool) => onPath(tool, env, ours) === undefined);
  const unusable = hasXen ? [] : NEED_XEN.filter((tool) => onPath(tool, env, ours) !== undefined);
  syncLinks(shimDir, missing, script);
  syncLinks(overrideDir, unusable, script);
  const variables: EnvVariables = { XENEMU_HOME: paths.home, XENSTORED_PATH: paths.socket };
  if (missing.length > 0 || unusable.length > 0) {
    const entries = (env.PATH ?? '').split(delimiter).filter((e) => e !== '' && !ours.includes(resolve(e)));
    variables.PATH = [...(unusable.length > 0 ? [overrideDir] : []), ...entries, ...(missing.length > 0 ? [shimDir] : [])].join(delimiter);
  }
  return { variables, shims: [...missing, ...unusable], shimDir, overrideDir };
}

/** Make `dir` hold exactly our links for `tools`, leaving anything else in it alone. */
function syncLinks(dir: string, tools: readonly string[], script: (name: string) => string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const tool of Object.keys(SHIM_SCRIPTS)) {
    const link = join(dir, tool);
    const current = linkTarget(link);
    if (tools.includes(tool)) {
      const target = script(SHIM_SCRIPTS[tool]!);
      if (current === target) continue;
      if (current !== undefined) unlinkSync(link);
      symlinkSync(target, link);
    } else if (current !== undefined) {
      unlinkSync(link);
    }
  }
}

/** Where `link` points if it is a symlink (ours to manage), else undefined. */
function linkTarget(link: string): string | undefined {
  try {
    return lstatSync(link).isSymbolicLink() ? readlinkSync(link) : undefined;
  } catch {
    return undefined;
  }
}

/** POSIX single quotes: nothing inside is special except the quote itself. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `export NAME='value'` lines for `eval "$(xenemu env)"`, with a comment naming the shims. */
export function formatEnv(plan: EnvPlan): string {
  const lines = Object.entries(plan.variables).map(([name, value]) => `export ${name}=${shellQuote(value as string)}`);
  if (plan.shims.length > 0) lines.push(`# xenemu: shims in ${plan.shimDir} for ${plan.shims.join(' ')} (real tools are used where installed)`);
  return `${lines.join('\n')}\n`;
}
