import type { Hook } from '@oclif/core';
import { editDistance } from '../../common/edit-distance.js';

/**
 * What `xenemu <unknown>` says: the word it does not know, the nearest commands, and
 * where the list is; exit 1, as `xl <unknown>` does. It never asks "did you mean X?"
 * (@oclif/plugin-not-found's behaviour on a terminal): a guess that then runs could be
 * `destroy` for `destory`, and scripts have no one to answer. It never shows oclif's
 * colon-joined ids (`crate:configs/web.yaml`): only the words the user typed.
 */
export interface NotFoundReport {
  /** The words typed up to and including the first unknown one: `crate`, `xenstore reed`. */
  typed: string;
  /** Up to three commands nearest to `typed`, nearest first. */
  nearest: string[];
}

/** The longest prefix of `words` that is a topic (`xenstore`, `host`), plus the next word. */
function typedWords(words: string[], isTopic: (id: string) => boolean): string[] {
  let n = 0;
  while (n < words.length - 1 && isTopic(words.slice(0, n + 1).join(':'))) n++;
  return words.slice(0, n + 1);
}

export function notFoundReport(id: string, commandIds: string[], isTopic: (id: string) => boolean): NotFoundReport {
  const words = typedWords(id.split(':'), isTopic);
  const typed = words.join(' ');
  // As many edits as a typo of the unknown word plausibly has: 2, or a third of a long word.
  const limit = Math.max(2, Math.floor(words.at(-1)!.length / 3));
  const nearest = commandIds
    .map((cid) => cid.replaceAll(':', ' '))
    .map((name) => ({ name, distance: editDistance(typed, name) }))
    .filter((c) => c.distance <= limit)
    .sort((a, b) => a.distance - b.distance || a.name.localeCompare(b.name))
    .slice(0, 3)
    .map((c) => c.name);
  return { typed, nearest };
}

export function notFoundMessage(bin: string, report: NotFoundReport): string {
  const lines = [`${bin}: '${report.typed}' is not a ${bin} command.`];
  if (report.nearest.length > 0) lines.push(`Did you mean: ${report.nearest.join(', ')}?`);
  lines.push(`Run '${bin} help' for a list of commands.`);
  return lines.join('\n');
}

const hook: Hook.CommandNotFound = async function (opts) {
  const visible = opts.config.commands.filter((c) => !c.hidden);
  const ids = [...visible.map((c) => c.id), ...visible.flatMap((c) => c.aliases)];
  const report = notFoundReport(opts.id, ids, (id) => opts.config.findTopic(id) !== undefined);
  process.stderr.write(`${notFoundMessage(opts.config.bin, report)}\n`);
  this.exit(1);
};

export default hook;
