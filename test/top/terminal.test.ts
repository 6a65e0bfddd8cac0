import test from 'ava';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { renderTop } from '../../src/ui/top/index.js';
import { ENTER_ALT_SCREEN, HIDE_CURSOR, LEAVE_ALT_SCREEN, SHOW_CURSOR, TerminalGuard } from '../../src/ui/top/terminal.js';
import { domain, FakeFeed, frame, until } from './frames.js';

// The render facade end to end on fake streams: the terminal is taken and given back
// on every way out (quit, the daemon going away, a signal, a render error), and
// NO_COLOR drops colours but keeps bold and inverse.

// As on CI machines: Ink, when it loads (inside renderTop), reads this and would draw
// nothing but the last frame; the dashboard must draw live on a terminal anyway.
process.env.CI = 'true';

class FakeTty extends Writable {
  readonly isTTY = true;
  columns = 80;
  rows = 24;
  data = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.data += chunk.toString();
    cb();
  }
}

class Sink extends Writable {
  data = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.data += chunk.toString();
    cb();
  }
}

/** A stdin that is not a terminal: the dashboard reads no keys from it. */
function pipeStdin(): NodeJS.ReadStream {
  const s = new EventEmitter() as EventEmitter & Record<string, unknown>;
  Object.assign(s, { isTTY: false, setEncoding() {}, setRawMode() {}, resume() {}, pause() {}, ref() {}, unref() {}, read: () => null });
  return s as unknown as NodeJS.ReadStream;
}

function start(env: NodeJS.ProcessEnv = { TERM: 'xterm-256color' }, color?: boolean) {
  const feed = new FakeFeed();
  feed.push(frame([domain(0, 'Domain-0', { cpuPct: 1 }), domain(1, 'web')]));
  const stdout = new FakeTty();
  const stderr = new Sink();
  const done = renderTop({ feed, delayMs: 1000, stdout: stdout as unknown as NodeJS.WriteStream, stdin: pipeStdin(), stderr: stderr as unknown as NodeJS.WriteStream, env, ...(color !== undefined ? { color } : {}) });
  return { feed, stdout, stderr, done };
}

test.serial('the daemon goes away: the screen is restored, the reason printed after it, exit 1', async (t) => {
  const r = start();
  await until(() => r.stdout.data.includes('Domain-0'), 'first frame drawn');
  t.true(r.stdout.data.startsWith(ENTER_ALT_SCREEN + HIDE_CURSOR));
  r.feed.loseDaemon();
  t.is(await r.done, 1);
  t.true(r.stdout.data.endsWith(SHOW_CURSOR + LEAVE_ALT_SCREEN), JSON.stringify(r.stdout.data.slice(-40)));
  t.is(r.stderr.data, 'xenemu top: the xenemu daemon closed the connection (it stopped or crashed)\n');
  t.true(r.feed.closed);
  // Ours are gone (restore-cursor's signal-exit handler stays for the life of the process, by design).
  t.false(process.listeners('SIGTERM').some((f) => f.toString().includes('onSignal')), 'signal handlers removed');
});

test.serial('SIGTERM and SIGINT end the dashboard with 128+N, the terminal restored', async (t) => {
  for (const [sig, status] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
    ['SIGHUP', 129],
  ] as const) {
    const r = start();
    await until(() => r.stdout.data.includes('Domain-0'), 'first frame drawn');
    process.emit(sig, sig);
    t.is(await r.done, status, sig);
    t.true(r.stdout.data.endsWith(SHOW_CURSOR + LEAVE_ALT_SCREEN), sig);
    t.is(r.stderr.data, '');
  }
});

test.serial('an error while rendering: exit 1 with the error, the terminal restored', async (t) => {
  const r = start();
  await until(() => r.stdout.data.includes('Domain-0'), 'first frame drawn');
  r.feed.push({ ...frame([]), domains: null as unknown as [] });
  t.is(await r.done, 1);
  t.true(r.stdout.data.endsWith(SHOW_CURSOR + LEAVE_ALT_SCREEN));
  t.regex(r.stderr.data, /^xenemu top: internal error: TypeError/);
});

// SGR foreground colours: ESC [ 30-37 m, 90-97 m, 38;... m.
const COLOR_SGR = new RegExp(`${String.fromCharCode(27)}\\[(?:3[0-7]|9[0-7]|38;[0-9;]+)m`);

test.serial('NO_COLOR: no colour codes, but the header and the selection keep inverse and bold', async (t) => {
  const plain = start({ TERM: 'xterm-256color', NO_COLOR: '1' });
  await until(() => plain.stdout.data.includes('Domain-0'), 'first frame drawn');
  plain.feed.loseDaemon();
  await plain.done;
  t.false(COLOR_SGR.test(plain.stdout.data));
  t.true(plain.stdout.data.includes('\x1b[7m'), 'inverse');
  t.true(plain.stdout.data.includes('\x1b[1m'), 'bold');

  // chalk detects colour for the process's own stdout, which is no terminal here.
  const coloured = start({ TERM: 'xterm-256color' }, true);
  await until(() => coloured.stdout.data.includes('Domain-0'), 'first frame drawn');
  coloured.feed.loseDaemon();
  await coloured.done;
  t.true(COLOR_SGR.test(coloured.stdout.data));
});

test('TerminalGuard: raw mode off, cursor shown, main screen back, once however often restore() is called', (t) => {
  const out = new FakeTty();
  const modes: boolean[] = [];
  const stdin = { isTTY: true, isRaw: true, setRawMode: (v: boolean) => modes.push(v) } as unknown as NodeJS.ReadStream;
  const g = new TerminalGuard({ stdout: out as unknown as NodeJS.WriteStream, stdin });
  g.take();
  t.is(out.data, ENTER_ALT_SCREEN + HIDE_CURSOR + '\x1b[2J\x1b[H');
  out.data = '';
  g.restore();
  g.restore();
  t.deepEqual(modes, [false]);
  t.is(out.data, '\x1b[?2026l' + SHOW_CURSOR + LEAVE_ALT_SCREEN);
});

test('TerminalGuard on a pipe writes no escape sequences', (t) => {
  const out = new Sink();
  const g = new TerminalGuard({ stdout: out as unknown as NodeJS.WriteStream, stdin: pipeStdin() });
  g.take();
  g.clear();
  g.restore();
  t.is(out.data, '');
});
