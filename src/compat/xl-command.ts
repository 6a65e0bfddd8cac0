import { Flags } from '@oclif/core';
import { XenemuCommand } from '../cli/base-command.js';
import * as xl from './xl-commands.js';
import { jsonSafe, XlFailure, XlSession, type XlContext, type XlOutput } from './xl-commands.js';
import { XL_VERBS, type VerbInput, type XlVerb, type XlVerbData, type XlVerbName } from './xl-verbs.js';

/**
 * What the `xenemu <verb>` commands of the xl family share. A command parses its flags
 * and runs its entry of XL_VERBS (xl-verbs.ts), the code the fast path (fast-xl.ts)
 * and, through xl-commands.ts, the `xl` shim run too; it prints the text xl would
 * print, and with --json returns the data instead. Failures print xl's own message
 * and exit with xl's status. Not imported by the shim or the fast path (it loads oclif).
 */
export abstract class XlCommand extends XenemuCommand {
  /** -h is help in xl, so here too. */
  static override baseFlags = { help: Flags.help({ char: 'h' }) };

  protected override async init(): Promise<void> {
    // xl never reads an operand from standard input; oclif would, for a missing optional
    // one (`echo web | xenemu list` would list web), unlike the fast path.
    for (const a of Object.values(this.ctor.args ?? {})) a.ignoreStdin = true;
    await super.init();
  }

  /** Run the verb's entry of XL_VERBS on oclif's parse of the command line. */
  protected async runVerb<K extends XlVerbName>(name: K, parsed: VerbInput): Promise<XlVerbData<K>> {
    const verb: XlVerb<unknown> = XL_VERBS[name];
    const problem = verb.usage?.(parsed);
    if (problem !== undefined) this.error(problem, { exit: 2 });
    return (await this.runXl((ctx) => verb.run(xl, ctx, parsed))) as XlVerbData<K>;
  }

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
