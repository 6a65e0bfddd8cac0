import { Command } from '@oclif/core';
import { XenemuError } from '../common/errors.js';
import { reportXenemuError } from './report-error.js';
import { resolveHome, statePaths, type StatePaths } from '../state/state-dir.js';

/**
 * What every xenemu command shares: the state dir, and one place that turns errors
 * into a message and an exit code (1 like xl and the xenstore tools; for usage, the
 * mirrored tool's usage status).
 */
export abstract class XenemuCommand extends Command {
  /**
   * The exit status of a usage error (a bad flag, a missing argument): 2, as xl's
   * def_getopt exits (src/compat/xl-getopt.ts); the xenstore tools say 1.
   */
  protected readonly usageExitStatus: number = 2;

  protected get paths(): StatePaths {
    return statePaths(resolveHome());
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    if (err instanceof XenemuError) {
      if (this.jsonEnabled()) {
        // --json readers get the error as data (schemas/error.json); oclif silences
        // logToStderr then, so the message still goes to stderr directly.
        this.logJson({ error: { message: err.cliMessage(), exitCode: err.exitStatus } });
      }
      await reportXenemuError(err);
      this.exit(err.exitStatus);
    }
    // oclif's parser errors (and this.error(..., { exit: 2 })) carry exit 2.
    if (err.oclif?.exit === 2) err.oclif.exit = this.usageExitStatus;
    return super.catch(err);
  }
}
