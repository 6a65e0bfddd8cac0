import { accessSync, constants, statSync } from 'node:fs';
import { basename, delimiter, dirname, resolve } from 'node:path';

/**
 * The argv[0] a C tool would have seen. A script started through its #! line loses
 * it: the kernel hands node the script's path (`/x/bin/xenstore-read`) whatever the
 * user typed. The C tools print argv[0] in usage and getopt messages, so rebuild it:
 * bash exports `$_` as the command's path as typed when it holds a slash
 * (`./xenstore-read`); a script found through PATH was typed by its bare name.
 */
export function invokedAs(scriptPath: string, env: NodeJS.ProcessEnv = process.env): string {
  const typed = env._;
  if (typed !== undefined && typed !== scriptPath && typed.includes('/') && resolve(typed) === scriptPath) return typed;
  const name = basename(scriptPath);
  return onPath(name, env) === scriptPath ? name : scriptPath;
}

/** What a shell's PATH lookup of `name` finds, if anything. */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env, skipDirs: readonly string[] = []): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    // An empty PATH entry means the current directory, as in execvp.
    const full = resolve(dir === '' ? '.' : dir, name);
    if (skipDirs.includes(dirname(full))) continue;
    try {
      accessSync(full, constants.X_OK);
      if (statSync(full).isFile()) return full;
    } catch {
      // Missing, or not executable (a dangling symlink included): keep looking.
    }
  }
  return undefined;
}
