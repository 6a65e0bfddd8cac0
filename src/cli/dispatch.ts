import { readFileSync } from 'node:fs';
import type { ManifestCommand } from './oclif-argv.js';

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
  // The xenstore tools are the hottest path: they do not even load the xl verbs' table.
  if (argv[0] === 'xenstore') {
    return { handled: env.XENEMU_FAST_PATH !== '0' && (await (await import('../compat/fast-path.js')).fastXenstore([...argv], env)), argv: [...argv] };
  }
  // `exec DOM CMD --help`: the --help is CMD's, so it goes after a -- (oclif takes any
  // --help before one as a request for its own help).
  if (argv[0] === 'exec' && argv.length > 2 && !argv[1]!.startsWith('-') && argv[2] !== '--') {
    return { handled: false, argv: ['exec', argv[1]!, '--', ...argv.slice(2)] };
  }
  const { applyGlobalVerbose, isXlVerb } = await import('../compat/xl-verbs.js');
  const args = applyGlobalVerbose(argv);
  if (env.XENEMU_FAST_PATH === '0' || !isXlVerb(args[0])) return { handled: false, argv: args };
  return { handled: await (await import('../compat/fast-xl.js')).fastXl(args, manifestCommands(manifest)[args[0]]), argv: args };
}

/** The commands of oclif's manifest by id; none without one (oclif then finds its commands itself). */
export function manifestCommands(manifest: URL): Record<string, ManifestCommand> {
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { commands?: Record<string, ManifestCommand> }).commands ?? {};
  } catch {
    return {};
  }
}
