import { readFileSync } from 'node:fs';
import type { ManifestCommand } from './oclif-argv.js';
import { isXlVerb, XL_VERBS, type XlVerb } from '../compat/xl-verbs.js';

/**
 * What bin/run.js does before oclif: the command lines scripts run over and over go
 * through fast paths that load neither oclif nor anything the command does not need
 * (Node's start-up is most of their cost: bench/cli-latency.ts). Each fast path
 * declines what it does not understand, and oclif runs that, help included.
 * XENEMU_FAST_PATH=0 sends everything through oclif.
 */
export async function dispatch(argv: readonly string[], manifest: URL, env: NodeJS.ProcessEnv = process.env): Promise<{ handled: boolean; argv: string[] }> {
  if (argv[0] === '__complete') {
    // Tab completion has no oclif path: it must answer at once.
    await (await import('./completion/run.js')).runComplete(argv.slice(1), manifestCommands(manifest));
    return { handled: true, argv: [...argv] };
  }
  const args = applyGlobalVerbose(argv);
  if (env.XENEMU_FAST_PATH === '0') return { handled: false, argv: args };
  let handled = false;
  if (args[0] === 'xenstore') {
    handled = await (await import('../compat/fast-path.js')).fastXenstore(args, env);
  } else if (isXlVerb(args[0])) {
    handled = await (await import('../compat/fast-xl.js')).fastXl(args, manifestCommands(manifest)[args[0]]);
  }
  return { handled, argv: args };
}

/**
 * xl's global -v before a verb: `xenemu -v create X` is `xenemu create --verbose X`
 * for a verb whose own flag means the same (XL_VERBS' globalVerbose), and is dropped
 * before the others, as xl's -v changes only libxl's logging. `xenemu -v` with no
 * command after it is left alone: oclif prints the version.
 */
export function applyGlobalVerbose(argv: readonly string[]): string[] {
  let i = 0;
  while (i < argv.length && /^-v+$/.test(argv[i]!)) i++;
  const verb = argv[i];
  if (i === 0 || verb === undefined || verb.startsWith('-')) return [...argv];
  const flag = isXlVerb(verb) ? (XL_VERBS[verb] as XlVerb<unknown>).globalVerbose : undefined;
  return [verb, ...(flag !== undefined ? [`--${flag}`] : []), ...argv.slice(i + 1)];
}

/** The commands of oclif's manifest by id; none without one (oclif then finds its commands itself). */
export function manifestCommands(manifest: URL): Record<string, ManifestCommand> {
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { commands?: Record<string, ManifestCommand> }).commands ?? {};
  } catch {
    return {};
  }
}
