/**
 * The guest's console shell: what a user attached with `xenemu console` types at.
 * A line discipline in the manner of a tty in canonical mode with echo (the terminal
 * of `xl console` is raw, so the guest echoes and edits, as Linux's n_tty does for a
 * getty on hvc0), and a table of commands that any part of the kernel adds to.
 *
 * Registration API, for drivers that want a command at the console (ifconfig, ping):
 *
 *     kernel.shell.register({
 *       name: 'ifconfig',
 *       summary: 'show the network interfaces',
 *       run: (argv, io) => { io.println('eth0: ...'); return 0; },
 *     });
 *
 * `run` gets argv (argv[0] is the name) and a ShellIO; it may be async (ping), in
 * which case the prompt comes back when it settles, and Ctrl-C aborts `io.signal`.
 * Like a program without a SIGINT handler, a command is cut off by Ctrl-C: the
 * prompt comes back at once and what it writes after goes nowhere. One that says
 * `handlesInterrupt` is like a program that catches SIGINT (ping prints its
 * statistics): it is told through `io.signal`, keeps writing, and the prompt comes
 * back when it settles.
 * The status it returns (default 0) is what `$?` would hold; nothing reads it yet but
 * the tests. A command that throws prints `NAME: message` and counts as status 1.
 */

/** What a command writes with and how it learns of Ctrl-C. */
export interface ShellIO {
  /** Write text as it is ("\n" becomes "\r\n": the console's terminal is raw). */
  write(text: string): void;
  /** Write one line. */
  println(line?: string): void;
  /** Aborted when the user presses Ctrl-C while the command runs. */
  readonly signal: AbortSignal;
}

export interface ShellCommand {
  /** What the user types; one word, no spaces. */
  readonly name: string;
  /** One line for `help`. */
  readonly summary: string;
  /** Ctrl-C only aborts `io.signal`: the command finishes (and prints) on its own. */
  readonly handlesInterrupt?: boolean;
  run(argv: readonly string[], io: ShellIO): number | void | Promise<number | void>;
}

/** Control characters the line discipline acts on (termios' defaults: VINTR, VKILL, VERASE). */
const CTRL_C = 0x03;
const CTRL_U = 0x15;
const BACKSPACE = 0x08;
const DELETE = 0x7f;
const ESC = 0x1b;
const CR = 0x0d;
const LF = 0x0a;

/** A line longer than this is not taken further (n_tty's N_TTY_BUF_SIZE is 4096). */
export const SHELL_LINE_MAX = 4095;

/** Type-ahead kept while a command runs; beyond it, keystrokes are dropped. */
const TYPE_AHEAD_MAX = 4096;

const NAME_RE = /^[A-Za-z0-9_.-]+$/;

export class Shell {
  private readonly commands = new Map<string, ShellCommand>();
  /** The line being typed, as bytes (UTF-8 sequences stay whole for backspace). */
  private line: number[] = [];
  /** Inside an escape sequence (an arrow key: ESC [ A): its bytes are swallowed. */
  private escape: 'none' | 'esc' | 'csi' = 'none';
  /** The last byte was CR: an LF right after it ends nothing more (a terminal sending CR LF). */
  private afterCr = false;
  /** The command running, if one is: Ctrl-C aborts it, other input waits. */
  private running: AbortController | null = null;
  private typeAhead: number[] = [];
  private started = false;
  /** The last command's status. */
  status = 0;

  constructor(
    /** The console: raw bytes out (hvc0). */
    private readonly output: (text: string) => void,
    /** The prompt, asked for each time (the host name may change). */
    private readonly prompt: () => string,
  ) {}

  /** Add a command; a second command of the same name is refused (two drivers disagreeing is a bug). */
  register(command: ShellCommand): void {
    if (!NAME_RE.test(command.name)) throw new Error(`shell: a command name is one word of [A-Za-z0-9_.-], not ${JSON.stringify(command.name)}`);
    if (this.commands.has(command.name)) throw new Error(`shell: the command ${command.name} is already registered`);
    this.commands.set(command.name, command);
  }

  /** Remove a command (a driver going away); true if there was one. */
  unregister(name: string): boolean {
    return this.commands.delete(name);
  }

