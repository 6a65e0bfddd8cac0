/**
 * A command line parsed the way oclif parses it, from the command's entry in
 * oclif.manifest.json, without loading oclif (@oclif/core's parser alone costs a third
 * of Node's start-up). Only the plain forms are understood: boolean flags (`-l`, `-lv`,
 * `--long`), option flags with their value apart or attached (`-f FILE`, `-fFILE`,
 * `--defconfig FILE`) and operands. Anything else returns null, and the caller leaves
 * the command line to oclif, which then reports or runs it its own way: help and
 * --json, `--`, `--x=y`, `--no-x`, unknown or repeated option flags, negative numbers,
 * too many or too few operands, and commands whose flags or args use what this does
 * not model (defaults, env, options, relationships...). test/cli/oclif-argv.test.ts
 * checks the answers against oclif's own parser.
 */

/** What this reads of a flag in the manifest. */
export interface ManifestFlag {
  name: string;
  type: 'boolean' | 'option';
  char?: string;
  aliases?: string[];
  charAliases?: string[];
  [other: string]: unknown;
}

/** What this reads of an arg in the manifest. */
export interface ManifestArg {
  name: string;
  required?: boolean;
  [other: string]: unknown;
}

/** A command's entry in oclif.manifest.json (the fields used here). */
export interface ManifestCommand {
  id: string;
  strict?: boolean;
  hidden?: boolean;
  aliases?: string[];
  args: Record<string, ManifestArg>;
  flags: Record<string, ManifestFlag>;
}

/** oclif's parse output, for the parts a command reads. */
export interface ParsedCommandLine {
  args: Record<string, string | undefined>;
  flags: Record<string, boolean | string | undefined>;
  argv: string[];
}

/** Flags oclif handles before or around the command: always left to it. */
const OCLIF_OWN = new Set(['help', 'json']);

/** Keys of a flag or arg that change nothing in parsing (help text, grouping). */
const INERT = new Set(['name', 'type', 'char', 'aliases', 'charAliases', 'description', 'summary', 'hidden', 'helpGroup', 'helpLabel', 'helpValue', 'hasDynamicHelp', 'noCacheDefault', 'deprecateAliases']);

/** A flag or arg whose every key is understood here (false-ish extras are as good as absent). */
function plain(def: Record<string, unknown>, alsoFine: readonly string[]): boolean {
  return Object.entries(def).every(([k, v]) => INERT.has(k) || alsoFine.includes(k) || v === undefined || v === false);
}

/** The flags by every name and char they answer to; null if one is beyond this parser. */
function flagTables(cmd: ManifestCommand): { long: Map<string, ManifestFlag>; short: Map<string, ManifestFlag> } | null {
  const long = new Map<string, ManifestFlag>();
  const short = new Map<string, ManifestFlag>();
  for (const f of Object.values(cmd.flags)) {
    if (OCLIF_OWN.has(f.name)) continue;
    // allowNo is false on every boolean in the manifest; `--no-x` is left to oclif anyway.
    if (!plain(f, ['allowNo']) || (f.type !== 'boolean' && f.type !== 'option')) return null;
    long.set(f.name, f);
    for (const a of f.aliases ?? []) long.set(a, f);
    if (f.char !== undefined) short.set(f.char, f);
    for (const c of f.charAliases ?? []) short.set(c, f);
  }
  return { long, short };
}

/** A value for an option flag: oclif refuses a missing one and one that is a flag. */
const usableValue = (v: string | undefined): v is string => v !== undefined && !v.startsWith('-');

/** Parse `argv` (after the command's id) as oclif would; null where that is not certain. */
export function parseLikeOclif(cmd: ManifestCommand, argv: readonly string[]): ParsedCommandLine | null {
  const tables = flagTables(cmd);
  const argDefs = Object.values(cmd.args);
  if (tables === null || !argDefs.every((a) => plain(a, ['required']))) return null;
  const flags: Record<string, boolean | string | undefined> = {};
  const setOption = (f: ManifestFlag, value: string): boolean => {
    if (f.name in flags) return false; // "can only be specified once"
    flags[f.name] = value;
    return true;
  };
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-' || !a.startsWith('-')) {
      operands.push(a);
    } else if (a.startsWith('--')) {
      const f = tables.long.get(a.slice(2));
      if (f === undefined) return null;
      if (f.type === 'boolean') flags[f.name] = true;
      else if (!usableValue(argv[i + 1]) || !setOption(f, argv[++i]!)) return null;
    } else {
      const f = tables.short.get(a[1]!);
      if (f === undefined) return null;
      if (f.type === 'option') {
        const value = a.length > 2 ? a.slice(2) : argv[++i];
        if (a[2] === '=' || !usableValue(value) || !setOption(f, value)) return null;
        continue;
      }
      // -lv is -l -v; every letter must be a boolean flag.
      for (const c of a.slice(1)) {
        const g = tables.short.get(c);
        if (g?.type !== 'boolean') return null;
        flags[g.name] = true;
      }
    }
  }
  if (operands.length > argDefs.length && cmd.strict !== false) return null;
  if (argDefs.some((d, i) => d.required === true && operands[i] === undefined)) return null;
  const args: Record<string, string | undefined> = {};
  argDefs.forEach((d, i) => {
    if (operands[i] !== undefined) args[d.name] = operands[i];
  });
  // oclif orders argv by each word's first place on the command line (so a repeated
  // operand moves up next to its first occurrence): the same here.
  const argvOut = [...operands].sort((a, b) => argv.indexOf(a) - argv.indexOf(b));
  return { args, flags, argv: argvOut };
}
