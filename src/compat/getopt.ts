/**
 * GNU getopt_long as glibc 2.36 (Debian 12) runs it for the xenstore tools: option
 * clusters (`-pR`), attached or separate arguments (`-n3`, `-n 3`), long options with
 * unique-prefix abbreviation (`--pre`), `--name=value`, `--` ending the options, and
 * permutation (operands may come before options) unless POSIXLY_CORRECT is set.
 *
 * Like glibc it reports a bad option on stderr (the caller prints `diagnostic`) and
 * goes on; the xenstore tools ignore the '?' it returns, so `xenstore-read -x /a`
 * still reads /a. The messages name `argv[0]` exactly as glibc does: the program as
 * invoked for `xenstore-read`, the mode word for `xenstore read`.
 */

export interface LongOption {
  name: string;
  hasArg: boolean;
  /** The short option it stands for. */
  short: string;
}

export type GetoptEvent =
  | { kind: 'option'; opt: string; arg?: string }
  /** A bad option: glibc printed `diagnostic` and returned '?'. */
  | { kind: 'error'; diagnostic: string };

/**
 * Iterate over the options of `argv` (argv[0] is the name used in messages). Once
 * the generator is done, its return value is the operands, in their original order.
 */
export function* getoptLong(
  argv: readonly string[],
  optstring: string,
  longopts: readonly LongOption[],
  env: NodeJS.ProcessEnv = process.env,
): Generator<GetoptEvent, string[], void> {
  const name = argv[0] ?? '';
  const posixly = env.POSIXLY_CORRECT !== undefined || optstring.startsWith('+');
  const shorts = optstring.replace(/^[+-]/, '');
  const operands: string[] = [];
  let i = 1;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (a.length < 2 || !a.startsWith('-')) {
      if (posixly) break;
      operands.push(a);
      continue;
    }
    if (a.startsWith('--')) {
      const body = a.slice(2);
      const eq = body.indexOf('=');
      const optName = eq < 0 ? body : body.slice(0, eq);
      let found = longopts.find((o) => o.name === optName);
      if (!found) {
        const matches = longopts.filter((o) => o.name.startsWith(optName));
        if (matches.length === 0) {
          yield { kind: 'error', diagnostic: `${name}: unrecognized option '--${body}'` };
          continue;
        }
        // glibc calls prefixes ambiguous only when the candidates differ; ours all do.
        if (matches.length > 1) {
          const possibilities = matches.map((o) => ` '--${o.name}'`).join('');
          yield { kind: 'error', diagnostic: `${name}: option '--${body}' is ambiguous; possibilities:${possibilities}` };
          continue;
        }
        found = matches[0]!;
      }
      if (eq >= 0) {
        if (!found.hasArg) {
          yield { kind: 'error', diagnostic: `${name}: option '--${found.name}' doesn't allow an argument` };
          continue;
        }
        yield { kind: 'option', opt: found.short, arg: body.slice(eq + 1) };
      } else if (found.hasArg) {
        if (i + 1 >= argv.length) {
          yield { kind: 'error', diagnostic: `${name}: option '--${found.name}' requires an argument` };
          continue;
        }
        yield { kind: 'option', opt: found.short, arg: argv[++i]! };
      } else {
        yield { kind: 'option', opt: found.short };
      }
      continue;
    }
    // A cluster of short options; one that takes an argument ends the cluster.
    for (let k = 1; k < a.length; k++) {
      const c = a[k]!;
      const at = c === ':' ? -1 : shorts.indexOf(c);
      if (at < 0) {
        yield { kind: 'error', diagnostic: `${name}: invalid option -- '${c}'` };
        continue;
      }
      if (shorts[at + 1] !== ':') {
        yield { kind: 'option', opt: c };
        continue;
      }
      if (k + 1 < a.length) {
        yield { kind: 'option', opt: c, arg: a.slice(k + 1) };
      } else if (i + 1 < argv.length) {
        yield { kind: 'option', opt: c, arg: argv[++i]! };
      } else {
        yield { kind: 'error', diagnostic: `${name}: option requires an argument -- '${c}'` };
      }
      break;
    }
  }
  operands.push(...argv.slice(i));
  return operands;
}
