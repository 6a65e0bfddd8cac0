import { colorLevel } from '../color.js';
import type { StatsFeed } from './feed.js';
import { installInkLineCache } from './ink-line-cache.js';
import { TerminalGuard } from './terminal.js';

/**
 * The render facade of `xenemu top` (STYLE.md: one render facade for the terminal UI).
 * Commands call these functions and nothing else from src/ui/top; Ink and React are
 * loaded here, on demand, so that no other command pays for them.
 */

export interface RenderTopOptions {
  feed: StatsFeed;
  /** The delay the feed was subscribed with, ms. */
  delayMs: number;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  stderr?: NodeJS.WriteStream;
  env?: NodeJS.ProcessEnv;
  /** Colours (and faint) on: by default, when chalk's level for stdout is above 0 (see ../color.ts). */
  color?: boolean;
  /** Show the IPIs that never fired in the grid from the start (`top -a`). */
  allSources?: boolean;
}

/**
 * What has to hold before Ink and React load, for `xenemu top` and for the benchmark
 * that measures it.
 */
export async function prepareInk(options: { terminal: boolean; env: NodeJS.ProcessEnv }): Promise<void> {
  // Ink draws nothing but the last frame, at exit, when it believes it runs in a CI job
  // (is-in-ci: CI or CONTINUOUS_INTEGRATION in process.env, read once when Ink loads,
  // whatever `env` says). On a terminal the user is watching, that would be a blank
  // dashboard; so on a terminal, say we are not in CI before Ink reads it.
  if (options.terminal) {
    for (const key of ['CI', 'CONTINUOUS_INTEGRATION']) if (process.env[key] !== undefined) process.env[key] = 'false';
  }
  // React picks its build from NODE_ENV when it loads: the development one (checks,
  // warnings, profiling hooks) takes half as long again per frame. A dashboard is not
  // developed here.
  if (options.env === process.env && process.env.NODE_ENV === undefined) process.env.NODE_ENV = 'production';
  await installInkLineCache();
}

/**
 * Run the live dashboard until the user quits, the daemon goes away, a signal comes
 * or something breaks; the terminal is given back as it was in every case. Resolves
 * with the exit status: 0 for q, 1 when the daemon went away or on an error, 128+N
 * for signal N. `stderr` gets the reason for any non-zero status, after the screen
 * is restored so that it stays visible.
 */
export async function renderTop(options: RenderTopOptions): Promise<number> {
  const stdout = options.stdout ?? process.stdout;
  const stdin = options.stdin ?? process.stdin;
  const stderr = options.stderr ?? process.stderr;
  const env = options.env ?? process.env;
  const guard = new TerminalGuard({ stdout, stdin });

  await prepareInk({ terminal: stdout.isTTY === true, env });
  const [{ render }, { createElement }, { TopApp }] = await Promise.all([import('ink'), import('react'), import('./components/TopApp.js')]);

  let status = 0;
  let reason: string | null = null;
  const stop = (code: number, why: string | null): void => {
    if (reason === null && status === 0) {
      status = code;
      reason = why;
    }
    instance?.unmount();
  };

  guard.take();
  guard.install(
    (signal) => stop(signal, null),
    (err) => stop(1, `xenemu top: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
  );
  // Before Ink's own resize handler: the new frame is drawn on a cleared screen.
  const onResize = () => guard.clear();
  stdout.on('resize', onResize);

  let instance: ReturnType<typeof render> | undefined;
  const lost = options.feed.onLost((err) => stop(1, `xenemu top: ${err.message}`));
  try {
    instance = render(
      createElement(TopApp, {
        feed: options.feed,
        delayMs: options.delayMs,
        color: options.color ?? colorLevel('stdout', env) > 0,
        keys: stdin.isTTY === true,
        allSources: options.allSources ?? false,
        onQuit: (code: number) => {
          status = code;
        },
        onRepaint: () => guard.clear(),
      }),
      { stdout, stdin, stderr, exitOnCtrlC: false, maxFps: 30 },
    );
    await instance.waitUntilExit();
  } catch (err) {
    if (status === 0) {
      status = 1;
      reason = `xenemu top: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
    }
  } finally {
    lost();
    stdout.off('resize', onResize);
    instance?.cleanup();
    guard.restore();
    guard.uninstall();
    options.feed.close();
    // Ink leaves stdin referenced after raw mode: let the process end.
    if (stdin.isTTY) {
      stdin.pause();
      stdin.unref?.();
    }
  }
  if (reason !== null) stderr.write(`${reason}\n`);
  return status;
}
