import { basename } from 'node:path';
import { runControl } from './control-tool.js';
import { invokedAs } from './invoked-as.js';
import { isCMode, multiCallUsage, parseToolArgs, toByteString, usageText } from './xenstore-args.js';
import { exitQuietlyOnEpipe, runTool, type RunContext } from './xenstore-run.js';

/**
 * The multi-call binary, like Debian's /usr/bin/xenstore with its xenstore-* links:
 * `xenstore-read KEY` (mode from the name) or `xenstore read KEY` (mode from the first
 * argument), plus `xenstore-control`. Same syntax, output, stderr and exit status as
 * the C tools; bin/xenstore.js calls this.
 *
 * The C main() is followed closely: errx/warnx prefix the *short* name of argv[0],
 * usage lines and getopt messages show argv[0] (for `xenstore read`, getopt names the
 * mode word, since it is handed argv + 1).
 */
export async function shimMain(scriptPath: string, rawArgs: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  exitQuietlyOnEpipe();
  const argv0 = toByteString(invokedAs(scriptPath, env));
  const args = rawArgs.map(toByteString);
  const progname = basename(argv0);
  const ctx: RunContext = { progname, compatErrors: true, env };
  const say = (message: string): void => {
    process.stderr.write(Buffer.from(`${progname}: ${message}\n`, 'latin1'));
  };

  if (progname === 'xenstore-control') return runControl(argv0, args, ctx);

  let mode: string;
  let getoptArgv: string[];
  const multiCall = !progname.startsWith('xenstore-');
  if (!multiCall) {
    mode = progname.slice('xenstore-'.length);
    getoptArgv = [argv0, ...args];
  } else if (args.length === 0) {
    say(multiCallUsage(argv0));
    return 1;
  } else {
    mode = args[0]!;
    getoptArgv = args;
  }
  if (!isCMode(mode)) {
    // The C format string ends in "\n" and errx adds another.
    say(`unknown mode ${mode}\n`);
    return 1;
  }
  const parsed = parseToolArgs(mode, getoptArgv, env);
  for (const d of parsed.diagnostics) process.stderr.write(Buffer.from(`${d}\n`, 'latin1'));
  if (parsed.request === null) {
    say(usageText(mode, argv0, multiCall));
    return 1;
  }
  return runTool(parsed.request, ctx);
}
