import { parseLikeOclif, type ManifestCommand } from '../cli/oclif-argv.js';
import { XL_VERBS, isXlVerb, type XlVerb } from './xl-verbs.js';

/**
 * `xenemu <xl verb> ...` without oclif: the command line is parsed from the verb's
 * entry in oclif.manifest.json exactly as oclif would (src/cli/oclif-argv.ts), the
 * verb's entry of XL_VERBS runs, and the output, messages and exit status are the ones
 * the oclif command (src/compat/xl-command.ts) gives. Returns false, having done
 * nothing, for whatever it does not understand (help, --json, a usage error...):
 * oclif then takes the command line. Loads xl-commands.ts and what it needs; the
 * config reader, the daemon starter and chalk only when they are needed.
 */
export async function fastXl(argv: readonly string[], command: ManifestCommand | undefined): Promise<boolean> {
  const name = argv[0];
  if (!isXlVerb(name) || command === undefined) return false;
  const verb: XlVerb<unknown> = XL_VERBS[name];
  const parsed = parseLikeOclif(command, argv.slice(1));
  if (parsed === null || verb.usage?.(parsed) !== undefined) return false;

  const [xl, { XenemuError }, { resolveHome, statePaths }] = await Promise.all([
    import('./xl-commands.js'),
    import('../common/errors.js'),
    import('../state/state-dir.js'),
  ]);
  let session: InstanceType<typeof xl.XlSession> | undefined;
  try {
    session = new xl.XlSession(statePaths(resolveHome()), (text) => process.stderr.write(text));
    const out = await verb.run(xl, session, parsed);
    process.stdout.write(out.stdout);
  } catch (err) {
    if (err instanceof xl.XlFailure) {
      process.stdout.write(err.stdout);
      process.stderr.write(err.stderr);
      process.exitCode = err.exitStatus;
    } else if (err instanceof XenemuError) {
      await (await import('../cli/report-error.js')).reportXenemuError(err);
      process.exitCode = err.exitStatus;
    } else {
      // Not ours to word: oclif prints it as it would have (and exits).
      await (await import('@oclif/core')).handle(err as Error);
    }
  } finally {
    session?.close();
  }
  return true;
}