  /** The registered commands, by name. */
  list(): ShellCommand[] {
    return [...this.commands.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Take input from now on (the system is up: before, keystrokes are ignored, as with
   * no getty running yet), with a first prompt unless `prompt` is false.
   */
  start(prompt = true): void {
    if (this.started) return;
    this.started = true;
    if (prompt) this.output(`\r\n${this.prompt()}`);
  }

  /** Keystrokes from the console. */
  input(bytes: Uint8Array): void {
    if (!this.started) return;
    for (const b of bytes) {
      if (this.running !== null) {
        if (b === CTRL_C) this.interrupt();
        else if (this.typeAhead.length < TYPE_AHEAD_MAX) this.typeAhead.push(b);
        continue;
      }
      this.key(b);
    }
  }

  private key(b: number): void {
    const afterCr = this.afterCr;
    this.afterCr = b === CR;
    if (this.escape !== 'none') {
      // ESC [ parameters final: the final byte is 0x40-0x7e; ESC X (not '[') is two bytes.
      if (this.escape === 'esc') this.escape = b === 0x5b ? 'csi' : 'none';
      else if (b >= 0x40 && b <= 0x7e) this.escape = 'none';
      return;
    }
    switch (b) {
      case ESC:
        this.escape = 'esc';
        return;
      case CR:
        this.enter();
        return;
      case LF:
        if (!afterCr) this.enter();
        return;
      case CTRL_C:
        // n_tty with ECHOCTL: "^C", then the shell drops the line and prompts again.
        this.line = [];
        this.output(`^C\r\n${this.prompt()}`);
        return;
      case CTRL_U:
        this.output('\b \b'.repeat(this.columns(this.line)));
        this.line = [];
        return;
      case BACKSPACE:
      case DELETE:
        this.erase();
        return;
      default:
        // Other control characters (Tab, Ctrl-D...) do nothing here.
        if (b < 0x20) return;
        if (this.line.length >= SHELL_LINE_MAX) return;
        this.line.push(b);
        this.output(b < 0x80 ? String.fromCharCode(b) : this.echoUtf8(b));
    }
  }

  /**
   * Echo of a byte of a UTF-8 sequence: nothing until the sequence is whole, then the
   * character (the output side is text; a lone byte is not one).
   */
  private echoUtf8(b: number): string {
    if (b >= 0xc0) return '';
    const start = this.sequenceStart(this.line.length - 1);
    const seq = this.line.slice(start);
    const need = seq[0]! >= 0xf0 ? 4 : seq[0]! >= 0xe0 ? 3 : seq[0]! >= 0xc0 ? 2 : 1;
    return seq.length === need ? Buffer.from(seq).toString('utf8') : '';
  }

  /** Where the UTF-8 sequence holding byte `i` of the line starts. */
  private sequenceStart(i: number): number {
    let s = i;
    while (s > 0 && (this.line[s]! & 0xc0) === 0x80) s--;
    return s;
  }

  /** Screen columns of a line (one per character; wide characters count one here too). */
  private columns(bytes: readonly number[]): number {
    return [...Buffer.from(bytes).toString('utf8')].length;
  }

  /** VERASE: the last character, all its bytes. */
  private erase(): void {
    if (this.line.length === 0) return;
    this.line.length = this.sequenceStart(this.line.length - 1);
    this.output('\b \b');
  }

  private enter(): void {
    const text = Buffer.from(this.line).toString('utf8');
    this.line = [];
    this.output('\r\n');
    const argv = text.trim().split(/\s+/).filter((w) => w.length > 0);
    if (argv.length === 0) {
      this.output(this.prompt());
      return;
    }
    this.run(argv);
  }

  /**
   * Ctrl-C while a command runs: abort it; its type-ahead goes, as n_tty flushes input
   * on VINTR. n_tty echoes "^C" alone: the line ends with what the command prints
   * next, or, for one cut off, with the shell's new line.
   */
  private interrupt(): void {
    this.typeAhead = [];
    this.output('^C');
    this.running?.abort();
  }

  private run(argv: string[]): void {
    const command = this.commands.get(argv[0]!);
    if (command === undefined) {
      this.output(`sh: ${argv[0]}: command not found\r\n${this.prompt()}`);
      this.status = 127;
      return;
    }
    const abort = new AbortController();
    const cutOff = (): boolean => abort.signal.aborted && command.handlesInterrupt !== true;
    const io: ShellIO = {
      write: (text) => {
        if (!cutOff()) this.output(text.replace(/\r?\n/g, '\r\n'));
      },
      println: (line = '') => io.write(`${line}\n`),
      signal: abort.signal,
    };
    const done = (status: number): void => {
      if (this.running !== abort) return;
      this.running = null;
      this.status = status;
      this.output(this.prompt());
      const pending = this.typeAhead;
      this.typeAhead = [];
      if (pending.length > 0) this.input(Uint8Array.from(pending));
    };
    const failed = (err: unknown): void => {
      io.println(`${argv[0]}: ${err instanceof Error ? err.message : String(err)}`);
      done(1);
    };
    this.running = abort;
    let result: number | void | Promise<number | void>;
    try {
      result = command.run(argv, io);
    } catch (err) {
      failed(err);
      return;
    }
    if (result instanceof Promise) {
      if (command.handlesInterrupt !== true) {
        // Ctrl-C ends the wait at once, whatever the command does with its signal.
        abort.signal.addEventListener(
          'abort',
          () => {
            this.output('\r\n');
            done(130);
          },
          { once: true },
        );
      }
      result.then((s) => done(s ?? 0), failed);
    } else {
      done(result ?? 0);
    }
  }
}
