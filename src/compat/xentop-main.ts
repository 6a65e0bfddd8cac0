import { atoi } from '../common/c-number.js';
import { XenemuError } from '../common/errors.js';
import { resolveHome, statePaths } from '../state/state-dir.js';
import { topDelayMs, type TopRun } from '../ui/top/run.js';
import { getoptLong, type LongOption } from './getopt.js';
import { invokedAs } from './invoked-as.js';

/**
 * xentop for machines without Xen: xentop 4.17's command line (its getopt_long loop,
 * usage and version text) in front of `xenemu top`, so scripts that run `xentop -b -i 1`
 * and people who type `xentop` (or `xl top`) get the emulated host. The batch text is
 * xentop's byte for byte (src/ui/xentop-batch.ts); the screen is xenemu's dashboard.
 */

const LONGOPTS: readonly LongOption[] = [
  { name: 'help', short: 'h', hasArg: false },
  { name: 'version', short: 'V', hasArg: false },
  { name: 'networks', short: 'n', hasArg: false },
  { name: 'vbds', short: 'x', hasArg: false },
  { name: 'repeat-header', short: 'r', hasArg: false },
  { name: 'vcpus', short: 'v', hasArg: false },
  { name: 'delay', short: 'd', hasArg: true },
  { name: 'batch', short: 'b', hasArg: false },
  { name: 'iterations', short: 'i', hasArg: true },
  { name: 'full-name', short: 'f', hasArg: false },
];

/** xentop.c's usage(), with the program name as invoked. */
export function xentopUsage(program: string): string {
  return (
    `Usage: ${program} [OPTION]\n` +
    'Displays ongoing information about xen vm resources \n\n' +
    '-h, --help           display this help and exit\n' +
    '-V, --version        output version information and exit\n' +
    '-d, --delay=SECONDS  seconds between updates (default 3)\n' +
    '-n, --networks       output vif network data\n' +
    '-x, --vbds           output vbd block device data\n' +
    '-r, --repeat-header  repeat table header before each domain\n' +
    '-v, --vcpus          output vcpu data\n' +
    '-b, --batch\t     output in batch mode, no user input accepted\n' +
    '-i, --iterations     number of iterations before exiting\n' +
    '-f, --full-name      output the full domain name (not truncated)\n' +
    '\nReport bugs to <xen-devel@lists.xen.org>.\n'
  );
}

export const XENTOP_VERSION_TEXT =
  'xentop 1.0\n' +
  'Written by Judy Fischbach, David Hendricks, Josh Triplett\n' +
  '\n' +
  'Copyright (C) 2005  International Business Machines  Corp\n' +
  'This is free software; see the source for copying conditions.There is NO\n' +
  'warranty; not even for MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.\n';

/** What the command line asks for: text to print and a status, or a run. */
export type XentopPlan = { exit: number; stdout: string; stderr: string } | { run: Omit<TopRun, 'paths'> };

/**
 * xentop's option loop. As in xentop, -h, -V and a bad option end it at once (a bad
 * option prints glibc's complaint, then the usage, and exits 0, as its `case '?'`
 * does); operands are ignored; -d and -i go through atoi(). The delay is whole
 * seconds as in xentop, held to what the daemon's stats stream takes (0.1 s to an
 * hour: xentop -b -d 0 would print as fast as it can). -i 0 or less never stops,
 * as xentop's unsigned count wraps.
 */
export function planXentop(program: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): XentopPlan {
  const o = { delay: 3, batch: false, iterations: 0, vcpus: false, networks: false, vbds: false, repeatHeader: false, fullName: false };
  const g = getoptLong([program, ...args], 'hVnxrvd:bi:f', LONGOPTS, env);
  for (let step = g.next(); !step.done; step = g.next()) {
    const ev = step.value;
    if (ev.kind === 'error') return { exit: 0, stdout: xentopUsage(program), stderr: `${ev.diagnostic}\n` };
    switch (ev.opt) {
      case 'h':
        return { exit: 0, stdout: xentopUsage(program), stderr: '' };
      case 'V':
        return { exit: 0, stdout: XENTOP_VERSION_TEXT, stderr: '' };
      case 'n':
        o.networks = true;
        break;
      case 'x':
        o.vbds = true;
        break;
      case 'r':
        o.repeatHeader = true;
        break;
      case 'v':
        o.vcpus = true;
        break;
      case 'd':
        o.delay = atoi(ev.arg!);
        break;
      case 'b':
        o.batch = true;
        break;
      case 'i':
        o.iterations = Math.max(0, atoi(ev.arg!));
        break;
      case 'f':
        o.fullName = true;
        break;
    }
  }
  return {
    run: {
      delayMs: topDelayMs(o.delay),
      batch: o.batch,
      json: false,
      iterations: o.iterations,
      batchOptions: { vcpus: o.vcpus, networks: o.networks, vbds: o.vbds, repeatHeader: o.repeatHeader, fullName: o.fullName },
      allSources: false,
    },
  };
}

/** xentop's main: plan, then run against $XENEMU_HOME's daemon; resolves with the exit status. */
export async function xentopMain(program: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const plan = planXentop(program, args, env);
  if ('exit' in plan) {
    process.stderr.write(plan.stderr);
    await new Promise<void>((done) => process.stdout.write(plan.stdout, () => done()));
    return plan.exit;
  }
  if (!plan.run.batch && process.stdout.isTTY !== true) {
    process.stderr.write(`${program}: standard output is not a terminal: use -b for the batch text\n`);
    return 1;
  }
  try {
    const { runTop } = await import('../ui/top/run.js');
    return await runTop({ ...plan.run, paths: statePaths(resolveHome(env)) });
  } catch (err) {
    // xentop's words when xenstat_init fails, then why.
    if (err instanceof XenemuError) {
      process.stderr.write(`Failed to initialize xenstat library\nxenemu: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

/** bin/xentop.js: the program name as the user typed it. */
export function xentopShim(scriptPath: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return xentopMain(invokedAs(scriptPath, env), args, env);
}
