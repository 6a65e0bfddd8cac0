import { Flags } from '@oclif/core';
import { XenemuCommand } from '../cli/base-command.js';
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

  /** -h is help in every C tool, so here too. */
  static override baseFlags = { help: Flags.help({ char: 'h' }) };

  /** xenstore_client.c's usage() exits 1. */
  protected override readonly usageExitStatus = 1;

  /**
   * Run `mode` on `operands` (argv strings) with `flags`. Prints and sets the exit
   * status for text output; returns the result for --json (undefined otherwise).
   */
  protected async runMode(mode: ToolMode, flags: Partial<typeof DEFAULT_FLAGS>, operands: string[]): Promise<ToolResult | undefined> {
    const req = toolRequest(mode, flags, operands.map(toByteString));
    if (req === null) this.error(mode === 'write' ? 'expected KEY VALUE pairs, got an odd number of arguments' : 'missing KEY', { exit: 2 });
    if (!this.jsonEnabled()) {
      process.exitCode = await runTool(req, { progname: toolName(mode), compatErrors: false, env: process.env });
      return undefined;
    }
    const client = await connectXenstored();
    try {
      const result = await executeTool(client, req);
      process.exitCode = renderTool(req, result).exitCode;
      return result;
    } finally {
      client.close();
    }
  }

}
