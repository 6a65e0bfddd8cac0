import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** How to start a module of ours in a new process or worker thread. */
export interface EntryPoint {
  file: string;
  execArgv: string[];
}

/**
 * Locate a sibling module by its compiled name (`./daemon.js`). Built, it is the .js
 * file next to the caller; run from sources under tsx (tests, benchmarks), only the
 * .ts file exists and the child needs tsx's loader too.
 */
export function entryPoint(relativeJs: string, base: string): EntryPoint {
  const js = fileURLToPath(new URL(relativeJs, base));
  if (existsSync(js)) return { file: js, execArgv: [] };
  const ts = js.replace(/\.js$/, '.ts');
  if (existsSync(ts)) return { file: ts, execArgv: ['--import', 'tsx'] };
  throw new Error(`cannot find ${relativeJs} next to ${fileURLToPath(base)}`);
}
