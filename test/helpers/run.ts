import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scratchDir } from './scratch.js';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a program to completion, capturing its output. */
export function run(cmd: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('latin1').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('latin1').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // A program that exits without reading its input closes the pipe first.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** The Xen 4.17 tools directory fetched by scripts/fetch-xen-tools.sh. */
export function xenToolsDir(): string {
  return new URL('../../.cache/xen-tools/usr/lib/xen-4.17/bin', import.meta.url).pathname;
}

/** Debian's python, which has python3-pyxs (a pyenv python may shadow it on PATH). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** The repository's root. */
export const REPO = new URL('../..', import.meta.url).pathname;

/** Run one oclif command (`commands/<file>`) from the TypeScript sources, no build needed. */
export function runCommandSource(file: string, args: readonly string[]): Promise<RunResult> {
  const script = `
    import { handle } from '@oclif/core';
    const { default: C } = await import(${JSON.stringify(join(REPO, 'commands', file))});
    try { await C.run(${JSON.stringify(args)}, ${JSON.stringify(REPO)}); } catch (e) { await handle(e); }
  `;
  return run(process.execPath, ['--import=tsx', '--input-type=module', '-e', script]);
}

/** A file named `name` holding `text`, in a new temporary directory (gone when the process exits). */
export function tempFile(name: string, text: string): string {
  const file = join(scratchDir('xenemu-'), name);
  writeFileSync(file, text);
  return file;
}
