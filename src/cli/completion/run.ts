import type { ManifestCommand } from '../oclif-argv.js';
import { complete, type CompletionSources } from './complete.js';
import { liveSources } from './live.js';

/**
 * `xenemu __complete CWORD WORD...`, what the completion script runs on Tab: prints
 * the directive line and the candidates (script.ts) and exits at once, whatever a
 * slow daemon is still doing.
 */
export async function runComplete(argv: readonly string[], commands: Readonly<Record<string, ManifestCommand>>, sources: CompletionSources = liveSources()): Promise<void> {
  const cword = Number(argv[0]);
  const line = argv.slice(1);
  let out = 'words\n';
  if (Number.isInteger(cword) && cword > 0 && cword <= line.length) {
    const answer = await complete(line, cword, commands, sources);
    out = answer.kind === 'files' ? 'files\n' : `${answer.nospace ? 'nospace' : 'words'}\n${answer.words.map((w) => `${w}\n`).join('')}`;
  }
  process.stdout.write(out, () => process.exit(0));
}
