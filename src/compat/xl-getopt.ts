/**
 * def_getopt() and SWITCH_FOREACH_OPT (tools/xl/xl_utils.c, xl.h): how every xl
 * subcommand reads its options, on top of glibc's getopt_long (getopt.ts).
 *
 * xl sets opterr = 0, so getopt prints nothing; a bad option, or one missing its
 * argument, ends xl with "option `X' not supported." and status 2, X being glibc's
 * optopt (NUL for an unknown or ambiguous long option, which xl prints as a NUL
 * byte). -h and --help print the command's help and exit 0. Too few operands print
 * "'xl CMD' requires at least N argument(s)." then the help, status 2. The first of
 * these in argv order wins, as xl stops at it.
 */

import { formatCommandHelp, formatTooFewArguments, formatUnsupportedOption } from '../ui/xl/index.js';
import { getoptLong, type LongOption } from './getopt.js';

/** xl's COMMON_LONG_OPTS: every subcommand knows --help. */
export const HELP_LONG: LongOption = { name: 'help', hasArg: false, short: 'h' };

/** The end of an xl run: what it printed and its status. */
export interface XlExit {
  stdout: string;
  stderr: string;
  code: number;
}

export interface ParsedXlArgs {
  /** The options in order; `arg` for those that take one. */
  options: { opt: string; arg?: string }[];
  operands: string[];
}

/**
 * glibc's optopt for a getopt diagnostic: the option character, or the `val` of a
 * long option given an argument it does not take / lacking one, or NUL.
 */
function optoptOf(diagnostic: string, longopts: readonly LongOption[]): string {
  let m = /: (?:invalid option|option requires an argument) -- '(.)'$/.exec(diagnostic);
  if (m) return m[1]!;
  m = /: option '--([^']*)' (?:doesn't allow an argument|requires an argument)$/.exec(diagnostic);
  if (m) return longopts.find((o) => o.name === m![1])?.short ?? '\0';
  return '\0';
}

/**
 * Parse a subcommand's argv (argv[0] is the command word) the way def_getopt() does.
 * `name` is the command's full name (help and messages use it); `optstring` is what
 * follows SWITCH_FOREACH_OPT's implied "h".
 */
export function xlGetopt(
  name: string,
  argv: readonly string[],
  optstring: string,
  longopts: readonly LongOption[],
  reqargs: number,
  env: NodeJS.ProcessEnv = process.env,
): ParsedXlArgs | XlExit {
  const all = longopts.some((o) => o.name === 'help') ? longopts : [...longopts, HELP_LONG];
  const options: ParsedXlArgs['options'] = [];
  const it = getoptLong(argv, `h${optstring}`, all, env);
  const help: XlExit = { stdout: formatCommandHelp(name), stderr: '', code: 0 };
  for (;;) {
    const step = it.next();
    if (step.done) {
      const operands = step.value;
      if (operands.length <= reqargs - 1) return { stdout: formatCommandHelp(name), stderr: formatTooFewArguments(name, reqargs), code: 2 };
      return { options, operands };
    }
    const ev = step.value;
    if (ev.kind === 'error') {
      const optopt = optoptOf(ev.diagnostic, all);
      if (optopt === 'h') return help;
      return { stdout: '', stderr: formatUnsupportedOption(optopt), code: 2 };
    }
    if (ev.opt === 'h') return help;
    options.push(ev.arg === undefined ? { opt: ev.opt } : { opt: ev.opt, arg: ev.arg });
  }
}

export function isXlExit(r: ParsedXlArgs | XlExit): r is XlExit {
  return 'code' in r;
}
