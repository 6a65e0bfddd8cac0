import type { ManifestCommand } from '../oclif-argv.js';
import { ARG_KINDS, argKind, type ArgKind } from './arg-kinds.js';

/**
 * Tab completion's answer for the word the cursor is on: a list of words, or "let
 * the shell complete file names". The shell function (script.ts) passes the words of
 * the command line as bash split them and the index of the cursor's word.
 */
export type Completion = { kind: 'files' } | { kind: 'words'; words: string[]; nospace: boolean };

/** Where the words come from that only a running host knows. */
export interface CompletionSources {
  /** Names of the running daemon's domains; none when no daemon runs (never starts one). */
  domains(): Promise<string[]>;
  /** Children of XenStore directory `dir` that start with `prefix`, and whether each has children itself. */
  children(dir: string, prefix: string): Promise<Array<{ name: string; hasChildren: boolean }>>;
}

const words = (list: readonly string[], cur: string, nospace = false): Completion => ({
  kind: 'words',
  words: [...new Set(list.filter((w) => w.startsWith(cur)))].sort(),
  nospace,
});

/** Leading words that are xl's global options (`xenemu -v create ...`). */
const isGlobalOption = (w: string): boolean => /^-v+$/.test(w);

/**
 * `line` is the command line as words (line[0] is the program), `cword` the index of
 * the word being completed; `commands` oclif's manifest.
 */
export async function complete(line: readonly string[], cword: number, commands: Readonly<Record<string, ManifestCommand>>, sources: CompletionSources): Promise<Completion> {
  const cur = line[cword] ?? '';
  const visible = Object.values(commands).filter((c) => c.hidden !== true);
  let i = 1;
  while (i < cword && isGlobalOption(line[i]!)) i++;
  // `xenemu help COMMAND`: the command's words, and nothing after them.
  const help = i < cword && line[i] === 'help';
  if (help) i++;

  // The command: words that name a topic, then the command in it.
  let id = '';
  for (; i < cword; i++) {
    const candidate = id === '' ? line[i]! : `${id}:${line[i]!}`;
    if (commands[candidate] !== undefined) {
      id = candidate;
      i++;
      break;
    }
    if (!visible.some((c) => c.id.startsWith(`${candidate}:`))) return words([], cur);
    id = candidate;
  }
  const command = commands[id];
  if (command === undefined) {
    // Completing the command (or topic) itself: the next segment of every id under `id`.
    const depth = id === '' ? 0 : id.split(':').length;
    const under = visible.filter((c) => id === '' || c.id.startsWith(`${id}:`));
    const next = under.map((c) => c.id.split(':')[depth]!);
    return words(id === '' && !help ? [...next, 'help', 'version'] : next, cur);
  }
  if (help) return words([], cur);

  const kinds = ARG_KINDS[command.id];
  const flagsByWord = new Map<string, { name: string; takesValue: boolean }>();
  for (const f of Object.values(command.flags)) {
    const info = { name: f.name, takesValue: f.type === 'option' };
    flagsByWord.set(`--${f.name}`, info);
    for (const a of f.aliases ?? []) flagsByWord.set(`--${a}`, info);
    if (f.char !== undefined) flagsByWord.set(`-${f.char}`, info);
  }
  // Count the operands before the cursor; an option flag's value is not one.
  let operand = 0;
  let operandsOnly = false;
  for (; i < cword; i++) {
    const w = line[i]!;
    if (operandsOnly || w === '-' || !w.startsWith('-')) {
      operand++;
      continue;
    }
    if (w === '--') {
      operandsOnly = true;
      continue;
    }
    const flag = flagsByWord.get(w);
    if (flag?.takesValue) {
      if (i + 1 === cword) return byKind(kinds?.flags?.[flag.name] ?? 'none', cur, sources);
      i++;
    }
  }
  if (!operandsOnly && cur.startsWith('-')) {
    const names = Object.values(command.flags)
      .filter((f) => f['hidden'] !== true)
      .flatMap((f) => [`--${f.name}`, ...(f.aliases ?? []).map((a) => `--${a}`)]);
    return words(names, cur);
  }
  return byKind(argKind(kinds, operand), cur, sources);
}

async function byKind(kind: ArgKind, cur: string, sources: CompletionSources): Promise<Completion> {
  switch (kind) {
    case 'file':
      return { kind: 'files' };
    case 'domain':
      return words(await sources.domains(), cur);
    case 'xspath':
      return xenstorePaths(cur, sources);
    case 'none':
      return words([], cur);
  }
}

/**
 * The children of the directory typed so far that start with what follows its last
 * slash, as full words; a child with children of its own ends in "/" so that the next
 * Tab goes on into it (and then no space is added after it).
 */
async function xenstorePaths(cur: string, sources: CompletionSources): Promise<Completion> {
  const slash = cur.lastIndexOf('/');
  // A relative path is relative to the connection's home, /local/domain/0 for the tools.
  const dir = slash < 0 ? '' : slash === 0 ? '/' : cur.slice(0, slash);
  const head = slash < 0 ? '' : cur.slice(0, slash + 1);
  const base = cur.slice(slash + 1);
  const children = await sources.children(dir === '' ? '/local/domain/0' : dir, base);
  const list = children.map((c) => `${head}${c.name}${c.hasChildren ? '/' : ''}`);
  return words(list, cur, list.length === 1 && list[0]!.endsWith('/'));
}
