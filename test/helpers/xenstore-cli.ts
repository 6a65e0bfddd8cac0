import { spawn } from 'node:child_process';
import { chmodSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scratchDir } from './scratch.js';

/**
 * Running xenstore tools the way scripts do: through bash, with PATH pointing at a
 * directory of tools. Three kinds of directory: our shims (links to bin/xenstore.js,
 * named like Debian's tools), wrappers that call `xenemu xenstore <mode>`, and the
 * real C tools (PATH as it is).
 */

export const REPO = new URL('../../', import.meta.url).pathname;
export const SHIM = join(REPO, 'bin/xenstore.js');
export const RUN_JS = join(REPO, 'bin/run.js');

export const TOOLS = ['read', 'write', 'ls', 'list', 'rm', 'exists', 'chmod', 'watch', 'control'] as const;

/** The shims and bin/run.js load dist/: refuse to test stale or missing output. */
export function assertBuilt(): void {
  const built = join(REPO, 'dist/src/compat/shim.js');
  let builtAt: number;
  try {
    builtAt = statSync(built).mtimeMs;
  } catch {
    throw new Error(`${built} is missing: run \`npx tsc -p tsconfig.build.json\` first`);
  }
  for (const dir of ['src/compat', 'src/client', 'src/ui']) {
    for (const f of readdirSync(join(REPO, dir))) {
      if (statSync(join(REPO, dir, f)).mtimeMs > builtAt) throw new Error(`dist/ is older than ${dir}/${f}: run \`npx tsc -p tsconfig.build.json\` first`);
    }
  }
}

export { scratchDir } from './scratch.js';

/** xenstore, xenstore-read, ..., xenstore-control: links to bin/xenstore.js. */
export function makeShimDir(): string {
  const dir = scratchDir('xe-shims-');
  symlinkSync(SHIM, join(dir, 'xenstore'));
  for (const t of TOOLS) symlinkSync(SHIM, join(dir, `xenstore-${t}`));
  return dir;
}

/** The same names as scripts that run `xenemu xenstore <mode> "$@"` (xenstore: `xenemu xenstore "$@"`). */
export function makeXenemuDir(): string {
  const dir = scratchDir('xe-xenemu-');
  const script = (args: string): string => `#!/bin/sh\nexec '${process.execPath}' '${RUN_JS}' xenstore ${args} "$@"\n`;
  const write = (name: string, body: string): void => {
    writeFileSync(join(dir, name), body);
    chmodSync(join(dir, name), 0o755);
  };
  write('xenstore', script(''));
  for (const t of TOOLS) write(`xenstore-${t}`, script(t));
  return dir;
}

export interface Outcome {
  stdout: string;
  stderr: string;
  exit: number;
}

/** Environment with `toolDir` (if any) first on PATH. */
export function toolEnv(env: NodeJS.ProcessEnv, toolDir?: string): NodeJS.ProcessEnv {
  return toolDir ? { ...env, PATH: `${toolDir}:${env.PATH ?? ''}` } : { ...env };
}

/**
 * Run one command line through bash. The command and the outputs are byte strings;
 * the command goes back to its bytes through UTF-8, since spawn() encodes its
 * arguments that way (so it must be valid UTF-8).
 */
export function bash(command: string, env: NodeJS.ProcessEnv): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', Buffer.from(command, 'latin1').toString('utf8')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('latin1').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('latin1').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ stdout, stderr, exit: code ?? 128 + signalNumber(signal) }));
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : signal === 'SIGKILL' ? 9 : 0;
}

const BACKGROUND_WATCH = /^\(timeout (\d+) (xenstore-watch [^;]*); echo "watch exit: \$\?"\) & sleep [\d.]+; (.*); wait$/;

/**
 * Golden 26 runs a watch in the background and paces the writes with sleeps. Replayed
 * as it is, that is slow and racy, so it runs deterministically instead, keeping the
 * meaning: start the watch under `timeout`, wait for its first line (by then every
 * watch is set), run each step in order (each one's events are queued to the watcher
 * before the next step connects, so their order is fixed), then wait for the watch to
 * exit by itself (-n) or, once the expected lines are in, make `timeout` expire at
 * once with SIGALRM (its own timer signal), so it reports 124 as in the capture.
 * Returns null for other command lines.
 */
export async function runBackgroundWatch(command: string, env: NodeJS.ProcessEnv, expectedLines: number): Promise<Outcome | null> {
  const m = BACKGROUND_WATCH.exec(command);
  if (!m) return null;
  const [, seconds, watch, middle] = m as unknown as [string, string, string, string];
  const steps = middle.split(/; sleep [\d.]+; /);
  const child = spawn('timeout', [seconds, ...watch.split(' ')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 128)));
  let wake: () => void = () => {};
  child.stdout.setEncoding('latin1').on('data', (d: string) => {
    out += d;
    wake();
  });
  child.stderr.setEncoding('latin1').on('data', (d: string) => (err += d));
  const lines = (): number => out.split('\n').length - 1;
  const waitFor = async (n: number, ms: number): Promise<void> => {
    const deadline = Date.now() + ms;
    while (lines() < n && Date.now() < deadline) {
      await Promise.race([new Promise<void>((r) => (wake = r)), exited, new Promise((r) => setTimeout(r, 50))]);
    }
  };
  await waitFor(1, 10_000);
  let stepOut = '';
  for (const step of steps) {
    const r = await bash(step, env);
    stepOut += r.stdout;
    err += r.stderr;
  }
  const bySelf = /-n \d/.test(watch);
  if (!bySelf) {
    await waitFor(expectedLines, 10_000);
    // Room for an extra, unexpected event to show up before we stop.
    await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGALRM');
  }
  const status = await exited;
  return { stdout: `${out}watch exit: ${status}\n${stepOut}`, stderr: err, exit: 0 };
}
