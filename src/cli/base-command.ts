import { Command } from '@oclif/core';
import { XenemuError } from '../common/errors.js';
import { resolveHome, statePaths, type StatePaths } from '../state/state-dir.js';

/**
 * What every xenemu command shares: the state dir, and one place that turns errors
 * into a message and an exit code (1 like xl and the xenstore tools; 2 for usage).
 */
export abstract class XenemuCommand extends Command {
  protected get paths(): StatePaths {
    return statePaths(resolveHome());
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    if (err instanceof XenemuError) {
      // In red on a terminal that shows colour; chalk is loaded only when there is an error.
      const { chalkFor } = await import('../ui/color.js');
      this.logToStderr(chalkFor('stderr').red(err.cliMessage()));
      this.exit(err.exitStatus);
    }
    return super.catch(err);
  }
}
