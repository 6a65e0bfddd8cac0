import { existsSync, lstatSync, mkdirSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StatePaths } from '../host/state-dir.js';
import { onPath } from './invoked-as.js';

/**
 * `xenemu env`: the shell variables that point existing scripts at the emulated host.
 * XENSTORED_PATH is all libxenstore (the C tools, libxl, pyxs) needs. The real C tools
 * answer in ~2 ms and any Node program needs 60+, so a shim goes on PATH only for a
 * tool this machine lacks, and in a directory appended to PATH: it can never shadow a
 * real tool.
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

export interface EnvVariables {
  XENEMU_HOME: string;
  XENSTORED_PATH: string;
  /** Only when a shim is needed: PATH with the shim directory appended. */
  PATH?: string;
}

export interface EnvPlan {
  variables: EnvVariables;
  /** The tools that get a shim (those missing from PATH). */
  shims: string[];
  shimDir: string;
}

/** bin/xenstore.js, whether we run compiled (dist/src/compat) or from sources (src/compat). */
export function shimTarget(): string {
  for (const rel of ['../../../bin/xenstore.js', '../../bin/xenstore.js']) {
    const file = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(file)) return file;
  }
  throw new Error('cannot find bin/xenstore.js next to the xenemu sources');
}

/**
 * Work out the variables and make the shim directory match them: a link to
 * bin/xenstore.js for each missing tool, and no link of ours for a tool that is
 * present (installed since the last run). The shim directory itself is left out of
 * the PATH search, so running `env` again after `eval` gives the same answer.
 */
export function prepareEnv(paths: StatePaths, env: NodeJS.ProcessEnv = process.env, target = shimTarget()): EnvPlan {
  const shimDir = resolve(paths.shimDir);
  const shims = XENSTORE_TOOLS.filter((tool) => onPath(tool, env, [shimDir]) === undefined);
  mkdirSync(shimDir, { recursive: true, mode: 0o700 });
  for (const tool of XENSTORE_TOOLS) {
    const link = join(shimDir, tool);
    const ours = linkTarget(link);
    if (shims.includes(tool)) {
      if (ours === target) continue;
      if (ours !== undefined) unlinkSync(link);
      symlinkSync(target, link);
    } else if (ours !== undefined) {
      unlinkSync(link);
    }
  }
  const variables: EnvVariables = { XENEMU_HOME: paths.home, XENSTORED_PATH: paths.socket };
  if (shims.length > 0) {
    const entries = (env.PATH ?? '').split(delimiter).filter((e) => e !== '' && resolve(e) !== shimDir);
    variables.PATH = [...entries, shimDir].join(delimiter);
  }
  return { variables, shims, shimDir };
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
