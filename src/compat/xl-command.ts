import { Flags } from '@oclif/core';
import { XenemuCommand } from '../cli/base-command.js';
import { jsonSafe, XlFailure, XlSession, type XlContext, type XlOutput } from './xl-commands.js';

/**
 * What the `xenemu <verb>` commands of the xl family share. A command parses its flags
 * into the options of its function in xl-commands.ts (the code the `xl` shim runs
 * too), prints the text xl would print, and with --json returns the data instead.
 * Failures print xl's own message and exit with xl's status. Not imported by the shim
 * (it loads oclif).
 */
export abstract class XlCommand extends XenemuCommand {
  /** -h is help in xl, so here too. */
  static override baseFlags = { help: Flags.help({ char: 'h' }) };

  /** Run one xl command: its progress goes to stderr as it happens, its output to stdout. */
  protected async runXl<T>(command: (ctx: XlContext) => Promise<XlOutput<T>>): Promise<T> {
    const session = new XlSession(this.paths, (text) => process.stderr.write(text));
    try {
      const out = await command(session);
      if (!this.jsonEnabled()) process.stdout.write(out.stdout);
      return jsonSafe(out.data);
    } finally {
      session.close();
    }
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    if (err instanceof XlFailure) {
      if (this.jsonEnabled()) this.logJson({ error: { message: err.message, exitCode: err.exitStatus } });
      else process.stdout.write(err.stdout);
      process.stderr.write(err.stderr);
      this.exit(err.exitStatus);
    }
    return super.catch(err);
  }
}
