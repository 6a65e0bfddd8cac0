import { Flags } from '@oclif/core';
import { XenemuCommand } from '../cli/base-command.js';
import { domainEnv, domainXenbusSocket } from '../client/exec.js';
import { connectXenstored } from '../client/xenstore-connect.js';
import { toByteString, toolName, toolRequest, type DEFAULT_FLAGS, type ToolMode } from './xenstore-args.js';
import { executeTool, renderTool, runTool, type ToolResult } from './xenstore-run.js';

/**
 * What the `xenemu xenstore <tool>` commands share. They are thin: a command declares
 * its flags, builds the same ToolRequest the fast path builds, and either prints the
 * C tool's output (through runTool, like the fast path) or, with --json, returns the
 * typed result that output is rendered from. Not imported by the fast path (it loads
 * oclif).
 */
export abstract class XenstoreToolCommand extends XenemuCommand {
  /** -s: "use the socket", accepted by every C tool and meaningless now. */
  static socketFlag = { socket: Flags.boolean({ char: 's', hidden: true, description: 'Accepted for compatibility; does nothing' }) };

  /** -h is help in every C tool, so here too; --domain runs the tool as a domU would. */
  static override baseFlags = {
    help: Flags.help({ char: 'h' }),
    domain: Flags.string({
      helpValue: 'DOM',
      description: "run as a program in domain DOM (id or name), through its kernel's xenbus device, as `xenemu exec DOM` runs one: relative paths, permissions and quotas are that domain's",
    }),
  };

  /**
   * `--domain X` becomes `--domain=X` before oclif parses: with strict off, oclif
   * drops a flag's value from the operands by its text, so `--domain 1 data/x 1`
   * would lose the operand `1` instead.
   */
  override async init(): Promise<void> {
    const end = this.argv.indexOf('--');
    const i = this.argv.indexOf('--domain');
    if (i >= 0 && (end < 0 || i < end) && i + 1 < this.argv.length) this.argv.splice(i, 2, `--domain=${this.argv[i + 1]}`);
    await super.init();
  }

  /** --domain's value (oclif has checked the command line by the time a mode runs). */
  private domain(): string | undefined {
    const end = this.argv.indexOf('--');
    const flag = this.argv.find((a, i) => a.startsWith('--domain=') && (end < 0 || i < end));
    return flag?.slice('--domain='.length);
  }

  /** Where the tool connects: $XENSTORED_PATH as usual, or the socket of --domain's xenbus device. */
  private async toolEnv(): Promise<NodeJS.ProcessEnv> {
    const domain = this.domain();
    if (domain === undefined) return process.env;
    return domainEnv(await domainXenbusSocket(this.paths, domain));
  }

  /** xenstore_client.c's usage() exits 1. */
  protected override readonly usageExitStatus = 1;

  /**
   * Run `mode` on `operands` (argv strings) with `flags`. Prints and sets the exit
   * status for text output; returns the result for --json (undefined otherwise).
   */
  protected async runMode(mode: ToolMode, flags: Partial<typeof DEFAULT_FLAGS>, operands: string[]): Promise<ToolResult | undefined> {
    const req = toolRequest(mode, flags, operands.map(toByteString));
    if (req === null) this.error(mode === 'write' ? 'expected KEY VALUE pairs, got an odd number of arguments' : 'missing KEY', { exit: 2 });
    const env = await this.toolEnv();
    if (!this.jsonEnabled()) {
      process.exitCode = await runTool(req, { progname: toolName(mode), compatErrors: false, env });
      return undefined;
    }
    const client = await connectXenstored(env);
    try {
      const result = await executeTool(client, req);
      process.exitCode = renderTool(req, result).exitCode;
      return result;
    } finally {
      client.close();
    }
  }

}
