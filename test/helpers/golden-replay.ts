import type { ExecutionContext } from 'ava';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { GoldenCase } from './golden.js';
import { bash, runBackgroundWatch, scratchDir, toolEnv, type Outcome } from './xenstore-cli.js';
import { realXenstoreControl } from './xenstored-target.js';

/**
 * Replays golden captures through a directory of tools and compares byte for byte.
 *
 * Passes:
 * - `shim`: bin/xenstore.js under the C tools' names. Everything must match: stdout,
 *   stderr (with the C program names) and exit status.
 * - `xenemu`: the same command lines run as `xenemu xenstore <mode> ...` (fast path, or
 *   oclif with XENEMU_FAST_PATH=0). stdout, stderr (with the C program names, as
 *   `xenemu xenstore read` speaks as xenstore-read) and exit status must match. Two
 *   documented differences: usage errors are oclif's text (with the C tool's exit
 *   status) and the bare multi-call `xenstore` / `xenstore frob` cases, which test
 *   the C binary's mode dispatch that oclif's topics replace, are not replayed.
 */
export type Pass = 'shim' | 'xenemu';

interface Expected {
  stdout: string;
  /** undefined: not compared. */
  stderr?: string;
  exit: number;
}

const USAGE = /(^|: )Usage:/m;
/** glibc getopt's complaints: the C tool goes on, oclif refuses (see xenemu-cli.test.ts). */
const GETOPT_DIAGNOSTIC = /: (invalid option|unrecognized option|option .*(is ambiguous|doesn't allow an argument|requires an argument))/;
/** xenemu explains a connection failure in its own words. */
const CONNECT_FAILURE = /xs_open: |^Failed to contact Xenstored\./m;

/** What `pass` must produce for a capture, or null when it is not replayed. */
export function expectationFor(pass: Pass, c: GoldenCase): Expected | null {
  if (pass === 'shim') return { stdout: c.stdout, stderr: c.stderr, exit: c.exit };
  if (c.command === 'xenstore' || c.stderr.includes('unknown mode') || GETOPT_DIAGNOSTIC.test(c.stderr)) return null;
  if (USAGE.test(c.stderr)) {
    // oclif answers help with help (exit 0) and bad usage with its own error (the C tool's exit status).
    const help = /(^| )(-h|--help)( |$)/.test(c.command);
    return help ? { stdout: '(not compared)', exit: 0 } : { stdout: c.stdout, exit: c.exit };
  }
  if (CONNECT_FAILURE.test(c.stderr)) return { stdout: c.stdout, exit: c.exit };
  return { stdout: c.stdout, stderr: c.stderr, exit: c.exit };
}

/**
 * Whose output a capture is compared with: the capture itself, except for
 * xenstore-control, whose replies belong to the daemon (oxenstored says OK to every
 * command; xenemu lists its own in `help`; `quota 0` counts the whole store). Those
 * are compared with the real xenstore-control run at the same moment against the same
 * daemon, when we have that binary (null: skip).
 */
export async function referenceFor(c: GoldenCase, env: NodeJS.ProcessEnv): Promise<GoldenCase | null> {
  if (!c.command.startsWith('xenstore-control ')) return c;
  const real = realXenstoreControl();
  if (real === undefined) return null;
  const dir = scratchDir('xe-realctl-');
  symlinkSync(real, join(dir, 'xenstore-control'));
  const r = await bash(c.command, toolEnv(env, dir));
  return { ...c, stdout: r.stdout, stderr: r.stderr, exit: r.exit };
}

export async function runCase(c: GoldenCase, env: NodeJS.ProcessEnv): Promise<Outcome> {
  const watchLines = c.stdout.split('\n').length - 2;
  return (await runBackgroundWatch(c.command, env, watchLines)) ?? bash(c.command, env);
}

/** Where each case's expected output comes from (null: not replayed). */
export type ReferenceOf = (c: GoldenCase, index: number) => Promise<GoldenCase | null>;

/**
 * Replay `cases` in order with `toolDir` first on PATH and compare each with its
 * reference as `pass` requires; one deepEqual for the lot, so a diff shows every case.
 */
export async function replay(
  t: ExecutionContext,
  pass: Pass,
  cases: readonly GoldenCase[],
  env: NodeJS.ProcessEnv,
  toolDir: string,
  referenceOf: ReferenceOf = (c) => referenceFor(c, env),
): Promise<void> {
  const actual: Array<Outcome & { command: string }> = [];
  const expected: Array<Outcome & { command: string }> = [];
  const runEnv = toolEnv(env, toolDir);
  for (const [i, c] of cases.entries()) {
    const reference = await referenceOf(c, i);
    const want = reference && expectationFor(pass, reference);
    const got = await runCase(c, runEnv);
    if (!want) {
      t.log(`not compared in the ${pass} pass: ${c.command}`);
      continue;
    }
    const hide = (s: string, shown: string | undefined): string => (shown === undefined ? '(not compared)' : s);
    actual.push({ command: c.command, stdout: hide(got.stdout, want.stdout === '(not compared)' ? undefined : want.stdout), stderr: hide(got.stderr, want.stderr), exit: got.exit });
    expected.push({ command: c.command, stdout: want.stdout, stderr: hide(want.stderr ?? '', want.stderr), exit: want.exit });
  }
  t.deepEqual(actual, expected);
}

/** Run every case in order, as recorded references. */
export async function record(cases: readonly GoldenCase[], env: NodeJS.ProcessEnv, toolDir?: string): Promise<GoldenCase[]> {
  const out: GoldenCase[] = [];
  for (const c of cases) out.push({ ...c, ...(await runCase(c, toolEnv(env, toolDir))) });
  return out;
}
