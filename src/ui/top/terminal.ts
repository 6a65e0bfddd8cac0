import { writeSync } from 'node:fs';

/** DEC private modes: the alternate screen (1049, which also saves the cursor) and cursor visibility (25). */
export const ENTER_ALT_SCREEN = '\x1b[?1049h';
export const LEAVE_ALT_SCREEN = '\x1b[?1049l';
export const HIDE_CURSOR = '\x1b[?25l';
export const SHOW_CURSOR = '\x1b[?25h';
export const CLEAR_SCREEN = '\x1b[2J\x1b[H';
/** Synchronized-update off, in case an exit cut a frame short between the two marks. */
const END_SYNC = '\x1b[?2026l';

export interface TerminalStreams {
  stdout: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
}

/**
 * The terminal as the dashboard found it, and the way back. `take()` switches to the
 * alternate screen and hides the cursor; `restore()` puts everything back (raw mode
 * off, cursor shown, main screen) and is safe to call any number of times, from any
 * exit path: a normal quit, the daemon going away, SIGINT/SIGTERM/SIGHUP, an uncaught
 * error, or process exit. On the way out it writes with writeSync, because an exit
 * handler cannot wait for an asynchronous write.
 */
export class TerminalGuard {
  private taken = false;
  private restored = false;
  private readonly cleanups: Array<() => void> = [];

  constructor(private readonly io: TerminalStreams) {}

  get isTty(): boolean {
    return this.io.stdout.isTTY === true;
  }

  take(): void {
    if (this.taken) return;
    this.taken = true;
    if (this.isTty) this.write(ENTER_ALT_SCREEN + HIDE_CURSOR + CLEAR_SCREEN);
  }

  /** Clear the screen (a resize or Ctrl-L): the next frame is drawn on a blank screen. */
  clear(): void {
    if (this.taken && !this.restored && this.isTty) this.write(CLEAR_SCREEN);
  }

  /**
   * Run `onSignal(status)` for SIGINT/SIGTERM/SIGHUP and `onError(err)` for an uncaught
   * error or rejection, and restore the terminal at process exit whatever happens.
   */
  install(onSignal: (status: number) => void, onError: (err: unknown) => void): void {
    const signals: Array<[NodeJS.Signals, number]> = [
      ['SIGINT', 130],
      ['SIGTERM', 143],
      ['SIGHUP', 129],
    ];
    for (const [sig, status] of signals) {
      const h = () => onSignal(status);
      process.on(sig, h);
      this.cleanups.push(() => process.off(sig, h));
    }
    const err = (e: unknown) => onError(e);
    process.on('uncaughtException', err);
    process.on('unhandledRejection', err);
    const exit = () => this.restore();
    process.on('exit', exit);
    this.cleanups.push(
      () => process.off('uncaughtException', err),
      () => process.off('unhandledRejection', err),
      () => process.off('exit', exit),
    );
  }

  restore(): void {
    if (this.restored) return;
    this.restored = true;
    const { stdin } = this.io;
    try {
      if (stdin.isTTY && stdin.isRaw) stdin.setRawMode(false);
    } catch {
      // stdin already closed: nothing to restore there
    }
    if (this.taken && this.isTty) this.write(END_SYNC + SHOW_CURSOR + LEAVE_ALT_SCREEN);
  }

  /** Remove the handlers (after restore, once the dashboard is gone). */
  uninstall(): void {
    for (const c of this.cleanups.splice(0)) c();
  }

  private write(text: string): void {
    const fd = (this.io.stdout as NodeJS.WriteStream & { fd?: number }).fd;
    try {
      if (typeof fd === 'number') writeSync(fd, text);
      else this.io.stdout.write(text);
    } catch {
      // the terminal is gone (a closed ssh session): nothing left to restore
    }
  }
}
